/*
 * VeoCtxt: a VEO context, i.e. one FIFO command queue (one VE thread). Kernel calls and async
 * transfers submitted to it complete in order; its pump turns them into promises.
 */
import { ContextState, REQUEST_ID_INVALID } from "./constants.js";
import { VeoClosedError, VeoFailedError, VeoProcessDead } from "./errors.js";
import { byteCount, checkVeExtent, hostBuffer, vePointer, type HostBuffer, type VeMemPtr } from "./memory.js";
import type { CtxHandle, U64, VeoApi } from "./native/api.js";
import { logEnabled, logInfo } from "./logging.js";
import type { VeoProc } from "./proc.js";
import { teardownDeadline } from "./proc-lifetime.js";
import { Pump } from "./pump.js";
import { VeoRequest, type CallInfo } from "./request.js";
import { checkWaitOptions, raceWait, type WaitOptions } from "./timeouts.js";

const READ_CALL: CallInfo = { kind: "void", what: "asyncReadMem" };
const WRITE_CALL: CallInfo = { kind: "void", what: "asyncWriteMem" };

function ignore(): void {}

/** A VE address argument: a VeMemPtr of the same proc, or a raw bigint/number address. */
export type VePointer = VeMemPtr | bigint | number;

export class VeoCtxt {
  /** The proc this context belongs to. */
  readonly proc: VeoProc;
  /** @internal */
  readonly _handle: CtxHandle;
  /** @internal */
  readonly _api: VeoApi;
  /** @internal */
  readonly _pump: Pump;
  /** @internal */
  _closed = false;
  /** @internal What pending requests reject with once closed. */
  _closeError: VeoClosedError | undefined = undefined;
  /** @internal veo_context_close still owed (deferred while a pool thread waits on us). */
  private closeOwed = false;

  /** @internal Use proc.openContext(). */
  constructor(proc: VeoProc, handle: CtxHandle, api: VeoApi) {
    this.proc = proc;
    this._handle = handle;
    this._api = api;
    this._pump = new Pump(this);
  }

  /** @internal True while requests can be submitted and collected. */
  get _usable(): boolean {
    return !this._closed && this.proc._alive;
  }

  /** @internal Throws VeoClosedError / VeoProcessDead when the context cannot be used. */
  _checkUsable(): void {
    if (this._closed) {
      this.proc._check();
      throw new VeoClosedError("This VeoCtxt is closed");
    }
    this.proc._check();
  }

  /** @internal veo_get_context_state, or EXIT once closed. */
  _nativeState(): number {
    if (this._closed || this.proc.destroyed) return ContextState.EXIT;
    return this._api.veo_get_context_state(this._handle);
  }

  /** ContextState.RUNNING while usable; EXIT once closed or the VE process died. */
  get state(): ContextState {
    return this._nativeState() as ContextState;
  }

  /** True once close() ran (or its proc was destroyed). */
  get closed(): boolean {
    return this._closed;
  }

  /**
   * @internal Wraps a submission's request id (number or bigint from koffi) in a VeoRequest,
   * or throws if VEO refused it.
   */
  _submitted(id: U64, call: CallInfo, keep: unknown, cfunc: string): VeoRequest {
    if (typeof id === "bigint") {
      if (id === REQUEST_ID_INVALID) throw this._refused(call.what, cfunc);
      id = Number(id);
    }
    const req = new VeoRequest(this, id, call, keep);
    this._pump.last = req;
    this._pump.opened(id);
    if (logEnabled) {
      logInfo(
        cfunc === "veo_call_async"
          ? `veo_call_async: name=${call.what}, reqid=${id}`
          : `${cfunc}: nodeid=${this.proc.nodeid}, size=${(keep as ArrayBufferView).byteLength}, reqid=${id}`,
      );
    }
    return req;
  }

  /** @internal The error for VEO_REQUEST_ID_INVALID. */
  _refused(what: string, cfunc: string): Error {
    if (this._nativeState() === ContextState.EXIT) {
      this.proc._died("the VE process has exited");
      return new VeoProcessDead(
        `${what}: ${cfunc} refused the request: the VE process on node ${this.proc.nodeid} is dead`,
      );
    }
    return new VeoFailedError(cfunc, `${what}: ${cfunc} returned VEO_REQUEST_ID_INVALID`);
  }

  /** Copies `size` bytes (default: all of `dst`) from VE memory at `src` into `dst`. */
  asyncReadMem(dst: HostBuffer, src: VePointer, size?: number): VeoRequest<void> {
    this._checkUsable();
    const len = hostBuffer(dst, "Argument 0 (dst) of asyncReadMem");
    const addr = vePointer(this.proc, src, "Argument 1 (src) of asyncReadMem");
    const n = byteCount(size, "Argument 2 (size) of asyncReadMem", len, "dst", len);
    checkVeExtent(src, n, "asyncReadMem");
    const id = this._api.veo_async_read_mem(this._handle, dst, addr, n);
    return this._submitted(id, READ_CALL, dst, "veo_async_read_mem");
  }

  /** Copies `size` bytes (default: all of `src`) from `src` into VE memory at `dst`. */
  asyncWriteMem(dst: VePointer, src: HostBuffer, size?: number): VeoRequest<void> {
    this._checkUsable();
    const addr = vePointer(this.proc, dst, "Argument 0 (dst) of asyncWriteMem");
    const len = hostBuffer(src, "Argument 1 (src) of asyncWriteMem");
    const n = byteCount(size, "Argument 2 (size) of asyncWriteMem", len, "src", len);
    checkVeExtent(dst, n, "asyncWriteMem");
    const id = this._api.veo_async_write_mem(this._handle, addr, src, n);
    return this._submitted(id, WRITE_CALL, src, "veo_async_write_mem");
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
    if (options !== undefined) return this.syncAsync(options);
    this._checkUsable();
    const sync = this._api.veo_context_sync;
    if (sync) {
      sync(this._handle);
      return;
    }
    const last = this._pump.last;
    if (last !== null && last._state === 0) this._pump.waitFor(last);
  }

  private syncAsync(options: WaitOptions): Promise<void> {
    let last: VeoRequest | null;
    let opts: WaitOptions;
    try {
      opts = checkWaitOptions(options, "sync");
      this._checkUsable();
      last = this._pump.last;
    } catch (err) {
      return Promise.reject(err);
    }
    // Requests finish in submission order: the last one finished means all did.
    const allDone =
      last === null || last._state !== 0
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
    if (this._closed) return;
    const work = this.proc._pendingWork([this]);
    this._shutdown(new VeoClosedError("The context was closed before the request finished"));
    this.proc._forgetContext(this);
    // A kernel still running gets the grace period, then the VE process is killed (VEO would
    // wait for it, or hang on it, in veo_context_close).
    this.proc._endBusy(work, teardownDeadline(this.proc._graceMs), "ctx.close()");
    if (!this.proc._alive) return;
    if (this._pump.target !== null) {
      this.closeOwed = true;
      return;
    }
    this.closeNative();
  }

  private closeNative(): void {
    this.closeOwed = false;
    if (!this.proc._alive) return;
    const rc = this._api.veo_context_close(this._handle);
    if (rc !== 0) throw new VeoFailedError("veo_context_close", `veo_context_close failed (${rc})`);
  }

  /** @internal The pump's pool thread returned: do a close that had to wait for it. */
  _onPumpIdle(): void {
    if (this.closeOwed) {
      try {
        this.closeNative();
      } catch {
        /* already reported as closed; nothing to reject */
      }
    }
  }

  /** @internal Marks closed and rejects everything pending with `err` (no C call). */
  _shutdown(err: VeoClosedError): void {
    this._closed = true;
    this._closeError = err;
    this._pump.rejectAll(err);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  toString(): string {
    return `VeoCtxt(node ${this.proc.nodeid}${this._closed ? ", closed" : ""})`;
  }
}
