/*
 * VeDevice: one VE node as XTC's runtime sees a device. It owns a proc, its contexts
 * (FIFO queues), a memory pool and a trace, and offers modules (load / compile), device
 * arrays and the evaluator. Every request it submits goes through _submitCall /
 * _submitWrite / _submitRead, the one place that traces. close() destroys the proc:
 * pending requests reject, the pool's memory goes with it, device.lost resolves.
 *
 * Two rules keep the event loop free and the order right. The proc's synchronous calls
 * (allocate, free, load a library, find a symbol) are served by its main context, which is
 * the device's context 0, behind any kernel running there: the device makes them only once
 * the requests it submitted to context 0 have settled (_mainIdle), so they are await-ed,
 * never blocked on. And each context takes submissions in the order the calls were made
 * (_serial), even when one call waits for memory and the next does not.
 */
import { describeValue } from "../ctypes.js";
import { VeoClosedError } from "../errors.js";
import type { VeoFunction } from "../function.js";
import type { VeMemPtr } from "../memory.js";
import type { VeoProc } from "../proc.js";
import type { VeoCtxt } from "../context.js";
import { loadSource, type SoOptions } from "../vebuild/index.js";
import type { VeoLibrary } from "../library.js";
import { DeviceArray, newDeviceArray } from "./array.js";
import { checkDType, dtypeOf, itemSize, type DType, type DTypeOf, type HostArray } from "./dtype.js";
import { evaluate, type EvaluateOptions, type EvaluateResult } from "./evaluate.js";
import type { DeviceKernel } from "./kernel.js";
import { LostSignal, type DeviceLost } from "./lost.js";
import { DeviceMemory } from "./memory-pool.js";
import { DeviceModule } from "./module.js";
import { DeviceTrace } from "./trace.js";

/**
 * One VE node (made by openDevice): a proc with its contexts, a memory pool and a trace;
 * loads or compiles modules, holds device arrays, and times kernels.
 */
export class VeDevice {
  /** The VE node number. */
  readonly node: number;
  /** The object-model proc underneath. */
  readonly proc: VeoProc;
  /** The memory pool: stats(), limit, trim(). */
  readonly memory: DeviceMemory;
  /** Request traces: start(), stop(), save(path). */
  readonly trace: DeviceTrace;
  private readonly ctxs: readonly VeoCtxt[];
  private readonly lostSignal: LostSignal;
  private isClosed = false;
  /** The latest request submitted on context 0 (the proc's main context). */
  private lastMain: { readonly settled: boolean; then: PromiseLike<unknown>["then"] } | undefined;
  /** Per context: the submission phase of the latest call (see _serial). */
  private readonly submitted: Promise<unknown>[];
  /** @internal Timing wrappers built for this device, by prototype. */
  readonly _timers = new Map<string, Promise<VeoFunction | string>>();

  /** @internal Use openDevice. */
  constructor(proc: VeoProc, ctxs: readonly VeoCtxt[], memoryLimit: number) {
    this.node = proc.nodeid;
    this.proc = proc;
    this.ctxs = ctxs;
    this.memory = new DeviceMemory(proc, memoryLimit, () => this._mainIdle());
    this.submitted = ctxs.map(() => Promise.resolve());
    this.trace = new DeviceTrace(proc.nodeid);
    this.lostSignal = new LostSignal(proc);
  }

  /** Resolves once, when the VE process ends: `{ reason, message, signal?, exitCode? }`. */
  get lost(): Promise<DeviceLost> {
    return this.lostSignal.promise;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True once the device cannot run anything any more (closed, or its VE process died). */
  get isLost(): boolean {
    return this.isClosed || this.proc.dead || this.proc.destroyed;
  }

  /** The contexts (queues) of the device, in opening order. */
  get contexts(): readonly VeoCtxt[] {
    return this.ctxs;
  }

  /** Loads a VE shared library (absolute path). */
  async load(path: string): Promise<DeviceModule> {
    this._checkOpen("load");
    if (typeof path !== "string" || path === "") {
      throw new TypeError(
        `Argument 0 (path) of device.load must be a non-empty path string, got ${describeValue(path)}`,
      );
    }
    await this._mainIdle();
    this._checkOpen("load");
    return new DeviceModule(this, this.proc.loadLibrary(path));
  }

  /** Builds `source` with VeBuild (cached) for this device's library and loads it. */
  async compile(source: string, options?: SoOptions): Promise<DeviceModule> {
    return new DeviceModule(this, await this._loadSource(source, options, "device.compile"));
  }

  /** @internal Builds and loads `source` (the load waits for the main context). */
  async _loadSource(source: string, options: SoOptions | undefined, what: string): Promise<VeoLibrary> {
    this._checkOpen(what);
    if (typeof source !== "string" || source === "") {
      throw new TypeError(
        `Argument 0 (source) of ${what} must be a non-empty string of source code, got ${describeValue(source)}`,
      );
    }
    const loader = {
      veoLibrary: this.proc.veoLibrary,
      loadLibrary: async (path: string): Promise<VeoLibrary> => {
        await this._mainIdle();
        this._checkOpen(what);
        return this.proc.loadLibrary(path);
      },
    };
    return loadSource(loader, source, options);
  }

  /** A device array of `length` elements of `dtype`; its contents are undefined until written. */
  async empty<D extends DType>(dtype: D, length: number): Promise<DeviceArray<D>> {
    this._checkOpen("empty");
    const d = checkDType(dtype, "Argument 0 (dtype) of device.empty") as D;
    if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
      throw (typeof length === "number" ? RangeError : TypeError)(
        `Argument 1 (length) of device.empty must be a non-negative integer, got ${describeValue(length)}`,
      );
    }
    return newDeviceArray(this, d, length, await this._allocate(length * itemSize(d)));
  }

  /** Copies a host TypedArray to a new device array of the same dtype and length. */
  async upload<A extends HostArray>(host: A): Promise<DeviceArray<DTypeOf<A>>> {
    this._checkOpen("upload");
    const d = dtypeOf(host);
    if (d === undefined) {
      throw new TypeError(
        `Argument 0 (host) of device.upload must be a numeric TypedArray, got ${describeValue(host)}`,
      );
    }
    const arr = newDeviceArray(this, d, host.length, await this._allocate(host.byteLength));
    try {
      if (host.length > 0) await this._write(0, arr.ptr, host, "upload");
    } catch (err) {
      arr.free();
      throw err;
    }
    return arr as unknown as DeviceArray<DTypeOf<A>>;
  }

  /** Times `kernel` on the device (XTC's evaluator): see EvaluateOptions. */
  evaluate(
    kernel: DeviceKernel,
    args: readonly unknown[],
    options?: EvaluateOptions,
  ): Promise<EvaluateResult> {
    return evaluate(this, kernel, args, options);
  }

  /** Destroys the proc: pending requests reject with VeoClosedError. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.trace.stop();
    this.memory._forget();
    try {
      this.proc.destroy();
    } finally {
      this.lostSignal.destroyed(this.node);
    }
  }

  /** close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** `VeDevice(node N)`, with ", closed" or ", lost" when so. */
  toString(): string {
    return `VeDevice(node ${this.node}${this.isClosed ? ", closed" : this.proc.dead ? ", lost" : ""})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** @internal Throws VeoClosedError after close(). */
  _checkOpen(what: string): void {
    if (this.isClosed) throw new VeoClosedError(`${what}: device ${this.node} is closed`);
  }

  /** @internal Checks a context index. */
  _checkContext(index: unknown, label: string): number {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= this.ctxs.length) {
      throw (typeof index === "number" ? RangeError : TypeError)(
        `${label} must be a context index in [0, ${this.ctxs.length - 1}], got ${describeValue(index)}`,
      );
    }
    return index;
  }

  /** @internal Resolves once every request submitted on context 0 has settled. */
  async _mainIdle(): Promise<void> {
    while (this.lastMain !== undefined && !this.lastMain.settled) {
      await this.lastMain.then(noop, noop);
    }
  }

  /** @internal A pool block: a cached one at once, a new one once the main context is idle. */
  async _allocate(bytes: number): Promise<VeMemPtr> {
    const cached = this.memory.takeCached(bytes);
    if (cached) return cached;
    await this._mainIdle();
    this._checkOpen("allocate");
    return this.memory.allocate(bytes);
  }

  /**
   * @internal Runs `prepare` (which may wait, e.g. for memory) and then `submit`, after the
   * previous call on context `ctx` submitted: submissions keep the order of the calls.
   */
  _serial<T>(ctx: number, prepare: () => Promise<T>, submit: (prepared: T) => void): Promise<void> {
    const turn = this.submitted[ctx].then(prepare).then(submit);
    this.submitted[ctx] = turn.catch(noop);
    return turn;
  }

  /** @internal A request failed: tell device.lost if the process is gone. */
  _noticeFailure(err: unknown): void {
    this.lostSignal.noticeFailure(err);
  }

  /** @internal Submits a kernel call on context `ctx`. */
  _submitCall(ctx: number, fn: VeoFunction, values: unknown[]): PromiseLike<unknown> {
    const req = fn(this.ctxs[ctx], ...values);
    if (ctx === 0) this.lastMain = req;
    if (this.trace.enabled) this.trace._record("call", fn.name, 0, ctx, req);
    return req;
  }

  /** @internal Queues host → device on context `ctx`. */
  _submitWrite(ctx: number, dst: VeMemPtr, src: HostArray, name: string): PromiseLike<void> {
    const req = this.ctxs[ctx].asyncWriteMem(dst, src);
    if (ctx === 0) this.lastMain = req;
    if (this.trace.enabled) this.trace._record("write", name, src.byteLength, ctx, req);
    return req;
  }

  /** @internal Queues device → host on context `ctx`. */
  _submitRead(ctx: number, dst: HostArray, src: VeMemPtr, name: string): PromiseLike<void> {
    const req = this.ctxs[ctx].asyncReadMem(dst, src);
    if (ctx === 0) this.lastMain = req;
    if (this.trace.enabled) this.trace._record("read", name, dst.byteLength, ctx, req);
    return req;
  }

  /** @internal A write, in call order on context `ctx`, awaited; a failure tells device.lost. */
  _write(ctx: number, dst: VeMemPtr, src: HostArray, name: string): Promise<void> {
    return this.transfer(ctx, name, () => this._submitWrite(ctx, dst, src, name));
  }

  /** @internal A read, in call order on context `ctx`, awaited; a failure tells device.lost. */
  _read(ctx: number, dst: HostArray, src: VeMemPtr, name: string): Promise<void> {
    return this.transfer(ctx, name, () => this._submitRead(ctx, dst, src, name));
  }

  private async transfer(ctx: number, name: string, submit: () => PromiseLike<void>): Promise<void> {
    this._checkOpen(name);
    let req: PromiseLike<void> | undefined;
    try {
      await this._serial(ctx, resolved, () => {
        this._checkOpen(name);
        req = submit();
      });
      await req;
    } catch (err) {
      this._noticeFailure(err);
      throw err;
    }
  }
}

function noop(): void {}

function resolved(): Promise<void> {
  return Promise.resolve();
}
