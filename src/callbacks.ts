/*
 * ctx.callVh: a JavaScript function run in a context's queue order (veo_call_async_vh).
 *
 * VEO runs a VH function on a helper thread (AVEO 3: the context's progress thread; the
 * emulator: its VH thread), and the request queue behind it waits until it returns. A JS
 * function can only run on Node's main thread, and a koffi callback called from a foreign
 * thread blocks that thread until the main thread gets round to it — at process exit it
 * never does, and a call into koffi's broker after Node tore it down is the known shutdown
 * abort. So no JS is ever called from C here. Each callVh submits two VH requests back to
 * back, both plain libc functions:
 *   1. the gate, `getpid` (returns at once): it completes exactly when every earlier request
 *      of the context has, and the main thread awaits it like any request;
 *   2. the user's request, `sem_wait(sem)`: it holds the queue until the main thread, having
 *      seen the gate complete, has run the JS function, stored its outcome and posted `sem`.
 * The request resolves with what the function returned (or rejects with what it threw); the
 * C result (sem_wait's) is only used to tell a completed wait from an interrupted one.
 *
 * Nothing can hang: a blocking call on the main thread (wait, sync, callSync, the proc's
 * synchronous memory calls) first runs the queued functions it would wait behind; one made
 * from inside a function, for something queued behind that same function, throws
 * VeoDeadlockError. Closing, destroying, a dead VE process and process exit post every
 * pending semaphore (the function is then never run), so VEO's helper threads never stay
 * blocked on a main thread that is gone.
 */
import { CommandState, REQUEST_ID_INVALID } from "./constants.js";
import type { VeoCtxt } from "./context.js";
import type { ResultRegister } from "./ctypes.js";
import { describeValue } from "./ctypes.js";
import { VeoCallError, VeoDeadlockError, VeoUnsupported } from "./errors.js";
import { bindLibc, type LibcApi } from "./native/libc.js";
import { requireFunction } from "./native/library.js";
import { rejectRequest, resolveRequest, type CallInfo, type VeoRequest } from "./request.js";
import { ctxSlots } from "./slots.js";

/** A JS function for callVh: gets `arg`, returns the request's result. */
export type VhFunction<A = unknown, R extends number | bigint = number | bigint> = (arg: A) => R;

const QUEUED = 0;
const RUNNING = 1;
const RAN = 2;
const CANCELLED = 3;

/** One callVh: the function, its outcome, and the semaphore its VH request waits on. */
interface VhCall {
  readonly ctx: VeoCtxt;
  readonly fn: VhFunction<never>;
  readonly arg: unknown;
  readonly sem: number;
  req: VeoRequest | undefined;
  gate: VeoRequest | undefined;
  state: 0 | 1 | 2 | 3;
  /** The semaphore was posted (VEO's thread let go): exactly once per call. */
  posted: boolean;
  failed: boolean;
  outcome: unknown;
}

interface Natives {
  libc: LibcApi;
  gateFn: number;
  waitFn: number;
}
let natives: Natives | undefined;

function libcNatives(): Natives {
  if (natives) return natives;
  const libc = bindLibc();
  const gateFn = libc.dlsym(0, "getpid");
  const waitFn = libc.dlsym(0, "sem_wait");
  if (gateFn === 0 || waitFn === 0) throw new VeoCallError("callVh: libc has no getpid/sem_wait");
  natives = { libc, gateFn, waitFn };
  return natives;
}

/** sem_t is 32 bytes on x86-64 Linux; 64 leaves room on every glibc ABI. */
const SEM_BYTES = 64;
/** Semaphores whose VH request completed (no thread can touch them any more). */
const freeSems: number[] = [];

/** Calls whose function has not run yet, per context in queue order, and all of them. */
const queues = new WeakMap<VeoCtxt, VhCall[]>();
const pending = new Set<VhCall>();
/** Functions running now (innermost last): blocking calls made inside them are checked. */
const running: VhCall[] = [];

const GATE: CallInfo = { kind: "void", what: "callVh (gate)" };
const VH: CallInfo = { kind: "u64", what: "callVh", finish: finishVh };

let exitHooked = false;

/** Submits `fn(arg)` in `ctx`'s queue order. */
export function callVh(ctx: VeoCtxt, fn: unknown, arg: unknown): VeoRequest {
  if (typeof fn !== "function") {
    throw new TypeError(`Argument 0 (fn) of callVh must be a function, got ${describeValue(fn)}`);
  }
  ctx._checkUsable();
  const native = ctx.proc._native;
  const submit = requireFunction(native, "veo_call_async_vh");
  if (native.info.kind === "aveo" && native.info.apiVersion < 16) {
    // Before AVEO 3.0 a VH function could run inside veo_call_peek_result on the calling
    // thread: the semaphore wait would then block Node's main thread for good.
    throw new VeoUnsupported(
      "veo_call_async_vh",
      16,
      `callVh needs VEO to run VH functions on its progress thread (AVEO 3.0, VEO API 16); ` +
        `this library implements API ${native.info.apiVersion} (${native.info.path})`,
    );
  }
  const n = libcNatives();
  const sem = freeSems.pop() ?? n.libc.alloc(SEM_BYTES);
  if (n.libc.sem_init(sem, 0, 0) !== 0) throw new VeoCallError("callVh: sem_init failed");
  const api = ctx._api;
  const h = ctx._handle;
  // Adjacent in the queue even if another thread shares the context (VEO's recursive lock).
  api.veo_req_block_begin?.(h);
  let gateId: number | bigint;
  let id: number | bigint = REQUEST_ID_INVALID;
  try {
    gateId = submit(h, n.gateFn, 0);
    if (gateId !== REQUEST_ID_INVALID) id = submit(h, n.waitFn, sem);
  } finally {
    api.veo_req_block_end?.(h);
  }
  if (id === REQUEST_ID_INVALID) freeSems.push(sem);
  const gate = ctx._submitted(gateId, GATE, undefined, "veo_call_async_vh");
  const call: VhCall = {
    ctx,
    fn: fn as VhFunction<never>,
    arg,
    sem,
    req: undefined,
    gate,
    state: QUEUED,
    posted: false,
    failed: false,
    outcome: undefined,
  };
  const req = ctx._submitted(id, VH, call, "veo_call_async_vh");
  call.req = req;
  let q = queues.get(ctx);
  if (q === undefined) queues.set(ctx, (q = []));
  q.push(call);
  ctxSlots.addVh(ctx, 1);
  pending.add(call);
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", cancelAll);
  }
  gate.then(
    () => run(call),
    () => cancel(call),
  );
  return req;
}

/** Runs the function on the main thread, stores its outcome, releases the VH request. */
function run(call: VhCall): void {
  if (call.state !== QUEUED) return;
  call.state = RUNNING;
  running.push(call);
  try {
    const v: unknown = call.fn(call.arg as never);
    if (typeof v === "number" || typeof v === "bigint") {
      call.outcome = v;
    } else {
      call.failed = true;
      call.outcome = new TypeError(
        `The callVh function must return a number or a bigint (synchronously), got ${describeValue(v)}`,
      );
    }
  } catch (err) {
    call.failed = true;
    call.outcome = err;
  } finally {
    running.pop();
    call.state = RAN;
    release(call);
  }
}

/**
 * The function will not run (context closed or dead, process exiting): free the queue. One
 * that is running (it closed its own context, or called process.exit) finishes, but VEO's
 * thread is let go now.
 */
function cancel(call: VhCall): void {
  if (call.state === QUEUED) call.state = CANCELLED;
  else if (call.state !== RUNNING) return;
  release(call);
}

function release(call: VhCall): void {
  if (call.posted) return;
  call.posted = true;
  pending.delete(call);
  call.gate = undefined;
  const q = queues.get(call.ctx);
  if (q !== undefined) {
    const i = q.indexOf(call);
    if (i >= 0) {
      q.splice(i, 1);
      ctxSlots.addVh(call.ctx, -1);
    }
  }
  libcNatives().libc.sem_post(call.sem);
}

/** CallInfo.finish of a callVh request: its outcome is the function's, not the register's. */
function finishVh(req: VeoRequest, rc: number, reg: ResultRegister): boolean {
  const call = req._value as VhCall;
  if (rc !== CommandState.OK) {
    cancel(call); // the context died or was closed under it: the semaphore is never reused
    return false;
  }
  if (call.state === RAN) {
    freeSems.push(call.sem);
    if (call.failed) rejectRequest(req, call.outcome);
    else resolveRequest(req, call.outcome);
    return true;
  }
  if (call.state === RUNNING) {
    // Released early (its context closed, or the process is exiting) while the function ran.
    rejectRequest(req, new VeoCallError(`callVh (request ${req.id}): released before its function returned`));
    return true;
  }
  // sem_wait returned without our post (a signal handler without SA_RESTART interrupted it).
  cancel(call);
  rejectRequest(
    req,
    new VeoCallError(
      `callVh (request ${req.id}): the VH thread stopped waiting before the function ran ` +
        `(sem_wait returned ${reg.i32[0]}); the function was not run`,
    ),
  );
  return true;
}

/**
 * Called before a blocking call on `ctx` that waits for requests up to `upTo` (an id, or
 * Infinity for everything queued): runs the queued functions it would otherwise wait behind,
 * in order. Throws VeoDeadlockError when the wait would need a function that is running now
 * (the call is made from inside it).
 */
export function beforeBlock(ctx: VeoCtxt, upTo: number, what: string): void {
  for (const r of running) {
    const id = (r.req as VeoRequest).id;
    if (r.ctx === ctx && upTo >= id) {
      throw new VeoDeadlockError(
        `${what} would wait forever: it is called from the callVh function of request ${id} on ` +
          `this context, and that request (and everything queued after it) waits for the function to return`,
      );
    }
  }
  const q = queues.get(ctx);
  while (q !== undefined && q.length > 0 && (q[0].req as VeoRequest).id <= upTo) {
    const call = q[0];
    const gate = call.gate;
    let ok = false;
    try {
      gate?.wait();
      ok = true;
    } catch {
      /* the context ended: the function is cancelled below */
    }
    if (ok) run(call);
    else cancel(call);
    if (q[0] === call) {
      q.shift(); // never spin on one that could not be released
      ctxSlots.addVh(ctx, -1);
    }
  }
}

/** Cancels every queued function of `ctx` (it is closing, or its proc is gone). */
export function cancelQueued(ctx: VeoCtxt): void {
  const q = queues.get(ctx);
  if (q === undefined) return;
  for (const call of q.slice()) cancel(call);
}

/**
 * `peek()` of a request on `ctx` (never blocks): runs the queued functions up to `upTo` whose
 * gate has completed, so a loop that polls with peek() makes progress.
 */
export function progressCallbacks(ctx: VeoCtxt, upTo: number): void {
  const q = queues.get(ctx);
  while (q !== undefined && q.length > 0 && (q[0].req as VeoRequest).id <= upTo) {
    const call = q[0];
    if (call.state !== QUEUED || running.includes(call)) return;
    let done: boolean;
    try {
      done = call.gate?.peek().done ?? false;
    } catch {
      cancel(call);
      continue;
    }
    if (!done) return;
    run(call);
  }
}

/** At process exit: no function can run any more; let every VH thread go. */
function cancelAll(): void {
  for (const call of [...pending]) cancel(call);
}
