/*
 * VeoRequest: one submitted command (a kernel call or an async transfer). It is deliberately
 * tiny: nothing promise-like exists until someone calls then(), and the buffers/args it must
 * keep alive are dropped at completion. Its result is collected from VEO exactly once, by
 * wait(), peek(), then() or the context's pump, whichever comes first; the others read the
 * stored outcome. `await req` and Promise.all hand then() V8's resolving functions: those
 * are kept and called directly (no promise of ours, no extra tick); any other callback
 * chains on a promise of ours, so it never runs inside then().
 */
import { describeValue, type CKind, type ResultRegister } from "./ctypes.js";
import { CommandState, ContextState } from "./constants.js";
import { VeoCallError, VeoKernelException, VeoProcessDead } from "./errors.js";
import type { VeoCtxt } from "./context.js";
import { notGenuine, requireMint } from "./brand.js";
import { ctxSlots, MINT, procSlots, reqSlots } from "./slots.js";
import { abortError, checkWaitOptions, raceWait, timeoutError, type WaitOptions } from "./timeouts.js";

let isRequest: (v: unknown) => v is VeoRequest;
let setOutcome: (req: VeoRequest, state: 0 | 1 | 2, value: unknown) => void;

/** @internal True for a request veo-ts made (not a forged look-alike). */
export function isVeoRequest(v: unknown): v is VeoRequest {
  return isRequest(v);
}

const PENDING = 0;
const DONE = 1;
const FAILED = 2;

const SIGNALS: Readonly<Record<number, string>> = {
  4: "SIGILL",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
};

/** What peek() returns. */
/** What `peek()` returns: not done yet, or done with the result. */
export type PeekResult<T> =
  | {
      /** Still running. */
      readonly done: false;
    }
  | {
      /** Finished. */
      readonly done: true;
      /** The converted result. */
      readonly value: T;
    };

const NOT_DONE: PeekResult<never> = Object.freeze({ done: false });

/** One shared executor, so awaiting a request allocates no closure of ours. */
const captured = { resolve: (_v: unknown) => {}, reject: (_e: unknown) => {} };
function capture(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(f)
const functionSource = Function.prototype.toString;
/** How V8 prints a built-in function without a name: "function () { [native code] }". */
const NATIVE_ANONYMOUS = (() => {
  void new Promise(capture);
  return functionSource.call(captured.resolve);
})();

/**
 * True for a promise resolving function: what `await req`, `Promise.resolve(req)` and
 * `Promise.all` pass to then(). Calling one synchronously is safe (it only settles its
 * promise; reactions still run as microtasks) and saves V8 a promise, a reaction and a tick
 * per request. Any other callback, e.g. a user's arrow function, runs asynchronously as
 * with a promise.
 */
function isResolver(f: unknown): f is (v: unknown) => void {
  return typeof f === "function" && functionSource.call(f) === NATIVE_ANONYMOUS;
}

function toUndefined(): undefined {
  return undefined;
}

/** What then() returns after handing the outcome to a resolving function (which returns undefined). */
const RESOLVED: Promise<any> = Promise.resolve();

function settleNow(resolver: (v: unknown) => void, value: unknown): Promise<any> {
  resolver(value);
  return RESOLVED;
}

/** What a request runs and how its result is decoded; one object per function, not per request. */
export interface CallInfo {
  readonly kind: CKind;
  readonly what: string;
  /**
   * Settles the request itself from a collected status (true), instead of the register's
   * value (false: the usual handling follows). While it runs, `req._value` still holds what
   * the request kept (callVh: its call; allocMemAsync: the size).
   */
  readonly finish?: (req: VeoRequest, rc: number, reg: ResultRegister) => boolean;
}

/**
 * Who is told when a request settles: either a promise's resolving functions passed by V8
 * (`await`, Promise.all; `promise` undefined) or a promise of ours that then() callbacks
 * chain on. `more` holds a second listener of the other kind.
 */
export interface Deferred {
  promise: Promise<unknown> | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  more: Deferred | undefined;
  /** Collected by then() itself; the pump tells it in submission order, see then(). */
  due: boolean;
}

function ownDeferred(): Deferred {
  const promise = new Promise<unknown>(capture);
  return { promise, resolve: captured.resolve, reject: captured.reject, more: undefined, due: false };
}

/**
 * One call or transfer submitted on a context (py-veo's `VeoRequest`). `await` it for the
 * converted result, `wait()` to block for it, `peek()` to look without blocking. It settles
 * exactly once.
 */
export class VeoRequest<T = any> implements PromiseLike<T> {
  // Private state (read through getters): the id and context are what the pump hands to
  // VEO, the state says whether VEO still owes a result; none can be reassigned.
  readonly #id: number;
  readonly #ctx: VeoCtxt;
  /** 0 pending, 1 done, 2 failed */
  #state: 0 | 1 | 2 = PENDING;
  /**
   * While pending: the buffers (and VEO 1.x args) VEO still uses, held until completion.
   * Then: the result, or the error when failed. (One field: a request in flight costs one
   * word less.)
   */
  #value: unknown;
  /** what ran and how to decode its result (shared per function) */
  readonly #call: CallInfo;
  /** who to tell when it settles; created by the first then() */
  #deferred: Deferred | undefined = undefined;

  static {
    isRequest = (v): v is VeoRequest => typeof v === "object" && v !== null && #state in v;
    setOutcome = (req, state, value) => {
      req.#state = state;
      req.#value = value;
    };
    reqSlots.id = (r) => r.#id;
    reqSlots.ctx = (r) => r.#ctx;
    reqSlots.state = (r) => r.#state;
    reqSlots.value = (r) => r.#value;
    reqSlots.call = (r) => r.#call;
    reqSlots.deferred = (r) => r.#deferred;
  }

  /** @internal Created by VeoFunction calls and VeoCtxt transfers. */
  constructor(ctx: VeoCtxt, id: number, call: CallInfo, keep: unknown, mint?: typeof MINT) {
    requireMint(mint, "VeoRequest", "it is what a call returns");
    this.#ctx = ctx;
    this.#id = id;
    this.#value = keep;
    this.#call = call;
  }

  /** The VEO request id (per context). */
  get id(): number {
    if (!(#id in this)) throw notGenuine("VeoRequest", "id", "it is what a call returns");
    return this.#id;
  }

  /** The context the request runs on. */
  get ctx(): VeoCtxt {
    if (!(#id in this)) throw notGenuine("VeoRequest", "ctx", "it is what a call returns");
    return this.#ctx;
  }

  /** Lets `await req` work: resolves with the converted result, rejects with a VeoError. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (!isRequest(this)) throw notGenuine("VeoRequest", "then", "it is what a call returns");
    const d = this.#deferred;
    if (d === undefined) {
      if (this.#state === PENDING) {
        const pump = ctxSlots.pump(this.#ctx);
        // Collect it right here when nothing awaited is ahead of it (short kernels are
        // usually done by now). If an older request of the context is still open, it may
        // be awaited later in this turn: then this one is told through the pump's queue,
        // in submission order, one microtask later.
        if (pump.collectNow(this) && this.ctx._usable && !pump.quiet(this)) {
          const ret = this.#listen(onfulfilled, onrejected);
          (this.#deferred as Deferred).due = true;
          pump.enqueueDue(this);
          return ret;
        }
        if (this.#state === PENDING && !this.#ctx._usable) pump.settleOrphan(this);
        if (this.#state === PENDING) {
          // Still pending (on an unusable context: a pool thread is collecting it).
          const ret = this.#listen(onfulfilled, onrejected);
          pump.awaited(this);
          return ret;
        }
      }
    } else if (this.#state === PENDING || d.due) {
      return this.#listen(onfulfilled, onrejected);
    }
    // Settled and every earlier listener told: tell this one now.
    if (this.#state === DONE) {
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a V8 resolving function
      if (isResolver(onfulfilled)) return settleNow(onfulfilled, this.#value);
      return Promise.resolve(this.#value as T).then(onfulfilled, onrejected);
    }
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a V8 resolving function
    if (isResolver(onrejected)) return settleNow(onrejected, this.#value);
    return Promise.reject(this.#value).then(onfulfilled, onrejected);
  }

  /** Adds a listener for the outcome; returns what then() returns. */
  #listen(onfulfilled: unknown, onrejected: unknown): Promise<any> {
    const d = this.#deferred;
    if (d === undefined) {
      if (isResolver(onfulfilled) && isResolver(onrejected)) {
        // V8's own resolvers are told directly. What then() returns must still settle only
        // after them (`req.then(res, rej).then(next)`), with undefined, as a promise's would.
        const own = ownDeferred();
        this.#deferred = {
          promise: undefined,
          resolve: onfulfilled,
          reject: onrejected,
          more: own,
          due: false,
        };
        return (own.promise as Promise<unknown>).then(toUndefined, toUndefined);
      }
      const own = (this.#deferred = ownDeferred());
      return (own.promise as Promise<unknown>).then(onfulfilled as never, onrejected as never);
    }
    let p = d.promise ?? d.more?.promise;
    if (p === undefined) {
      const own = ownDeferred();
      own.more = d.more;
      d.more = own;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed by the declaration build
      p = own.promise as Promise<unknown>;
    }
    return p.then(onfulfilled as never, onrejected as never);
  }

  /** Same as `then(undefined, onrejected)`. */
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    if (!isRequest(this)) throw notGenuine("VeoRequest", "catch", "it is what a call returns");
    return this.then(undefined, onrejected);
  }

  /**
   * Blocks until the request finished; returns its result or throws its error. With
   * `timeoutMs`, gives up after that long with VeoTimeoutError (the request keeps running and
   * can be waited for again); an already aborted `signal` throws its reason at once.
   */
  wait(options?: WaitOptions): T {
    if (!isRequest(this)) throw notGenuine("VeoRequest", "wait", "it is what a call returns");
    if (this.#state === PENDING) {
      let deadline = Infinity;
      let timeoutMs: number | undefined;
      if (options !== undefined) {
        const o = checkWaitOptions(options, "wait");
        if (o.signal?.aborted) throw abortError(o.signal);
        timeoutMs = o.timeoutMs;
        if (timeoutMs !== undefined && timeoutMs !== Infinity) deadline = performance.now() + timeoutMs;
      }
      this.#ctx._beforeBlock(this.#id, "wait()");
      if (this.#state === PENDING && !ctxSlots.pump(this.#ctx).waitFor(this, deadline)) {
        throw timeoutError(`${this.#call.what} (request ${this.id})`, timeoutMs as number);
      }
    }
    if (this.#state === DONE) return this.#value as T;
    throw this.#value;
  }

  /**
   * The result as a promise (what `await req` gives), giving up with VeoTimeoutError after
   * `timeoutMs` or with the signal's reason when `signal` aborts. Giving up leaves the request
   * alone: it is still collected, and can be awaited again.
   */
  result(options?: WaitOptions): Promise<T> {
    let opts: WaitOptions;
    try {
      if (!isRequest(this)) throw notGenuine("VeoRequest", "result", "it is what a call returns");
      opts = checkWaitOptions(options, "result");
    } catch (err) {
      return Promise.reject(err);
    }
    return raceWait(this, opts, `${this.#call.what} (request ${this.id})`);
  }

  /** Never blocks: `{ done: false }` while running, else `{ done: true, value }` (or throws). */
  peek(): PeekResult<T> {
    if (!isRequest(this)) throw notGenuine("VeoRequest", "peek", "it is what a call returns");
    if (this.#state === PENDING) this.#ctx._progress(this.#id);
    if (this.#state === PENDING && !ctxSlots.pump(this.#ctx).peekFor(this) && this.#state === PENDING) {
      return NOT_DONE;
    }
    if (this.#state === DONE) return { done: true, value: this.#value as T };
    throw this.#value;
  }

  /**
   * One promise for many requests: resolves with their results in the order given, or
   * rejects with the first failure it collects. Results are collected in order with
   * non-blocking peeks (one C call per request, as `wait()` makes), so a batch costs close
   * to a `wait()` loop, not a promise per request; only where a request is still running
   * does it wait through the context's pump without blocking the event loop. The others are
   * left as they are when it rejects: still-running requests go on, and their outcomes wait
   * to be collected by wait(), peek() or await like any request's (none becomes an
   * unhandled rejection). Requests may be of different contexts and procs, and repeated.
   * A non-iterable, or an element that is not a VeoRequest, rejects with a TypeError.
   */
  static all<const R extends readonly VeoRequest[] | []>(
    reqs: R,
  ): Promise<{ -readonly [K in keyof R]: R[K] extends VeoRequest<infer T> ? T : never }>;
  static all<T>(reqs: Iterable<VeoRequest<T>>): Promise<T[]>;
  static all(reqs: Iterable<VeoRequest>): Promise<unknown[]> {
    let list: VeoRequest[];
    try {
      list = batchOf(reqs);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<unknown[]>((resolve, reject) => new Batch(list, resolve, reject).run());
  }

  /** True once the request has a result or an error. */
  get settled(): boolean {
    if (!isRequest(this)) throw notGenuine("VeoRequest", "settled", "it is what a call returns");
    return this.#state !== PENDING;
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** A short description for logs. */
  toString(): string {
    if (!isRequest(this)) return "VeoRequest(forged)";
    const state =
      this.#state === PENDING ? "pending" : this.#state === DONE ? `done: ${String(this.#value)}` : "failed";
    return `VeoRequest(${this.#call.what}, id ${this.id}, ${state})`;
  }
}

/** The requests of VeoRequest.all as an array, each checked. */
function batchOf(reqs: unknown): VeoRequest[] {
  if (reqs == null || typeof (reqs as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new TypeError(
      `Argument 0 (reqs) of VeoRequest.all must be an iterable of VeoRequest, got ${describeValue(reqs)}`,
    );
  }
  const list = Array.isArray(reqs) ? (reqs as unknown[]) : [...(reqs as Iterable<unknown>)];
  for (let i = 0; i < list.length; i++) {
    if (!isRequest(list[i])) {
      throw new TypeError(
        `Argument 0 (reqs) of VeoRequest.all: element ${i} must be a VeoRequest, got ${describeValue(list[i])}`,
      );
    }
  }
  return list as VeoRequest[];
}

/** Give the event loop a turn after this many ms of collecting a batch. */
const BATCH_RUN_MS = 4;

/**
 * VeoRequest.all's collector: walks the requests in order, collecting each with a peek.
 * At a request that is still running, or that someone else awaits (its listeners must be
 * told in submission order by the pump), it awaits that one request and goes on from there.
 */
class Batch {
  private i = 0;
  private readonly out: unknown[];

  constructor(
    private readonly list: readonly VeoRequest[],
    private readonly resolve: (v: unknown[]) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.out = new Array<unknown>(list.length);
  }

  readonly run = (): void => {
    const list = this.list;
    const out = this.out;
    const n = list.length;
    const start = performance.now();
    let i = this.i;
    while (i < n) {
      const r = list[i];
      if (
        reqSlots.state(r) === PENDING &&
        (reqSlots.deferred(r) !== undefined || !ctxSlots.pump(reqSlots.ctx(r)).peekFor(r))
      ) {
        this.i = i;
        void VeoRequest.prototype.then.call(r, this.run, this.reject);
        return;
      }
      if (reqSlots.state(r) === FAILED) {
        this.reject(reqSlots.value(r));
        return;
      }
      out[i++] = reqSlots.value(r);
      if ((i & 1023) === 0 && performance.now() - start > BATCH_RUN_MS && i < n) {
        this.i = i;
        setImmediate(this.run);
        return;
      }
    }
    this.resolve(out);
  };
}

/** @internal Tells every listener of a settled request its outcome. */
export function tell(req: VeoRequest): void {
  const ok = reqSlots.state(req) === DONE;
  const v = reqSlots.value(req);
  for (let d = reqSlots.deferred(req); d !== undefined; d = d.more) {
    d.due = false;
    if (ok) d.resolve(v);
    else d.reject(v);
  }
}

function settle(req: VeoRequest, state: typeof DONE | typeof FAILED, value: unknown): void {
  const ctx = reqSlots.ctx(req);
  const pump = ctxSlots.pump(ctx);
  pump.closed(reqSlots.id(req));
  // Buffers of a request cut off by close/destroy stay held until VEO let go of the context.
  const held = ctxSlots.held(ctx);
  if (reqSlots.state(req) === PENDING && held.size !== 0 && ctx._usable) held.delete(reqSlots.id(req));
  setOutcome(req, state, value);
  if (reqSlots.deferred(req) !== undefined) {
    pump.waiting--;
    tell(req);
  }
}

/** @internal Settles a request successfully. */
export function resolveRequest(req: VeoRequest, value: unknown): void {
  settle(req, DONE, value);
}

/** @internal Settles a request with an error. */
export function rejectRequest(req: VeoRequest, err: unknown): void {
  settle(req, FAILED, err);
}

/** @internal The name of a fatal signal, for messages. */
export function signalName(signal: number): string {
  return SIGNALS[signal] ?? `signal ${signal}`;
}

/**
 * @internal Settles `req` from a veo_call_{wait,peek}_result status `rc` and the result
 * register. EXCEPTION kills the proc (all its other requests reject with VeoProcessDead);
 * ERROR on a context that has exited does too; ERROR on a live context is a VeoCallError.
 */
export function completeRequest(req: VeoRequest, rc: number, reg: ResultRegister): void {
  const finish = reqSlots.call(req).finish;
  if (finish !== undefined && finish(req, rc, reg)) return;
  if (rc === CommandState.OK) {
    resolveRequest(req, reg.decode(reqSlots.call(req).kind));
    return;
  }
  const ctx = reqSlots.ctx(req);
  const proc = ctx.proc;
  if (rc === CommandState.EXCEPTION) {
    const signal = Number(reg.u64[0] & 0xffffffffn);
    const err = new VeoKernelException(
      `${reqSlots.call(req).what} (request ${reqSlots.id(req)}) died of ${signalName(signal)} on VE node ${proc.nodeid}; ` +
        "the VE process is dead, create a new VeoProc",
      signal,
    );
    rejectRequest(req, err);
    procSlots.died(proc, `the VE process died of ${signalName(signal)} in ${reqSlots.call(req).what}`, {
      reason: "fault",
      signal,
    });
    return;
  }
  if (rc === CommandState.ERROR) {
    if (proc.dead) {
      rejectRequest(
        req,
        new VeoProcessDead(
          `${reqSlots.call(req).what} (request ${reqSlots.id(req)}): the VE process is dead`,
        ),
      );
      return;
    }
    if (ctx._nativeState() === ContextState.EXIT) {
      const err = new VeoProcessDead(
        `${reqSlots.call(req).what} (request ${reqSlots.id(req)}) failed: the VE process on node ${proc.nodeid} has exited`,
      );
      rejectRequest(req, err);
      procSlots.died(proc, "the VE process has exited");
      return;
    }
    rejectRequest(
      req,
      new VeoCallError(
        `${reqSlots.call(req).what} (request ${reqSlots.id(req)}) ended with VEO_COMMAND_ERROR`,
      ),
    );
    return;
  }
  rejectRequest(
    req,
    new VeoCallError(
      `${reqSlots.call(req).what} (request ${reqSlots.id(req)}): veo_call_*_result returned ${rc}`,
    ),
  );
}

Object.freeze(VeoRequest.prototype);
