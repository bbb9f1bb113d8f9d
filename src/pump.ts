/*
 * The per-context request pump. VEO completes a context's requests in submission order, so
 * the pump keeps them in a FIFO and, while anyone awaits one of them:
 *   1. drains finished requests from the head with veo_call_peek_result (non-blocking);
 *   2. spins briefly on the main thread (short kernels finish within microseconds);
 *   3. otherwise puts exactly one blocking veo_call_wait_result on the libuv pool (koffi
 *      `.async`) for the oldest awaited request, and drains again when it returns.
 * A pending `.async` keeps Node alive exactly while a promise waits; nothing else is ref'd.
 * The request the worker is waiting on is never peeked from the main thread: whoever lost
 * that race would read "unknown request" and could not tell the real status.
 */
import { CommandState, ContextState } from "./constants.js";
import { ResultRegister } from "./ctypes.js";
import { VeoCallError, VeoError } from "./errors.js";
import type { VeoCtxt } from "./context.js";
import { completeRequest, rejectRequest, type VeoRequest } from "./request.js";

/** The main thread's result register, shared by every synchronous collection. */
export const REGISTER = new ResultRegister();

/** Keep spinning while a completion arrived within this many ms. */
const SPIN_IDLE_MS = 0.05;
/** Give the event loop a turn after this many ms of continuous draining. */
const MAX_RUN_MS = 4;
/** Compact the FIFOs once this many settled entries sit at their head. */
const COMPACT_AT = 4096;

export class Pump {
  readonly ctx: VeoCtxt;
  /** Every submitted request not yet known to be settled, in submission order. */
  private q: VeoRequest[] = [];
  private head = 0;
  /** Awaited requests, in the order they were first awaited. */
  private aq: VeoRequest[] = [];
  private ahead = 0;
  /** Awaited requests not settled yet. */
  waiting = 0;
  /** The request a koffi `.async` wait is blocked on, if any. */
  target: VeoRequest | null = null;
  private scheduled = false;
  private readonly out = new BigUint64Array(1);
  private readonly asyncReg = new ResultRegister();

  constructor(ctx: VeoCtxt) {
    this.ctx = ctx;
  }

  push(req: VeoRequest): void {
    this.q.push(req);
  }

  /** Called by the first then() of a request. */
  awaited(req: VeoRequest): void {
    this.waiting++;
    this.aq.push(req);
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.target !== null) return;
    this.scheduled = true;
    queueMicrotask(this.run);
  }

  /** Pending requests, oldest first (for close/destroy/death). */
  pending(): VeoRequest[] {
    const out: VeoRequest[] = [];
    for (let i = this.head; i < this.q.length; i++) if (this.q[i]._state === 0) out.push(this.q[i]);
    return out;
  }

  /**
   * Rejects every pending request with `err` (no C call). With `spareTarget`, the request a
   * pool thread is waiting on is left to it: its real status (say, the kernel exception that
   * killed the proc) is about to arrive.
   */
  rejectAll(err: unknown, spareTarget = false): void {
    const spared = spareTarget ? this.target : null;
    for (const r of this.pending()) if (r !== spared) rejectRequest(r, err);
    this.q = spared !== null && spared._state === 0 ? [spared] : [];
    this.head = 0;
    this.aq = this.q.slice();
    this.ahead = 0;
  }

  /**
   * The VE process died: collect, without blocking, whatever finished before it did (those
   * succeeded and must resolve), skipping the request a pool thread waits on.
   */
  salvage(): void {
    const api = this.ctx._api;
    const h = this.ctx._handle;
    for (let i = this.head; i < this.q.length; i++) {
      const r = this.q[i];
      if (r._state !== 0 || r === this.target) continue;
      const rc = api.veo_call_peek_result(h, r.id, REGISTER.u64);
      if (rc === CommandState.OK || rc === CommandState.EXCEPTION) completeRequest(r, rc, REGISTER);
    }
  }

  /** Collects finished requests from the head with peek; returns how many settled. */
  drain(): number {
    const ctx = this.ctx;
    const api = ctx._api;
    const h = ctx._handle;
    const q = this.q;
    let n = 0;
    while (this.head < q.length) {
      const r = q[this.head];
      if (r._state !== 0) {
        this.head++;
        continue;
      }
      if (r === this.target) break;
      const rc = api.veo_call_peek_result(h, r.id, REGISTER.u64);
      if (rc === CommandState.UNFINISHED) break;
      this.head++;
      completeRequest(r, rc, REGISTER);
      n++;
      if (!ctx._usable) break;
    }
    if (this.head >= COMPACT_AT && this.head * 2 >= q.length) {
      this.q = q.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  private nextTarget(): VeoRequest | null {
    const aq = this.aq;
    while (this.ahead < aq.length && aq[this.ahead]._state !== 0) this.ahead++;
    if (this.ahead >= COMPACT_AT && this.ahead * 2 >= aq.length) {
      this.aq = aq.slice(this.ahead);
      this.ahead = 0;
    }
    return this.ahead < this.aq.length ? this.aq[this.ahead] : null;
  }

  readonly run = (): void => {
    this.scheduled = false;
    if (this.target !== null || !this.ctx._usable) return;
    try {
      const start = performance.now();
      let deadline = start + SPIN_IDLE_MS;
      for (;;) {
        const n = this.drain();
        if (this.waiting <= 0 || !this.ctx._usable) return;
        const now = performance.now();
        if (n > 0) deadline = now + SPIN_IDLE_MS;
        else if (now > deadline) break;
        if (now - start > MAX_RUN_MS) {
          this.scheduled = true;
          setImmediate(this.run);
          return;
        }
      }
      const t = this.nextTarget();
      if (t === null) return;
      this.target = t;
      this.ctx._api.veo_call_wait_result.async(this.ctx._handle, t.id, this.out, this.onWaited);
    } catch (err) {
      this.fail(err);
    }
  };

  private readonly onWaited = (err: unknown, rc: number): void => {
    const t = this.target;
    this.target = null;
    try {
      if (t !== null && t._state === 0) {
        if (err) {
          rejectRequest(t, new VeoCallError(`${t._what} (request ${t.id}): waiting failed: ${String(err)}`, { cause: err }));
        } else {
          this.asyncReg.u64[0] = this.out[0];
          completeRequest(t, rc, this.asyncReg);
        }
      }
      this.ctx._onPumpIdle();
      this.run();
    } catch (e) {
      this.fail(e);
    }
  };

  /** An unexpected exception inside the pump: reject what is waiting rather than hang. */
  private fail(err: unknown): void {
    const e = err instanceof VeoError ? err : new VeoCallError(`request pump failed: ${String(err)}`, { cause: err });
    for (const r of this.pending()) if (r._deferred !== undefined) rejectRequest(r, e);
  }

  /** Blocks until `req` (pending, of this context) is settled. */
  waitFor(req: VeoRequest): void {
    this.ctx._checkUsable();
    if (req === this.target) {
      this.waitForTarget(req);
      return;
    }
    const rc = this.ctx._api.veo_call_wait_result(this.ctx._handle, req.id, REGISTER.u64);
    completeRequest(req, rc, REGISTER);
  }

  /**
   * wait() on the request a pool thread is already waiting for: poll it from here. If the
   * pool thread collects it first, its status is only known on the event loop.
   */
  private waitForTarget(req: VeoRequest): void {
    const api = this.ctx._api;
    const h = this.ctx._handle;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const start = performance.now();
    for (;;) {
      const rc = api.veo_call_peek_result(h, req.id, REGISTER.u64);
      if (rc === CommandState.UNFINISHED) {
        if (performance.now() - start > 1) Atomics.wait(nap, 0, 0, 0.2);
        continue;
      }
      if (rc === CommandState.ERROR && this.ctx._nativeState() === ContextState.RUNNING) {
        throw new VeoError(
          "VEO_CALL_ERROR",
          `${req._what} (request ${req.id}) is being collected for a pending await; await it instead of calling wait()`,
        );
      }
      completeRequest(req, rc, REGISTER);
      return;
    }
  }

  /** Collects `req` if it finished; false while it runs (never blocks). */
  peekFor(req: VeoRequest): boolean {
    if (req === this.target || !this.ctx._usable) return false;
    const rc = this.ctx._api.veo_call_peek_result(this.ctx._handle, req.id, REGISTER.u64);
    if (rc === CommandState.UNFINISHED) return false;
    completeRequest(req, rc, REGISTER);
    return true;
  }
}
