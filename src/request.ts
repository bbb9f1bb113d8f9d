/*
 * VeoRequest: one submitted command (a kernel call or an async transfer). It is deliberately
 * tiny: the promise is created only when someone awaits it, and the buffers/args it must
 * keep alive are dropped at completion. Its result is collected from VEO exactly once, by
 * wait(), peek() or the context's pump, whichever comes first; the others read the stored
 * outcome.
 */
import type { CKind, ResultRegister } from "./ctypes.js";
import { CommandState, ContextState } from "./constants.js";
import { VeoCallError, VeoKernelException, VeoProcessDead } from "./errors.js";
import type { VeoCtxt } from "./context.js";

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
export type PeekResult<T> = { readonly done: false } | { readonly done: true; readonly value: T };

const NOT_DONE: PeekResult<never> = Object.freeze({ done: false });

/** One shared executor, so awaiting a request allocates no closure of ours. */
const captured = { resolve: (_v: unknown) => {}, reject: (_e: unknown) => {} };
function capture(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** What a request runs and how its result is decoded; one object per function, not per request. */
export interface CallInfo {
  readonly kind: CKind;
  readonly what: string;
}

interface Deferred {
  promise: Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class VeoRequest<T = any> implements PromiseLike<T> {
  /** The VEO request id (per context). */
  readonly id: number;
  /** The context the request runs on. */
  readonly ctx: VeoCtxt;
  /** @internal 0 pending, 1 done, 2 failed */
  _state: 0 | 1 | 2 = PENDING;
  /** @internal result, or the error when failed */
  _value: unknown = undefined;
  /** @internal what ran and how to decode its result (shared per function) */
  _call: CallInfo;
  /** @internal buffers (and VEO1 args) held until completion */
  _keep: unknown;
  /** @internal created by the first then() */
  _deferred: Deferred | undefined = undefined;

  /** @internal Created by VeoFunction calls and VeoCtxt transfers. */
  constructor(ctx: VeoCtxt, id: number, call: CallInfo, keep: unknown) {
    this.ctx = ctx;
    this.id = id;
    this._call = call;
    this._keep = keep;
  }

  /** @internal how to decode the result register */
  get _kind(): CKind {
    return this._call.kind;
  }

  /** @internal what ran, for messages (e.g. "sum") */
  get _what(): string {
    return this._call.what;
  }

  /** Lets `await req` work: resolves with the converted result, rejects with a VeoError. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this._state === DONE) return Promise.resolve(this._value as T).then(onfulfilled, onrejected);
    if (this._state === FAILED) return Promise.reject(this._value).then(onfulfilled, onrejected);
    let d = this._deferred;
    if (d === undefined) {
      if (!this.ctx._usable) {
        this.ctx._pump.settleOrphan(this);
        if (this._state !== PENDING) return this.then(onfulfilled, onrejected);
        // Still pending: a pool thread is collecting it and will settle it.
      }
      const promise = new Promise<unknown>(capture);
      d = this._deferred = { promise, resolve: captured.resolve, reject: captured.reject };
      this.ctx._pump.awaited(this);
    }
    return (d.promise as Promise<T>).then(onfulfilled, onrejected);
  }

  /** Same as `then(undefined, onrejected)`. */
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  /** Blocks until the request finished; returns its result or throws its error. */
  wait(): T {
    if (this._state === PENDING) this.ctx._pump.waitFor(this);
    if (this._state === DONE) return this._value as T;
    throw this._value;
  }

  /** Never blocks: `{ done: false }` while running, else `{ done: true, value }` (or throws). */
  peek(): PeekResult<T> {
    if (this._state === PENDING && !this.ctx._pump.peekFor(this) && this._state === PENDING) return NOT_DONE;
    if (this._state === DONE) return { done: true, value: this._value as T };
    throw this._value;
  }

  /** True once the request has a result or an error. */
  get settled(): boolean {
    return this._state !== PENDING;
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  toString(): string {
    const state = this._state === PENDING ? "pending" : this._state === DONE ? `done: ${String(this._value)}` : "failed";
    return `VeoRequest(${this._what}, id ${this.id}, ${state})`;
  }
}

/** @internal Settles a request successfully. */
export function resolveRequest(req: VeoRequest, value: unknown): void {
  req._state = DONE;
  req._value = value;
  req._keep = undefined;
  const d = req._deferred;
  if (d !== undefined) {
    req.ctx._pump.waiting--;
    d.resolve(value);
  }
}

/** @internal Settles a request with an error. */
export function rejectRequest(req: VeoRequest, err: unknown): void {
  req._state = FAILED;
  req._value = err;
  req._keep = undefined;
  const d = req._deferred;
  if (d !== undefined) {
    req.ctx._pump.waiting--;
    d.reject(err);
  }
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
  if (rc === CommandState.OK) {
    resolveRequest(req, reg.decode(req._kind));
    return;
  }
  const ctx = req.ctx;
  const proc = ctx.proc;
  if (rc === CommandState.EXCEPTION) {
    const signal = Number(reg.u64[0] & 0xffffffffn);
    const err = new VeoKernelException(
      `${req._what} (request ${req.id}) died of ${signalName(signal)} on VE node ${proc.nodeid}; ` +
        "the VE process is dead, create a new VeoProc",
      signal,
    );
    rejectRequest(req, err);
    proc._died(`the VE process died of ${signalName(signal)} in ${req._what}`);
    return;
  }
  if (rc === CommandState.ERROR) {
    if (proc.dead) {
      rejectRequest(req, new VeoProcessDead(`${req._what} (request ${req.id}): the VE process is dead`));
      return;
    }
    if (ctx._nativeState() === ContextState.EXIT) {
      const err = new VeoProcessDead(
        `${req._what} (request ${req.id}) failed: the VE process on node ${proc.nodeid} has exited`,
      );
      rejectRequest(req, err);
      proc._died("the VE process has exited");
      return;
    }
    rejectRequest(req, new VeoCallError(`${req._what} (request ${req.id}) ended with VEO_COMMAND_ERROR`));
    return;
  }
  rejectRequest(
    req,
    new VeoCallError(`${req._what} (request ${req.id}): veo_call_*_result returned ${rc}`),
  );
}
