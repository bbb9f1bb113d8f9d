/*
 * VeoCtxt: a VEO context, i.e. one FIFO command queue (one VE thread). Kernel calls and async
 * transfers submitted to it complete in order; its pump turns them into promises.
 */
import { beforeBlock, callVh, cancelQueued, progressCallbacks, type VhFunction } from "./callbacks.js";
import { ContextState, REQUEST_ID_INVALID } from "./constants.js";
import { notGenuine, requireMint } from "./brand.js";
import { describeValue } from "./ctypes.js";
import { VeoClosedError, VeoFailedError, VeoProcessDead } from "./errors.js";
import type { VeoLibrary } from "./library.js";
import {
  byteCount,
  checkVeExtent,
  holdHostBuffer,
  hostBuffer,
  vePointer,
  type HostBuffer,
  type VeMemPtr,
} from "./memory.js";
import { allocMemAsync, freeMemAsync } from "./memory-async.js";
import type { CtxHandle, U64, VeoApi } from "./native/api.js";
import { requireFunction } from "./native/library.js";
import { logEnabled, logInfo } from "./logging.js";
import type { VeoProc } from "./proc.js";
import { teardownDeadline } from "./proc-lifetime.js";
import { Pump } from "./pump.js";
import { brands, ctxSlots, MINT, procSlots, reqSlots } from "./slots.js";
import { VeoRequest, type CallInfo } from "./request.js";
import { checkWaitOptions, raceWait, type WaitOptions } from "./timeouts.js";

const READ_CALL: CallInfo = { kind: "void", what: "asyncReadMem" };
const WRITE_CALL: CallInfo = { kind: "void", what: "asyncWriteMem" };

function ignore(): void {}

/** A VE address argument: a VeMemPtr of the same proc, or a raw bigint/number address. */
export type VePointer = VeMemPtr | bigint | number;

let isCtxt: (v: unknown) => v is VeoCtxt;

/** @internal True for a context made by proc.openContext (not a forged look-alike). */
export function isVeoCtxt(v: unknown): v is VeoCtxt {
  return isCtxt(v);
}

/** Brand check of a VeoCtxt method's receiver. */
function genuine(c: unknown, method: string): asserts c is VeoCtxt {
  if (!isCtxt(c)) throw notGenuine("VeoCtxt", method, "use proc.openContext()");
}

/**
 * A VEO thread context (py-veo's `VeoCtxt`): a queue on which kernel calls and asynchronous
 * memory transfers run in order. Open one with `proc.openContext()`.
 */
export class VeoCtxt {
  /** Brand: only genuine contexts have it (see isVeoCtxt). */
  readonly #genuine = true;
  readonly #pump: Pump;
  #closed = false;
  #closeError: VeoClosedError | undefined = undefined;
  /** veo_context_close still owed (deferred while a pool thread waits on us). */
  #closeOwed = false;
  /**
   * The host buffers of requests VEO may still write or read, by request id: held here (not
   * only by the request) so that a request nobody keeps cannot let its buffer be collected
   * while the VE side uses it. Dropped as each request settles on a usable context, or with
   * the context.
   */
  readonly #held = new Map<number, unknown>();
  /** callVh functions queued on this context and not run yet (see callbacks.ts). */
  #vh = 0;

  static {
    isCtxt = (v): v is VeoCtxt => typeof v === "object" && v !== null && #genuine in v;
    ctxSlots.pump = (c) => c.#pump;
    ctxSlots.held = (c) => c.#held;
    ctxSlots.addVh = (c, d) => void (c.#vh += d);
    ctxSlots.handle = (c) => c.#handle;
    ctxSlots.api = (c) => c.#api;
    ctxSlots.submitted = (c, id, call, keep, cfunc) => c.#submitted(id, call, keep, cfunc);
    ctxSlots.shutdown = (c, err) => c.#shutdown(err);
  }

  /** The proc this context belongs to. */
  readonly proc: VeoProc;
  // What C is handed: private, so user code cannot call VEO with it (see slots.ts).
  readonly #handle: CtxHandle;
  readonly #api: VeoApi;

  /** @internal Use proc.openContext(). */
  constructor(proc: VeoProc, handle: CtxHandle, api: VeoApi, mint?: typeof MINT) {
    requireMint(mint, "VeoCtxt", "use proc.openContext()");
    this.proc = proc;
    this.#handle = handle;
    this.#api = api;
    this.#pump = new Pump(this, handle, api);
    // What C is handed stays what VEO returned: no field can be reassigned or redefined.
    Object.freeze(this);
  }

  /** @internal True once close() ran (or its proc was destroyed). */
  get _closed(): boolean {
    return this.#closed;
  }

  /** @internal What pending requests reject with once closed. */
  get _closeError(): VeoClosedError | undefined {
    return this.#closeError;
  }

  /** @internal callVh functions queued on this context and not run yet. */
  get _vh(): number {
    return this.#vh;
  }

  /** @internal True while requests can be submitted and collected. */
  get _usable(): boolean {
    return !this.#closed && this.proc._alive;
  }

  /** @internal Throws VeoClosedError / VeoProcessDead when the context cannot be used. */
  _checkUsable(): void {
    if (!isCtxt(this)) throw new TypeError("This is not a genuine VeoCtxt (use proc.openContext())");
    if (this.#closed) {
      this.proc._check();
      throw new VeoClosedError("This VeoCtxt is closed");
    }
    this.proc._check();
  }

  /** @internal veo_get_context_state, or EXIT once closed. */
  _nativeState(): number {
    if (this.#closed || this.proc.destroyed) return ContextState.EXIT;
    return this.#api.veo_get_context_state(this.#handle);
  }

  /** ContextState.RUNNING while usable; EXIT once closed or the VE process died. */
  get state(): ContextState {
    genuine(this, "state");
    return this._nativeState() as ContextState;
  }

  /** True once close() ran (or its proc was destroyed). */
  get closed(): boolean {
    genuine(this, "closed");
    return this.#closed;
  }

  /**
   * @internal Wraps a submission's request id (number or bigint from koffi) in a VeoRequest,
   * or throws if VEO refused it.
   */
  #submitted(id: U64, call: CallInfo, keep: unknown, cfunc: string): VeoRequest {
    if (typeof id === "bigint") {
      if (id === REQUEST_ID_INVALID) throw this._refused(call.what, cfunc);
      id = Number(id);
    }
    const req = new VeoRequest(this, id, call, keep, MINT);
    if (keep !== undefined) this.#held.set(id, keep);
    this.#pump.last = req;
    this.#pump.opened(id);
    if (logEnabled) {
      logInfo(
        cfunc === "veo_call_async"
          ? `veo_call_async: name=${call.what}, reqid=${id}`
          : ArrayBuffer.isView(keep) || keep instanceof ArrayBuffer
            ? `${cfunc}: nodeid=${this.proc.nodeid}, size=${keep.byteLength}, reqid=${id}`
            : `${cfunc}: nodeid=${this.proc.nodeid}, name=${call.what}, reqid=${id}`,
      );
    }
    return req;
  }

  /** @internal The error for VEO_REQUEST_ID_INVALID. */
  _refused(what: string, cfunc: string): Error {
    if (this._nativeState() === ContextState.EXIT) {
      procSlots.died(this.proc, "the VE process has exited");
      return new VeoProcessDead(`${what}: ${cfunc} refused the request: ${deathMessage(this.proc)}`);
    }
    return new VeoFailedError(
      cfunc,
      `${what}: ${cfunc} returned VEO_REQUEST_ID_INVALID although the VE process is alive` +
        (cfunc === "veo_call_async"
          ? " (VEO refused the call: its stack arguments may not fit this context's VE stack)"
          : ""),
    );
  }

  /** Copies `size` bytes (default: all of `dst`) from VE memory at `src` into `dst`. */
  asyncReadMem(dst: HostBuffer, src: VePointer, size?: number): VeoRequest<void> {
    genuine(this, "asyncReadMem");
    this._checkUsable();
    const len = hostBuffer(dst, "Argument 0 (dst) of asyncReadMem");
    const addr = vePointer(this.proc, src, "Argument 1 (src) of asyncReadMem");
    const n = byteCount(size, "Argument 2 (size) of asyncReadMem", len, "dst", len);
    checkVeExtent(src, n, "asyncReadMem");
    holdHostBuffer(dst, "Argument 0 (dst) of asyncReadMem");
    const id = this.#api.veo_async_read_mem(this.#handle, dst, addr, n);
    return this.#submitted(id, READ_CALL, dst, "veo_async_read_mem");
  }

  /** Copies `size` bytes (default: all of `src`) from `src` into VE memory at `dst`. */
  asyncWriteMem(dst: VePointer, src: HostBuffer, size?: number): VeoRequest<void> {
    genuine(this, "asyncWriteMem");
    this._checkUsable();
    const addr = vePointer(this.proc, dst, "Argument 0 (dst) of asyncWriteMem");
    const len = hostBuffer(src, "Argument 1 (src) of asyncWriteMem");
    const n = byteCount(size, "Argument 2 (size) of asyncWriteMem", len, "src", len);
    checkVeExtent(dst, n, "asyncWriteMem");
    holdHostBuffer(src, "Argument 1 (src) of asyncWriteMem");
    const id = this.#api.veo_async_write_mem(this.#handle, addr, src, n);
    return this.#submitted(id, WRITE_CALL, src, "veo_async_write_mem");
  }

  /**
   * @internal Before a blocking call that waits for this context's requests up to id `upTo`
   * (Infinity: all): runs the callVh functions it would wait behind (see callbacks.ts).
   */
  _beforeBlock(upTo: number, what: string): void {
    if (this.#vh !== 0) beforeBlock(this, upTo, what);
  }

  /** @internal peek(): runs the callVh functions up to `upTo` that are due (never blocks). */
  _progress(upTo: number): void {
    if (this.#vh !== 0) progressCallbacks(this, upTo);
  }

  /**
   * Runs `fn(arg)` on Node's main thread in this context's queue order (veo_call_async_vh):
   * after every request submitted before it has finished, and before any submitted after it
   * starts. The request resolves with what `fn` returned (a number or bigint), or rejects
   * with what it threw; nothing else is affected. `fn` must be synchronous.
   */
  callVh<A, R extends number | bigint>(fn: VhFunction<A, R>, arg?: A): VeoRequest<R> {
    genuine(this, "callVh");
    return callVh(this, fn, arg) as VeoRequest<R>;
  }

  /**
   * Allocates `size` bytes of VE memory in this context's queue order
   * (veo_alloc_mem_async); the request resolves with the VeMemPtr, or rejects with
   * VeoFailedError when the VE is out of memory.
   */
  allocMemAsync(size: number): VeoRequest<VeMemPtr> {
    genuine(this, "allocMemAsync");
    return allocMemAsync(this, size);
  }

  /**
   * Frees VE memory in this context's queue order (veo_free_mem_async). A VeMemPtr counts
   * as freed at once: requests submitted after this one must not use it.
   */
  freeMemAsync(ptr: VePointer): VeoRequest<void> {
    genuine(this, "freeMemAsync");
    return freeMemAsync(this, ptr);
  }

  /**
   * Runs `body` with this context's submission lock held (veo_req_block_begin/end): the
   * requests it submits are adjacent in the queue, whatever other threads submit. The block
   * ends when `body` returns or throws. Blocks nest. `body` must be synchronous (a returned
   * promise is a TypeError: the block would have ended at its first await).
   */
  block<R>(body: () => R): R {
    genuine(this, "block");
    if (typeof body !== "function") {
      throw new TypeError(`Argument 0 (body) of block must be a function, got ${describeValue(body)}`);
    }
    this._checkUsable();
    const begin = requireFunction(procSlots.native(this.proc), "veo_req_block_begin");
    const end = requireFunction(procSlots.native(this.proc), "veo_req_block_end");
    const h = this.#handle;
    begin(h);
    let r: R;
    try {
      r = body();
    } finally {
      end(h);
    }
    if (typeof (r as { then?: unknown } | null)?.then === "function") {
      throw new TypeError(
        "The body of block must be synchronous: it returned a promise, and the block ended at its first await",
      );
    }
    return r;
  }

  /**
   * Calls `name` from `lib` through veo_call_async_by_name (VEO looks the symbol up on the
   * proc's main context once, then caches it). Arguments follow the declared types of
   * `lib`'s function of that name if it has one (lib.declare / argsType), else the loose
   * rules: integer numbers → int64, other numbers → double, bigint → int64 (uint64 above
   * 2**63-1), VeMemPtr → pointer, OnStack → stack, null → 0. The result is decoded as the
   * declared result type, else as `int`.
   */
  callByName(lib: VeoLibrary, name: string, ...args: unknown[]): VeoRequest {
    genuine(this, "callByName");
    if (!brands.library(lib) || lib.proc !== this.proc || lib.closed) {
      throw new TypeError(
        `Argument 0 (lib) of callByName must be a loaded VeoLibrary of this context's proc, got ${describeValue(lib)}`,
      );
    }
    return lib._callByName(this, name, args);
  }

  /** Blocks until every request submitted so far on this context has finished. */
  sync(): void;
  /**
   * Resolves once every request submitted so far on this context has finished (their own
   * failures stay theirs); rejects with VeoTimeoutError after `timeoutMs`, with the signal's
   * reason when `signal` aborts, or with VeoClosedError / VeoProcessDead. Never blocks.
   */
  sync(options: WaitOptions): Promise<void>;
  sync(options?: WaitOptions): void | Promise<void> {
    genuine(this, "sync");
    if (options !== undefined) return this.syncAsync(options);
    this._checkUsable();
    this._beforeBlock(Infinity, "sync()");
    const sync = this.#api.veo_context_sync;
    if (sync) {
      sync(this.#handle);
      return;
    }
    const last = this.#pump.last;
    if (last !== null && reqSlots.state(last) === 0) this.#pump.waitFor(last);
  }

  /**
   * Resolves once every request submitted so far on this context has finished, without
   * blocking (the awaitable form of sync(); `sync(options)` is the same). Requests' own errors
   * are not reported here. Rejects with VeoTimeoutError after `options.timeoutMs`, with the
   * signal's reason when `options.signal` aborts, or with VeoClosedError / VeoProcessDead.
   */
  syncAsync(options?: WaitOptions): Promise<void> {
    let last: VeoRequest | null;
    let opts: WaitOptions;
    try {
      genuine(this, "syncAsync");
      opts = checkWaitOptions(options, "sync");
      this._checkUsable();
      last = this.#pump.last;
    } catch (err) {
      return Promise.reject(err);
    }
    // Requests complete in order: once the last one has, so has everything before it.
    const allDone =
      last === null || reqSlots.state(last) !== 0
        ? Promise.resolve()
        : last.then(ignore, ignore).then(() => this._checkUsable());
    return raceWait(allDone, opts, "sync");
  }

  /**
   * Closes the context: its pending requests reject with VeoClosedError at once. A kernel still
   * running gets the grace period (options.killGraceMs), then the VE process is killed (the
   * proc is lost). Idempotent.
   * (The proc's first context is VEO's main context; VEO keeps it until the proc goes.)
   */
  close(): void {
    genuine(this, "close");
    if (this.#closed) return;
    const work = this.proc._pendingWork([this]);
    this.#shutdown(new VeoClosedError("The context was closed before the request finished"));
    this.proc._forgetContext(this);
    // A kernel still running gets the grace period, then the VE process is killed (VEO would
    // wait for it, or hang on it, in veo_context_close).
    this.proc._endBusy(work, teardownDeadline(this.proc._graceMs), "ctx.close()");
    if (!this.proc._alive) return;
    if (this.#pump.target !== null) {
      this.#closeOwed = true;
      return;
    }
    this.#closeNative();
  }

  #closeNative(): void {
    this.#closeOwed = false;
    if (!this.proc._alive) return;
    const rc = this.#api.veo_context_close(this.#handle);
    this.#held.clear();
    if (rc !== 0) throw new VeoFailedError("veo_context_close", `veo_context_close failed (${rc})`);
  }

  /** @internal The pump's pool thread returned: do a close that had to wait for it. */
  _onPumpIdle(): void {
    if (this.#closeOwed) {
      try {
        this.#closeNative();
      } catch {
        /* already reported as closed; nothing to reject */
      }
    }
  }

  /** @internal The proc died: its queued callVh functions will never run. */
  _cancelCallbacks(): void {
    cancelQueued(this);
  }

  /** @internal Marks closed and rejects everything pending with `err` (no C call). */
  #shutdown(err: VeoClosedError): void {
    this.#closed = true;
    this.#closeError = err;
    cancelQueued(this);
    this.#pump.rejectAll(err);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** A short description for logs. */
  toString(): string {
    if (!isCtxt(this)) return "VeoCtxt(forged)";
    return `VeoCtxt(node ${this.proc.nodeid}${this.#closed ? ", closed" : ""})`;
  }
}

Object.freeze(VeoCtxt.prototype);

/** Why `proc` is dead, as its own VeoProcessDead says. */
function deathMessage(proc: VeoProc): string {
  try {
    proc._check();
  } catch (err) {
    if (err instanceof Error) return err.message;
  }
  return `the VE process on node ${proc.nodeid} is dead`;
}
