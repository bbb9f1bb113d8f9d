/*
 * The per-context request pump. VEO completes a context's requests in submission order.
 * then() first tries to collect its request itself (collectNow: a peek, or a few µs of
 * peeks) when no other awaited request is pending; its listeners are still told through the
 * pump's queue, so everything awaited in one turn settles in submission order.
 * While anyone awaits a request that is still running, the pump:
 *   1. collects the awaited requests that have finished, with veo_call_peek_result
 *      (non-blocking), in the order they were awaited;
 *   2. spins briefly on the main thread (short kernels finish within microseconds);
 *   3. otherwise arms the oldest awaited request for a wake-up on the event loop itself
 *      (notify.ts: the emulator's notify pipe; one wake-up, no thread blocked) and collects
 *      again when its byte arrives;
 *   4. or, where the library has no such pipe (a real libveo), puts exactly one blocking
 *      veo_call_wait_result on the libuv pool (koffi `.async`) for the oldest awaited
 *      request, and collects again when it returns (a worker thread polls instead).
 * Requests nobody awaits cost the pump nothing: like in C, their results wait in VEO until
 * wait() or peek() asks. An armed pipe or a pending `.async` keeps Node alive exactly while a
 * promise waits.
 * The request the pool thread waits on is never peeked from the main thread: whoever lost
 * that race would read "unknown request" and could not tell the real status. An armed
 * request has no such owner: anyone may collect it, and its byte then wakes a pump that
 * finds nothing new (harmless).
 */
import { isMainThread } from "node:worker_threads";

import { CommandState, ContextState } from "./constants.js";
import { ResultRegister } from "./ctypes.js";
import { VeoCallError, VeoClosedError, VeoError, VeoProcessDead } from "./errors.js";
import type { VeoCtxt } from "./context.js";
import { logEnabled, logInfo } from "./logging.js";
import { nativeRegister } from "./native/api.js";
import { notifierOf, type Notifier, type Wakeable } from "./notify.js";
import { nap, pollUntil } from "./timeouts.js";
import { completeRequest, rejectRequest, resolveRequest, tell, type VeoRequest } from "./request.js";

function newRegister(): ResultRegister {
  const { buffer, addr } = nativeRegister();
  return new ResultRegister(buffer, addr);
}

/** The main thread's result register, shared by every synchronous collection. */
export const REGISTER = newRegister();

/**
 * Result slots for the pool threads' veo_call_wait_result, one per wait in flight (at most
 * POOL_WAITS), reused: a slot goes back here only once its wait has returned.
 */
const freeSlots: ResultRegister[] = [];

/** Marks the pool thread's result slot as not yet written by veo_call_wait_result. */
const UNWRITTEN = 0xffff_ffff_ffff_fffen;

/** then() spins this long for its request when it is the only one awaited. */
const THEN_SPIN_MS = 0.005;
/**
 * Where the library can wait with a time limit (the emulator's veo_emu_wait_result_for, which
 * spins the way veo_call_wait_result does, yielding the CPU to the VE side when they share
 * one), then() waits this long instead: as long as a short kernel takes under load.
 */
const THEN_WAIT_MS = 0.05;

/** Keep spinning while a completion arrived within this many ms. */
const SPIN_IDLE_MS = 0.05;
/**
 * After a spin that collected nothing, this many awaits (doubling per further miss, up to
 * MAX_SPIN_SKIP) go to the pool without spinning; see Pump.spinMissed.
 */
const MAX_SPIN_SKIP = 256;
/**
 * Pool threads the pumps may block at once; the rest of libuv's pool stays free for fs, dns
 * and crypto. A context that finds them all taken polls every millisecond instead.
 */
const POOL_WAITS = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1);
/*
 * A worker thread never blocks a pool thread on a kernel: worker.terminate() waits for the
 * worker's native calls in flight, so a kernel that never returns would hang it. Workers
 * poll (every POLL_MS) instead.
 */
let poolWaits = 0;
const POLL_MS = 1;

/** The most ids between the oldest open request and the newest one that are tracked. */
const MAX_OPEN_SPAN = 1 << 24;

/** Give the event loop a turn after this many ms of continuous collecting. */
const MAX_RUN_MS = 4;

function heapPush(heap: VeoRequest[], r: VeoRequest): void {
  let i = heap.length;
  heap.push(r);
  const id = r.id;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = heap[p];
    if (parent.id <= id) break;
    heap[i] = parent;
    i = p;
  }
  heap[i] = r;
}

function heapPop(heap: VeoRequest[]): void {
  const last = heap.pop() as VeoRequest;
  const n = heap.length;
  if (n === 0) return;
  let i = 0;
  const id = last.id;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && heap[r].id < heap[l].id ? r : l;
    if (heap[c].id >= id) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = last;
}

/** Arming attempts in one run that find the request already finished before yielding. */
const MAX_REARM = 4;

export class Pump implements Wakeable {
  readonly ctx: VeoCtxt;
  /**
   * Awaited requests by id, so they settle in submission order however they were awaited:
   * a plain FIFO (`heap[head..]`, sorted) while they are awaited in order, the usual case;
   * a binary min-heap (`head` 0) from the first out-of-order await until it empties.
   */
  private heap: VeoRequest[] = [];
  private head = 0;
  private fifo = true;
  /** Awaited requests not settled yet. */
  waiting = 0;
  /**
   * Which submitted requests are not settled yet, one byte per id from `openBase` on (VEO's
   * ids grow by one per command; ids that were never ours stay 0). `openLow` is the lowest
   * id that may still be open.
   */
  private open = new Uint8Array(256);
  private openBase = -1;
  private openLow = 0;
  private openTop = 0;
  /** The request a koffi `.async` wait is blocked on, if any. */
  target: VeoRequest | null = null;
  /** The last request submitted (VEO 1.x has no veo_context_sync). */
  last: VeoRequest | null = null;
  private scheduled = false;
  /** The result slot of the pool thread's wait while `target` is set. */
  private slot: ResultRegister | null = null;
  /** Pump runs left that skip spinning (0: spin), and the next skip's length. */
  private spinSkip = 0;
  private spinBackoff = 1;
  /** The proc's notify pipe (undefined: not looked up yet; null: none, use the pool). */
  private notifier: Notifier | null | undefined;
  /** The id armed for a wake-up on the notify pipe, or -1. */
  private armedId = -1;
  /** The next run was started by the notify pipe. */
  private woken = false;

  constructor(ctx: VeoCtxt) {
    this.ctx = ctx;
  }

  /** Called by the first then() of a request. */
  awaited(req: VeoRequest): void {
    this.waiting++;
    this.enqueue(req);
    if (this.scheduled || this.target !== null) return;
    if (this.armedId >= 0 && this.armedId <= req.id) return; // its wake-up comes first
    this.scheduled = true;
    queueMicrotask(this.run);
  }

  /** Called for each request submitted on this context. */
  opened(id: number): void {
    if (this.openLow === -Infinity) return; // given up, see below
    if (this.openBase < 0 || id < this.openBase) {
      if (this.openBase >= 0 && this.openLow < this.openTop) return; // ids went backwards: stay conservative
      this.openBase = this.openLow = this.openTop = id;
      this.open.fill(0);
    }
    let i = id - this.openBase;
    if (i >= this.open.length) {
      const from = this.openLow - this.openBase;
      const live = this.openTop - this.openLow;
      const buf = live * 2 + 64 > this.open.length ? new Uint8Array((live + 64) * 2) : this.open;
      buf.set(this.open.subarray(from, from + live));
      buf.fill(0, live);
      this.open = buf;
      this.openBase = this.openLow;
      i = id - this.openBase;
      if (i >= buf.length) {
        // A jump in ids (commands that were not ours): nothing of ours is below openLow's gap.
        if (live === 0) {
          this.openBase = this.openLow = id;
          i = 0;
        } else if (i > MAX_OPEN_SPAN) {
          // Ids far apart while an old request is still open: stop telling at once.
          this.openLow = -Infinity;
          return;
        } else {
          this.open = new Uint8Array(i * 2);
          this.open.set(buf.subarray(0, live));
        }
      }
    }
    if (this.openLow === this.openTop) this.openLow = id; // nothing open: skip ids not ours
    this.open[i] = 1;
    if (id + 1 > this.openTop) this.openTop = id + 1;
  }

  /** Called as each request of this context settles. */
  closed(id: number): void {
    const i = id - this.openBase;
    if (i < 0 || i >= this.open.length) return;
    this.open[i] = 0;
    let low = this.openLow;
    const top = this.openTop;
    const open = this.open;
    const base = this.openBase;
    while (low < top && open[low - base] === 0) low++;
    this.openLow = low;
  }

  /**
   * True when every request submitted before `req` has settled and nothing is queued: then()
   * can tell `req`'s listeners at once, since nothing older can be awaited after it.
   */
  quiet(req: VeoRequest): boolean {
    return this.openLow > req.id && this.heap.length === this.head;
  }

  /** Queues a request then() collected itself: the next run tells its listeners in order. */
  enqueueDue(req: VeoRequest): void {
    this.enqueue(req);
    if (this.scheduled || this.target !== null) return;
    this.scheduled = true;
    queueMicrotask(this.run);
  }

  private enqueue(req: VeoRequest): void {
    const heap = this.heap;
    if (this.fifo) {
      if (heap.length === this.head || heap[heap.length - 1].id < req.id) {
        heap.push(req);
        return;
      }
      // A sorted array is already a min-heap.
      this.heap = this.head > 0 ? heap.slice(this.head) : heap;
      this.head = 0;
      this.fifo = false;
    }
    heapPush(this.heap, req);
  }

  /** The awaited request with the lowest id, or undefined. */
  private first(): VeoRequest | undefined {
    return this.heap[this.head];
  }

  private dropFirst(): void {
    if (!this.fifo) {
      heapPop(this.heap);
      if (this.heap.length === 0) this.fifo = true;
      return;
    }
    this.head++;
    const n = this.heap.length;
    if (this.head === n) {
      this.heap = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= n) {
      this.heap = this.heap.slice(this.head);
      this.head = 0;
    }
  }

  /** The awaited requests still in the queue, in id order (for death and close). */
  private queued(): VeoRequest[] {
    const all = this.heap.slice(this.head);
    return this.fifo ? all : all.sort((a, b) => a.id - b.id);
  }

  /**
   * Rejects every awaited pending request with `err` (no C call). With `spareTarget`, the
   * request a pool thread is waiting on is left to it: its real status (say, the kernel
   * exception that killed the proc) is about to arrive.
   */
  rejectAll(err: unknown, spareTarget = false): void {
    this.disarm();
    const spared = spareTarget ? this.target : null;
    const all = this.queued();
    this.heap = spared !== null && spared._state === 0 ? [spared] : [];
    this.head = 0;
    this.fifo = true;
    for (let i = 0; i < all.length; i++) {
      const r = all[i];
      if (r._state === 0) {
        if (r !== spared) rejectRequest(r, err);
      } else if (r._deferred?.due) {
        tell(r);
      }
    }
  }

  /**
   * The VE process died: collect, without blocking, the awaited requests that finished
   * before it did (they succeeded and must resolve).
   */
  salvage(): void {
    for (const r of this.queued()) {
      if (r._state === 0 && r !== this.target) this.salvageOne(r);
    }
  }

  private salvageOne(r: VeoRequest): boolean {
    const rc = this.ctx._api.veo_call_peek_result(this.ctx._handle, r.id, REGISTER.addr);
    if (rc !== CommandState.OK && rc !== CommandState.EXCEPTION) return false;
    completeRequest(r, rc, REGISTER);
    return true;
  }

  /**
   * Settles a pending request whose context can no longer be used: closed or destroyed →
   * VeoClosedError; dead → its result if it finished before the death, else VeoProcessDead.
   */
  settleOrphan(r: VeoRequest): void {
    const ctx = this.ctx;
    const proc = ctx.proc;
    if (r._state !== 0) return;
    if (ctx._closed || proc.destroyed) {
      rejectRequest(
        r,
        ctx._closeError ?? new VeoClosedError("The request's context was closed before it finished"),
      );
      return;
    }
    if (r !== this.target && this.salvageOne(r)) return;
    if (r === this.target) return; // its pool thread reports it
    rejectRequest(
      r,
      new VeoProcessDead(`${r._what} (request ${r.id}): the VeoProc on node ${proc.nodeid} is dead`),
    );
  }

  /**
   * then()'s fast path: collects `req` at once when it finished (or within THEN_SPIN_MS, when
   * nothing older is open), provided no awaited request is ahead of it (they settle first,
   * in order) and no pool thread is waiting. Most short kernels finish within a microsecond or two of their
   * submission, so `await f(ctx)` and `Promise.all` rarely need the pump at all.
   */
  collectNow(req: VeoRequest): boolean {
    if (this.waiting > 0 || this.target !== null || !this.ctx._usable) return false;
    const api = this.ctx._api;
    const h = this.ctx._handle;
    let rc = api.veo_call_peek_result(h, req.id, REGISTER.addr);
    // Spin only when it pays: when the request can be told at once (nothing older open),
    // and while spinning has been finding completions (see spinMissed).
    if (
      rc === CommandState.UNFINISHED &&
      this.spinSkip === 0 &&
      this.openLow >= req.id &&
      this.heap.length === this.head
    ) {
      const timed = api.veo_emu_wait_result_for;
      if (timed !== undefined) {
        rc = timed(h, req.id, REGISTER.addr, THEN_WAIT_MS * 1e6);
        // A miss of this wait (as long as the run's spin) means the run's spin for the same
        // request would miss too: it goes straight to waiting.
        if (rc === CommandState.UNFINISHED) this.spinMissed();
      } else {
        const until = performance.now() + THEN_SPIN_MS;
        do rc = api.veo_call_peek_result(h, req.id, REGISTER.addr);
        while (rc === CommandState.UNFINISHED && performance.now() < until);
      }
      if (rc !== CommandState.UNFINISHED) this.spinBackoff = 1;
    }
    if (rc === CommandState.UNFINISHED) return false;
    completeRequest(req, rc, REGISTER);
    return true;
  }

  /** Collects finished awaited requests in submission order; returns how many settled. */
  drain(): number {
    const ctx = this.ctx;
    const api = ctx._api;
    const h = ctx._handle;
    let n = 0;
    for (;;) {
      const r = this.first();
      if (r === undefined) break;
      if (r._state !== 0) {
        this.dropFirst();
        if (r._deferred?.due) {
          tell(r);
          n++;
        }
        continue;
      }
      if (r === this.target) break;
      const rc = api.veo_call_peek_result(h, r.id, REGISTER.addr);
      if (rc === CommandState.UNFINISHED) break;
      this.dropFirst();
      completeRequest(r, rc, REGISTER);
      n++;
      if (!ctx._usable) break;
    }
    return n;
  }

  readonly run = (): void => {
    this.scheduled = false;
    if (this.target !== null || !this.ctx._usable) return;
    try {
      const start = performance.now();
      // Woken by the pipe: any armed pump of the proc is, so spin only once this run has
      // collected something (the wake-up was its own), and count no miss.
      const woken = this.woken;
      this.woken = false;
      const spin = this.spinSkip > 0 ? 0 : SPIN_IDLE_MS;
      if (this.spinSkip > 0 && !woken) this.spinSkip--;
      let deadline = woken ? start : start + spin;
      let collected = false;
      for (;;) {
        const n = this.drain();
        if (n > 0) collected = true;
        if (this.waiting <= 0 || !this.ctx._usable) {
          if (collected && spin > 0 && !woken) this.spinBackoff = 1; // a spin paid
          return;
        }
        const now = performance.now();
        if (n > 0) deadline = now + spin;
        else if (now > deadline) break;
        if (now - start > MAX_RUN_MS) {
          this.scheduled = true;
          setImmediate(this.run);
          return;
        }
        if (n === 0 && this.waitFirst(deadline - now)) collected = true;
      }
      if (spin > 0 && !collected && !woken) this.spinMissed();
      this.park();
    } catch (err) {
      this.fail(err);
    }
  };

  /**
   * Nothing more finished: wait for the oldest awaited request without blocking the thread,
   * through the notify pipe where there is one, else on the pool (or, in a worker, by
   * polling).
   */
  private park(): void {
    for (let tries = 0; ; tries++) {
      const t = this.first();
      if (t === undefined || t._state !== 0) return;
      const rc = this.arm(t);
      if (rc === 1) return;
      if (rc < 0) break;
      // It finished between the last peek and the arming: collect it now.
      if (tries >= MAX_REARM) {
        this.scheduled = true;
        setImmediate(this.run);
        return;
      }
      this.drain();
      if (this.waiting <= 0 || !this.ctx._usable) return;
    }
    const t = this.first() as VeoRequest;
    if (poolWaits >= POOL_WAITS || !isMainThread) {
      this.scheduled = true;
      setTimeout(this.run, POLL_MS);
      return;
    }
    const slot = freeSlots.pop() ?? newRegister();
    slot.u64[0] = UNWRITTEN;
    this.ctx._api.veo_call_wait_result.async(this.ctx._handle, t.id, slot.addr, this.onWaited);
    poolWaits++;
    this.target = t;
    this.slot = slot;
  }

  /**
   * Arms `t` on the proc's notify pipe: 1 = armed (notified() follows its completion, or the
   * pipe's end when the proc dies), 0 = finished already (collect it), -1 = no pipe (use the
   * pool).
   */
  private arm(t: VeoRequest): number {
    let n = this.notifier;
    if (n === undefined) {
      const proc = this.ctx.proc;
      n = this.notifier = notifierOf(proc, this.ctx._api, proc._handle);
    }
    if (n === null || !n.usable) return -1;
    const rc = (this.ctx._api.veo_emu_arm as NonNullable<typeof this.ctx._api.veo_emu_arm>)(
      this.ctx._handle,
      t.id,
    );
    if (rc !== 1) return rc === 0 ? 0 : -1;
    this.armedId = t.id;
    n.arm(this);
    return 1;
  }

  /** The notify pipe had a byte (or closed): collect what finished, then wait again. */
  notified(): void {
    this.armedId = -1;
    if (this.scheduled || this.target !== null) return;
    this.woken = true;
    this.run();
  }

  /** Nobody waits any more (close, death): the pipe must not keep Node alive for us. */
  private disarm(): void {
    if (this.armedId < 0) return;
    this.armedId = -1;
    this.notifier?.disarm(this);
  }

  /**
   * Where the library has a timed wait, waits up to `ms` for the oldest awaited request in C
   * (see THEN_WAIT_MS) instead of peeking in a loop; true if it collected it. Without one,
   * false at once (the caller's loop peeks).
   */
  private waitFirst(ms: number): boolean {
    const timed = this.ctx._api.veo_emu_wait_result_for;
    const t = this.first();
    if (timed === undefined || t === undefined || t._state !== 0 || ms <= 0) return false;
    const rc = timed(this.ctx._handle, t.id, REGISTER.addr, Math.ceil(ms * 1e6));
    if (rc === CommandState.UNFINISHED) return false;
    this.dropFirst();
    completeRequest(t, rc, REGISTER);
    return true;
  }

  /**
   * A whole spin went by with nothing collected: the request is long, or the machine's CPUs
   * are all busy and the spinning main thread was taking the CPU the VE side needed to finish
   * it (with a CPU-burning neighbour, `await` took 4× as long as `wait()`). The next
   * `spinBackoff` awaits go to the pool without spinning, and each further miss doubles
   * that, up to MAX_SPIN_SKIP; any spin that collects something resets it.
   */
  private spinMissed(): void {
    this.spinSkip = this.spinBackoff;
    this.spinBackoff = Math.min(MAX_SPIN_SKIP, this.spinBackoff * 2);
  }

  private readonly onWaited = (err: unknown, rc: number): void => {
    const t = this.target;
    const slot = this.slot as ResultRegister;
    this.target = null;
    this.slot = null;
    poolWaits--;
    try {
      if (t !== null && t._state === 0) {
        if (err) {
          rejectRequest(
            t,
            new VeoCallError(
              `${t._what} (request ${t.id}): waiting failed: ${err instanceof Error ? err.message : "unknown error"}`,
              { cause: err },
            ),
          );
        } else {
          completeRequest(t, rc, slot);
        }
      }
      freeSlots.push(slot);
      this.ctx._onPumpIdle();
      this.run();
    } catch (e) {
      this.fail(e);
    }
  };

  /** An unexpected exception inside the pump: reject what is waiting rather than hang. */
  private fail(err: unknown): void {
    const e =
      err instanceof VeoError ? err : new VeoCallError(`request pump failed: ${String(err)}`, { cause: err });
    this.rejectAll(e, true);
  }

  /**
   * Blocks until `req` (pending, of this context) is settled, or until `deadline` (a
   * performance.now() time) passes; returns false then, with `req` still pending and
   * collectable later. Without a deadline it blocks in veo_call_wait_result; with one it polls.
   */
  waitFor(req: VeoRequest, deadline = Infinity): boolean {
    if (!this.ctx._usable) {
      this.settleOrphan(req);
      if (req._state === 0) return this.waitForTarget(req, deadline);
      return true;
    }
    if (req === this.target) return this.waitForTarget(req, deadline);
    if (deadline !== Infinity) {
      return pollUntil(
        () => (req === this.target ? this.waitForTarget(req, -1) : this.peekFor(req)),
        deadline,
      );
    }
    const rc = this.ctx._api.veo_call_wait_result(this.ctx._handle, req.id, REGISTER.addr);
    completeRequest(req, rc, REGISTER);
    if (logEnabled && rc === CommandState.OK) {
      logInfo(`veo_call_wait_result: nodeid=${this.ctx.proc.nodeid}, reqid=${req.id}`);
    }
    return true;
  }

  /**
   * wait() on the request a pool thread is already waiting for: poll it from here, until
   * `deadline`. If the pool thread collects it first, its status is only known on the event
   * loop.
   */
  private waitForTarget(req: VeoRequest, deadline: number): boolean {
    const api = this.ctx._api;
    const h = this.ctx._handle;
    let rc: number = CommandState.UNFINISHED;
    const finished = (): boolean => {
      rc = api.veo_call_peek_result(h, req.id, REGISTER.addr);
      return rc !== CommandState.UNFINISHED;
    };
    if (!pollUntil(finished, deadline)) return false;
    if (rc === CommandState.ERROR && this.ctx._nativeState() === ContextState.RUNNING) {
      // The pool thread won. On a live context its status can only be OK (EXCEPTION
      // ends the context, ERROR needs an unknown id); its result lands in `out` as its
      // veo_call_wait_result returns.
      const slot = this.slot as ResultRegister;
      const until = performance.now() + 100;
      while (slot.u64[0] === UNWRITTEN && performance.now() < until) nap(0.05);
      resolveRequest(req, slot.decode(req._kind));
      return true;
    }
    if (rc === CommandState.ERROR && this.ctx.proc.dead) {
      rejectRequest(
        req,
        new VeoProcessDead(
          `${req._what} (request ${req.id}): the VeoProc on node ${this.ctx.proc.nodeid} is dead`,
        ),
      );
      return true;
    }
    completeRequest(req, rc, REGISTER);
    return true;
  }

  /**
   * Teardown's first question: the id of the newest request if it is still pending (requests
   * finish in submission order: when it is done, all are). Asked before the pending requests
   * are rejected.
   */
  pendingId(): number | undefined {
    const last = this.last;
    return last !== null && last._state === 0 ? last.id : undefined;
  }

  /** Teardown's second question: does command `id` still run in the VE process? Never blocks. */
  stillRunning(id: number): boolean {
    return (
      this.ctx._api.veo_call_peek_result(this.ctx._handle, id, REGISTER.addr) === CommandState.UNFINISHED
    );
  }

  /** Collects `req` if it finished; false while it runs (never blocks). */
  peekFor(req: VeoRequest): boolean {
    if (!this.ctx._usable) {
      this.settleOrphan(req);
      return req._state !== 0;
    }
    if (req === this.target) return false;
    const rc = this.ctx._api.veo_call_peek_result(this.ctx._handle, req.id, REGISTER.addr);
    if (rc === CommandState.UNFINISHED) return false;
    completeRequest(req, rc, REGISTER);
    return true;
  }
}
