/*
 * VeoProc: one VE process. Owns its contexts, libraries and VE memory, and their lifetime:
 * destroy() (idempotent) rejects every pending request, then destroys the process; a kernel
 * fault marks the proc dead and rejects everything pending on it. Procs left alive are
 * destroyed at process exit; a FinalizationRegistry is only a safety net.
 */
import * as fs from "node:fs";
import type { Readable } from "node:stream";

import { ContextState } from "./constants.js";
import { VeoCtxt, type VePointer } from "./context.js";
import { internalNames, lockFields, lockMembers, notGenuine, ownOptions, refuseOverrides } from "./brand.js";
import { checkCString, describeValue } from "./ctypes.js";
import { VeoClosedError, VeoFailedError, VeoProcessDead } from "./errors.js";
import type { VeoFunction } from "./function.js";
import { runProcInitHooks } from "./hooks.js";
import { logEnabled, logInfo } from "./logging.js";
import { VeoLibrary } from "./library.js";
import { closeNotifier, notifierOf } from "./notify.js";
import type { HostBuffer, VeMemPtr } from "./memory.js";
import type { CtxHandle, ProcHandle, VeoApi } from "./native/api.js";
import { requireFunction, type VeoLibraryInfo, type VeoNative } from "./native/library.js";
import {
  checkNode,
  checkOptions,
  createHandle,
  createHandleAsync,
  type CreatedHandle,
  type VeoProcOptions,
} from "./proc-create.js";
import {
  helperEnd,
  helperOf,
  helperRunning,
  killGraceMs,
  killHelper,
  teardownDeadline,
  trackProc,
  untrackProc,
  type Helper,
  type Teardown,
  type VeoProcLost,
} from "./proc-lifetime.js";
import { signalName } from "./request.js";
import { adoptMem, allocHmem, allocMem, freeHmem, freeMem, readMem, writeMem } from "./proc-memory.js";
import { brands, ctxSlots, libSlots, MINT, procSlots } from "./slots.js";
import { pollUntil } from "./timeouts.js";
import {
  addHookListener,
  forgetProc,
  rememberProc,
  removeHookListener,
  type VeoHookEventType,
  type VeoHookListener,
} from "./veo-hooks.js";
import { loadSource, type SoOptions } from "./vebuild/index.js";

/** How often proc.lost looks at the VE process while someone listens (an unref'd timer). */
const LOST_POLL_MS = 100;
/** Polls of proc.lost's watcher that leave a gone helper's death to an awaited request. */
const LOST_REPORT_TICKS = 50;

/** Set by VeoProc.create for the constructor it calls (a handle made off the main thread). */
let preCreated: CreatedHandle | undefined;

let isProc: (v: unknown) => v is VeoProc;

/** @internal True for a VeoProc made by its constructor (not a forged look-alike). */
export function isVeoProc(v: unknown): v is VeoProc {
  return isProc(v);
}

/** Brand check of a VeoProc method's receiver. */
function genuine(p: unknown, method: string): asserts p is VeoProc {
  if (!isProc(p)) throw notGenuine("VeoProc", method, "use new VeoProc() or VeoProc.create()");
}

/**
 * The members veo-ts calls on its procs: each proc gets them as own, non-configurable
 * properties, so neither a subclass nor Object.defineProperty can make a destroyed proc
 * look alive (see lockMembers).
 */
let lockedMembers: readonly string[] | undefined;

function procMembers(): readonly string[] {
  return (lockedMembers ??= [
    ...internalNames(VeoProc.prototype),
    "destroyed",
    "dead",
    "destroy",
    "contexts",
    "libs",
    "identifier",
  ]);
}

/**
 * A VE process (py-veo's `VeoProc`) on one VE node: load libraries into it, allocate and move
 * its memory, open contexts to call kernels. `new VeoProc(node)` starts it synchronously,
 * `await VeoProc.create(node)` without blocking the event loop; `destroy()` (or `using`) ends
 * it.
 */
export class VeoProc {
  /** The VE node the process runs on. */
  readonly nodeid: number;
  readonly #native: VeoNative;
  // What C is handed: private, so user code cannot call VEO with it (see slots.ts).
  readonly #api: VeoApi;
  readonly #handle: ProcHandle;
  readonly #teardown: Teardown;
  #destroyed = false;
  #deathReason: string | undefined;
  /** Set while _died looks for a fault record before settling an inferred death. */
  #inferring = false;
  readonly #ctxs: VeoCtxt[] = [];
  readonly #libMap = new Map<string, VeoLibrary>();
  #mainCtx: CtxHandle | undefined;
  /** The VE process's host process, when the library tells its pid. */
  readonly #helper: Helper | undefined;
  readonly #graceMs: number;
  #lostInfo: VeoProcLost | undefined;
  #lostPromise: Promise<VeoProcLost> | undefined;
  #tellLost: ((info: VeoProcLost) => void) | undefined;
  #lostTimer: ReturnType<typeof setInterval> | undefined;

  static {
    isProc = (v): v is VeoProc => typeof v === "object" && v !== null && #ctxs in v;
    brands.proc = isProc;
    procSlots.handle = (p) => p.#handle;
    procSlots.api = (p) => p.#api;
    procSlots.native = (p) => p.#native;
    procSlots.died = (p, reason, how) => p.#died(reason, how);
  }
  /** What the kernels write to stdout, with `stdout: "pipe"` in the options; else null. */
  readonly stdout: Readable | null;
  /** What the kernels write to stderr, with `stderr: "pipe"` in the options; else null. */
  readonly stderr: Readable | null;

  /** Creates a VE process on `nodeid` (blocks while it starts; see VeoProc.create). */
  constructor(nodeid = 0, options?: VeoProcOptions) {
    const pre = preCreated;
    preCreated = undefined;
    if (new.target !== VeoProc)
      refuseOverrides(new.target.prototype, VeoProc.prototype, procMembers(), "VeoProc");
    this.nodeid = checkNode(nodeid);
    const opts = checkOptions(options);
    const created = pre ?? createHandle(this.nodeid, opts);
    this.#native = created.native;
    this.#handle = created.handle;
    this.#api = this.#native.api;
    this.stdout = (Object.hasOwn(created, "stdout") && created.stdout) || null;
    this.stderr = (Object.hasOwn(created, "stderr") && created.stderr) || null;
    this.#graceMs = killGraceMs(opts.killGraceMs);
    this.#helper = helperOf(this.#findHelperPid());
    this.#teardown = trackProc(this, this.#api, this.#handle, this.#helper);
    // The emulator's notify pipe end (one fd per proc until destroy()), opened with the proc
    // rather than at its first long await, so a proc's fds do not change while it is used.
    notifierOf(this, this.#api, this.#handle);
    lockFields(this, ["nodeid", "stdout", "stderr"]);
    lockMembers(this, VeoProc.prototype, procMembers());
    rememberProc(this);
    try {
      runProcInitHooks(this);
    } catch (err) {
      this.destroy();
      throw err;
    }
    if (logEnabled) logInfo(`veo_proc(${this.nodeid}) created`);
  }

  /** Creates a proc without blocking the event loop while the VE process starts. */
  static async create(nodeid = 0, options?: VeoProcOptions): Promise<VeoProc> {
    checkNode(nodeid);
    const opts = checkOptions(options, true);
    preCreated = await createHandleAsync(nodeid, opts);
    return new VeoProc(nodeid, { ...opts, timeoutMs: undefined, signal: undefined });
  }

  /** True once destroy() ran. */
  get destroyed(): boolean {
    genuine(this, "destroyed");
    return this.#destroyed;
  }

  /** True once the VE process died (kernel fault, helper killed). */
  get dead(): boolean {
    genuine(this, "dead");
    return this.#deathReason !== undefined;
  }

  /** @internal Usable: neither destroyed nor dead. */
  get _alive(): boolean {
    return !this.#destroyed && this.#deathReason === undefined;
  }

  /** @internal Throws VeoClosedError after destroy(), VeoProcessDead after death. */
  _check(): void {
    genuine(this, "_check");
    if (this.#destroyed) throw new VeoClosedError(`This VeoProc (node ${this.nodeid}) was destroyed`);
    if (this.#deathReason !== undefined) {
      throw new VeoProcessDead(`The VeoProc on node ${this.nodeid} is dead: ${this.#deathReason}`);
    }
  }

  /**
   * @internal The VE process died: reject everything pending on every context, tell
   * proc.lost. `how` is what is known of the death (else it is read from the host process).
   */
  #died(reason: string, how?: Pick<VeoProcLost, "reason" | "signal" | "exitCode">): void {
    if (!this._alive) return;
    if (how === undefined && !this.#inferring) {
      // Found gone, not told why: a kernel's fault may wait in a finished request's record
      // (its completion then calls #died again, with the signal).
      this.#inferring = true;
      try {
        for (const c of this.#ctxs) ctxSlots.pump(c).salvage();
      } catch {
        /* the rest is settled below */
      } finally {
        this.#inferring = false;
      }
      if (!this._alive) return;
    }
    const end = how ?? (this.#helper ? helperEnd(this.#helper) : {});
    // Learnt from the host process alone (no request told the fault): say what it showed.
    if (how === undefined) reason += deathDetail(end);
    this.#deathReason = reason;
    this.#settleLost({
      reason: how?.reason ?? (end.signal !== undefined ? "signaled" : "exited"),
      message: `The VeoProc on node ${this.nodeid} is dead: ${reason}`,
      ...(end.signal !== undefined && { signal: end.signal }),
      ...(end.exitCode !== undefined && { exitCode: end.exitCode }),
    });
    const err = new VeoProcessDead(`The VeoProc on node ${this.nodeid} is dead: ${reason}`);
    for (const c of this.#ctxs) {
      try {
        ctxSlots.pump(c).salvage();
      } catch {
        /* whatever cannot be collected is rejected below */
      }
      ctxSlots.pump(c).rejectAll(err, true);
      c._cancelCallbacks();
    }
  }

  /** Does any context have an awaited request (whose completion reports a death)? */
  #awaited(): boolean {
    return this.#ctxs.some((c) => !c._closed && ctxSlots.pump(c).waiting > 0);
  }

  /** @internal After a failed synchronous call: is the VE process gone? */
  _probeDead(): boolean {
    if (!this._alive) return !this.#destroyed;
    const api = this.#api;
    const open = this.#ctxs.find((c) => !c._closed);
    let ctx = open && ctxSlots.handle(open);
    if (!ctx && api.veo_num_contexts && api.veo_get_context && api.veo_num_contexts(this.#handle) > 0) {
      ctx = api.veo_get_context(this.#handle, 0);
    }
    if (ctx) return api.veo_get_context_state(ctx) === ContextState.EXIT;
    return this.#helperGone();
  }

  /** No context to ask: is the VE process's host process gone? */
  #helperGone(): boolean {
    return this.#helper !== undefined && !helperRunning(this.#helper);
  }

  /**
   * The VE process's host pid: the emulator says it (veo_emu_proc_pid); AVEO >= 13 through
   * the proc's HMEM identity.
   */
  #findHelperPid(): number | undefined {
    const api = this.#api;
    if (api.veo_emu_proc_pid) return api.veo_emu_proc_pid(this.#handle);
    if (!api.veo_proc_identifier || !api.veo_set_proc_identifier || !api.veo_get_pid_from_hmem)
      return undefined;
    const ident = api.veo_proc_identifier(this.#handle);
    if (ident < 0 || ident > 15) return undefined;
    const tagged = api.veo_set_proc_identifier(1, ident);
    if (tagged === null) return undefined;
    return api.veo_get_pid_from_hmem(tagged);
  }

  /**
   * Resolves when the VE process ends, with why (see VeoProcLost): destroy(), a kernel fault,
   * the process killed or exited. While someone holds this promise, a cheap unref'd timer
   * notices a VE process that died with nothing pending. Never rejects.
   */
  get lost(): Promise<VeoProcLost> {
    genuine(this, "lost");
    if (this.#lostPromise === undefined) {
      this.#lostPromise = new Promise<VeoProcLost>((resolve) => (this.#tellLost = resolve));
      if (this.#lostInfo !== undefined) this.#settleLost(this.#lostInfo, true);
      else if (this.#helper !== undefined) this.#watchHelper(this.#helper);
    }
    return this.#lostPromise;
  }

  #watchHelper(helper: Helper): void {
    const self = new WeakRef(this);
    let gone = 0;
    const timer = setInterval(() => {
      const proc = self.deref();
      if (proc === undefined || !proc._alive) clearInterval(timer);
      else if (helperRunning(helper)) gone = 0;
      // An awaited request will report the death itself, with the kernel's fault if that
      // was the cause: wait for it (a while: its wait returns once the library reaps).
      else if (++gone > LOST_REPORT_TICKS || !proc.#awaited()) proc.#died("the VE process has exited");
    }, LOST_POLL_MS);
    timer.unref();
    this.#lostTimer = timer;
  }

  #settleLost(info: VeoProcLost, again = false): void {
    if (this.#lostInfo !== undefined && !again) return;
    this.#lostInfo = info;
    if (this.#lostTimer !== undefined) clearInterval(this.#lostTimer);
    this.#lostTimer = undefined;
    this.#tellLost?.(info);
    this.#tellLost = undefined;
  }

  /** @internal What may still run on `ctxs`: each one's newest pending request (see _endBusy). */
  _pendingWork(ctxs: readonly VeoCtxt[]): Array<[VeoCtxt, number]> {
    const work: Array<[VeoCtxt, number]> = [];
    if (!this._alive) return work;
    for (const c of ctxs) {
      const id = c._closed ? undefined : ctxSlots.pump(c).pendingId();
      if (id !== undefined) work.push([c, id]);
    }
    return work;
  }

  /**
   * @internal Teardown (its requests already rejected): waits until `deadline` for the
   * commands of `work` (from _pendingWork) to finish in the VE process, then kills the VE
   * process. Returns true if it was killed (false: nothing ran on, or the pid is unknown and
   * the library must end it). `who` names the teardown in messages.
   */
  _endBusy(work: Array<[VeoCtxt, number]>, deadline: number, who: string): boolean {
    let left = work;
    const finished = (): boolean =>
      (left = left.filter(([c, id]) => ctxSlots.pump(c).stillRunning(id))).length === 0;
    if (left.length === 0 || !this._alive || pollUntil(finished, deadline)) return false;
    const helper = this.#helper;
    if (helper === undefined || !killHelper(helper)) return false;
    pollUntil(() => !helperRunning(helper), performance.now() + 1000);
    // destroy() tells proc.lost itself.
    if (who !== "destroy()") {
      this.#died(`${who} killed it: a kernel still ran after the grace period (${this.#graceMs} ms)`, {
        reason: "signaled",
        signal: 9,
      });
    }
    return true;
  }

  /** @internal The grace period of this proc's teardown, in ms. */
  get _graceMs(): number {
    return this.#graceMs;
  }

  /** @internal After a failed call: throw VeoProcessDead (and mark dead) if the process is gone. */
  _checkAfterFailure(): void {
    if (this._probeDead()) {
      this.#died("the VE process has exited");
      this._check();
    }
  }

  /** Which libveo this proc runs on, and why it was chosen (see loadVeo). */
  get veoLibrary(): VeoLibraryInfo {
    genuine(this, "veoLibrary");
    return this.#native.info;
  }

  /**
   * The open contexts, in VEO's order (veo_num_contexts / veo_get_context where the library
   * has them: the main context first, then in opening order), else in opening order.
   */
  get contexts(): readonly VeoCtxt[] {
    genuine(this, "contexts");
    const api = this.#api;
    if (!this._alive || !api.veo_num_contexts || !api.veo_get_context) return this.#ctxs.slice();
    const n = api.veo_num_contexts(this.#handle);
    const out: VeoCtxt[] = [];
    for (let i = 0; i < n; i++) {
      const h = api.veo_get_context(this.#handle, i);
      const c = this.#ctxs.find((x) => ctxSlots.handle(x) === h);
      if (c) out.push(c);
    }
    return out;
  }

  /**
   * @internal Before a synchronous call that VEO runs on the main context (memory, library,
   * callSync): runs the callVh functions queued there, which it would otherwise wait behind.
   */
  _syncPoint(what: string): void {
    if (this.#mainCtx === undefined) return;
    for (const c of this.#ctxs) {
      if (ctxSlots.handle(c) === this.#mainCtx && c._vh !== 0) {
        c._beforeBlock(Infinity, what);
        // The callVh functions that ran may have destroyed this proc: C must not see it then.
        this._check();
        return;
      }
    }
  }

  /**
   * Calls `listener` (on the main thread, asynchronously, in order) each time VE memory is
   * allocated or freed on this proc: "alloc"/"free" (allocMem/freeMem, and the VE memory
   * behind allocHmem/freeHmem), "allocHmem"/"freeHmem", "allocAsync"/"freeAsync" (the
   * requests of ctx.allocMemAsync/freeMemAsync, when they complete). Chainable.
   */
  on(event: VeoHookEventType, listener: VeoHookListener): this {
    genuine(this, "on");
    addHookListener(this, event, listener);
    return this;
  }

  /** Removes a listener added with on() (no-op if it is not registered). Chainable. */
  off(event: VeoHookEventType, listener: VeoHookListener): this {
    genuine(this, "off");
    removeHookListener(this, event, listener);
    return this;
  }

  /** Loaded libraries, by the name they were loaded with. */
  get libs(): ReadonlyMap<string, VeoLibrary> {
    genuine(this, "libs");
    return new Map(this.#libMap);
  }

  /** @internal */
  _forgetContext(ctx: VeoCtxt): void {
    const i = this.#ctxs.indexOf(ctx);
    if (i >= 0) this.#ctxs.splice(i, 1);
  }

  /** @internal */
  _forgetLibrary(lib: VeoLibrary): void {
    if (this.#libMap.get(lib.name) === lib) this.#libMap.delete(lib.name);
  }

  /**
   * Builds `source` with VeBuild (cached; the toolchain matches this proc's libveo) and loads
   * it. Rejects with VeBuildError when the build fails.
   */
  async loadSource(source: string | URL, opts: SoOptions = {}): Promise<VeoLibrary> {
    genuine(this, "loadSource");
    return loadSource(this, source, opts);
  }

  /** Loads a VE shared library (use an absolute path). Loading a path again returns the same library. */
  loadLibrary(path: string): VeoLibrary {
    genuine(this, "loadLibrary");
    if (typeof path !== "string" || path === "") {
      throw new TypeError(
        `Argument 0 (path) of loadLibrary must be a non-empty string, got ${describeValue(path)}`,
      );
    }
    checkCString(path, "Argument 0 (path) of loadLibrary");
    this._check();
    const known = this.#libMap.get(path);
    if (known) return known;
    this._syncPoint("loadLibrary");
    const h = this.#api.veo_load_library(this.#handle, path);
    if (h === 0 || h === 0n) {
      this._checkAfterFailure();
      const why = !fs.existsSync(path)
        ? ": no such file"
        : path.startsWith("/")
          ? " (see the VE process's output for the loader error)"
          : " (relative paths are resolved by the VE process; pass an absolute path)";
      throw new VeoFailedError("veo_load_library", `veo_load_library("${path}") failed${why}`);
    }
    const lib = new VeoLibrary(this, path, h, MINT);
    this.#libMap.set(path, lib);
    return lib;
  }

  /** Unloads `lib` (same as lib.unload()). */
  unloadLibrary(lib: VeoLibrary): void {
    genuine(this, "unloadLibrary");
    if (!(lib instanceof VeoLibrary)) {
      throw new TypeError(
        `Argument 0 (lib) of unloadLibrary must be a VeoLibrary, got ${describeValue(lib)}`,
      );
    }
    if (lib.proc !== this) throw new TypeError("Argument 0 (lib) of unloadLibrary belongs to another proc");
    lib.unload();
  }

  /** The functions and symbols linked into the proc's helper (veorun), library handle 0. */
  staticLibrary(): VeoLibrary {
    genuine(this, "staticLibrary");
    this._check();
    let lib = this.#libMap.get("__static__");
    if (!lib) {
      lib = new VeoLibrary(this, "__static__", 0, MINT);
      this.#libMap.set("__static__", lib);
    }
    return lib;
  }

  /**
   * Finds `name` among the functions of the loaded libraries (cached ones first, then by
   * lookup in each library). Throws VeoFailedError if no library has it.
   */
  getFunction(name: string): VeoFunction {
    genuine(this, "getFunction");
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Argument 0 (name) of getFunction must be a non-empty string, got ${describeValue(name)}`,
      );
    }
    checkCString(name, "Argument 0 (name) of getFunction");
    this._check();
    for (const lib of this.#libMap.values()) {
      const f = lib.func.get(name);
      if (f) return f;
    }
    for (const lib of this.#libMap.values()) {
      try {
        return lib.findFunction(name);
      } catch (err) {
        if (!(err instanceof VeoFailedError)) throw err;
      }
    }
    throw new VeoFailedError("veo_get_sym", `No loaded library of this proc has a function "${name}"`);
  }

  /** Allocates `size` bytes of VE memory. */
  allocMem(size: number): VeMemPtr {
    genuine(this, "allocMem");
    return allocMem(this, size);
  }

  /**
   * Registers VE memory veo-ts did not allocate (say, a kernel's malloc) as a live block of
   * `size` bytes: freeMem then accepts it, and transfers through the pointer are
   * bounds-checked.
   */
  adoptMem(addr: bigint | number, size: number): VeMemPtr {
    genuine(this, "adoptMem");
    return adoptMem(this, addr, size);
  }

  /** Allocates `size` bytes of VE memory as an HMEM address (bigint, tagged with the proc). */
  allocHmem(size: number): bigint {
    genuine(this, "allocHmem");
    return allocHmem(this, size);
  }

  /** Frees an HMEM address from allocHmem. */
  freeHmem(addr: bigint): void {
    genuine(this, "freeHmem");
    freeHmem(this, addr);
  }

  /** Frees VE memory from allocMem (a VeMemPtr, or a raw address). */
  freeMem(ptr: VePointer): void {
    genuine(this, "freeMem");
    freeMem(this, ptr);
  }

  /** Copies `size` bytes (default: all of `dst`) from VE memory `src` into `dst`. */
  readMem(dst: HostBuffer, src: VePointer, size?: number): void {
    genuine(this, "readMem");
    readMem(this, dst, src, size);
  }

  /** Copies `size` bytes (default: all of `src`) from `src` into VE memory `dst`. */
  writeMem(dst: VePointer, src: HostBuffer, size?: number): void {
    genuine(this, "writeMem");
    writeMem(this, dst, src, size);
  }

  /**
   * Opens a context. The first one is VEO's main context; more need VE_OMP_NUM_THREADS=1
   * in the environment (a VEO rule). `stackSize` (bytes, at least 4 MiB; VEO's default is
   * 128 MiB) sets the VE thread's stack (veo_context_open_with_attr); VEO ignores it for
   * the main context, which the first open returns.
   */
  openContext(options?: { stackSize?: number }): VeoCtxt {
    genuine(this, "openContext");
    const stackSize = checkContextOptions(options);
    this._check();
    this._syncPoint("openContext");
    const h =
      stackSize === undefined ? this.#api.veo_context_open(this.#handle) : this.#openWithAttr(stackSize);
    if (!h) {
      this._checkAfterFailure();
      const omp = process.env.VE_OMP_NUM_THREADS;
      const many = (this.#api.veo_num_contexts?.(this.#handle) ?? this.#ctxs.length) > 0;
      if (many && omp !== "1") {
        throw new VeoFailedError(
          "veo_context_open",
          "veo_context_open failed: a second context needs the environment variable VE_OMP_NUM_THREADS=1 " +
            `(it is ${omp === undefined ? "unset" : `"${omp}"`}); set it before opening more contexts`,
        );
      }
      throw new VeoFailedError("veo_context_open", "veo_context_open failed");
    }
    const known = this.#ctxs.find((c) => ctxSlots.handle(c) === h);
    if (known) return known;
    const ctx = new VeoCtxt(this, h, this.#api, MINT);
    this.#mainCtx ??= h;
    this.#ctxs.push(ctx);
    return ctx;
  }

  #openWithAttr(stackSize: number): CtxHandle {
    const n = this.#native;
    const alloc = requireFunction(n, "veo_alloc_thr_ctxt_attr");
    const set = requireFunction(n, "veo_set_thr_ctxt_stacksize");
    const free = requireFunction(n, "veo_free_thr_ctxt_attr");
    const open = requireFunction(n, "veo_context_open_with_attr");
    const attr = alloc();
    if (!attr) throw new VeoFailedError("veo_alloc_thr_ctxt_attr", "veo_alloc_thr_ctxt_attr failed");
    try {
      const rc = set(attr, stackSize);
      if (rc !== 0) {
        throw new VeoFailedError(
          "veo_set_thr_ctxt_stacksize",
          `veo_set_thr_ctxt_stacksize(${stackSize}) failed (${rc})`,
        );
      }
      return open(this.#handle, attr);
    } finally {
      free(attr);
    }
  }

  /** Closes `ctx` (same as ctx.close()). */
  closeContext(ctx: VeoCtxt): void {
    genuine(this, "closeContext");
    if (!(ctx instanceof VeoCtxt)) {
      throw new TypeError(`Argument 0 (ctx) of closeContext must be a VeoCtxt, got ${describeValue(ctx)}`);
    }
    if (ctx.proc !== this) throw new TypeError("Argument 0 (ctx) of closeContext belongs to another proc");
    ctx.close();
  }

  /** veo_proc_identifier: the proc's index in VEO's process list. */
  get identifier(): number {
    genuine(this, "identifier");
    this._check();
    const f = requireFunction(this.#native, "veo_proc_identifier");
    const id = f(this.#handle);
    if (id < 0) throw new VeoFailedError("veo_proc_identifier", "veo_proc_identifier failed: proc not found");
    return id;
  }

  /** py-veo's i64_to_addr: reinterprets a signed 64-bit value as an address (-2 → 2**64-2). */
  i64ToAddr(value: bigint | number): bigint {
    genuine(this, "i64ToAddr");
    const v = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
    if (typeof v !== "bigint" || v < -(2n ** 63n) || v >= 2n ** 63n) {
      throw new RangeError(
        `Argument 0 (value) of i64ToAddr must be a 64-bit signed integer, got ${describeValue(value)}`,
      );
    }
    return BigInt.asUintN(64, v);
  }

  /** veo_set_proc_identifier: `addr` tagged as an HMEM address of proc identifier `ident`. */
  setProcIdentifier(addr: bigint, ident: number): bigint {
    genuine(this, "setProcIdentifier");
    this._check();
    if (typeof addr !== "bigint" || addr < 0n || addr >= 2n ** 64n) {
      throw new TypeError(
        `Argument 0 (addr) of setProcIdentifier must be an address (bigint), got ${describeValue(addr)}`,
      );
    }
    if (!Number.isInteger(ident) || ident < 0 || ident > 15) {
      throw new RangeError(
        `Argument 1 (ident) of setProcIdentifier must be an integer in [0, 15], got ${describeValue(ident)}`,
      );
    }
    const f = requireFunction(this.#native, "veo_set_proc_identifier");
    const r = f(addr, ident);
    if (r === null) throw new VeoFailedError("veo_set_proc_identifier", "veo_set_proc_identifier failed");
    return BigInt.asUintN(64, BigInt(r));
  }

  /** @internal The emulator helper's pid (tests kill it on purpose), or undefined. */
  _helperPid(): number | undefined {
    const f = this.#api.veo_emu_proc_pid;
    if (!f || this.#destroyed) return undefined;
    const pid = f(this.#handle);
    return pid > 0 ? pid : undefined;
  }

  /**
   * Destroys the VE process: pending requests reject with VeoClosedError, contexts and
   * libraries close. Idempotent.
   */
  destroy(): void {
    genuine(this, "destroy");
    if (this.#destroyed) return;
    const work = this._pendingWork(this.#ctxs);
    const err = new VeoClosedError(
      `The VeoProc (node ${this.nodeid}) was destroyed before the request finished`,
    );
    for (const c of this.#ctxs) ctxSlots.shutdown(c, err);
    // Kernels still running get the grace period, then the VE process is killed.
    const killed = this._endBusy(work, teardownDeadline(this.#graceMs), "destroy()");
    const wasAlive = this.#deathReason === undefined && !killed;
    const ctxs = this.#ctxs.splice(0);
    this.#destroyed = true;
    untrackProc(this.#teardown);
    forgetProc(this);
    for (const lib of [...this.#libMap.values()]) libSlots.release(lib);
    if (wasAlive) {
      // VEO closes the main context (the first one opened) with the proc.
      for (const c of ctxs) {
        if (ctxSlots.handle(c) !== this.#mainCtx && ctxSlots.pump(c).target === null) {
          try {
            this.#api.veo_context_close(ctxSlots.handle(c));
          } catch {
            /* destroyed below anyway */
          }
        }
      }
    }
    closeNotifier(this);
    const rc = this.#api.veo_proc_destroy(this.#handle);
    this.#settleLost({
      reason: "destroyed",
      message: killed
        ? `The VeoProc on node ${this.nodeid} was destroyed; a kernel still ran after the grace period (${this.#graceMs} ms), so its VE process was killed`
        : `The VeoProc on node ${this.nodeid} was destroyed`,
    });
    if (rc !== 0) throw new VeoFailedError("veo_proc_destroy", `veo_proc_destroy failed (${rc})`);
    if (logEnabled) logInfo(`veo_proc(${this.nodeid}) destroyed`);
  }

  /** Same as destroy(). */
  [Symbol.dispose](): void {
    this.destroy();
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** A short description for logs: the node and the state. */
  toString(): string {
    if (!isProc(this)) return "VeoProc(forged)";
    return `VeoProc(node ${this.nodeid}${this.#destroyed ? ", destroyed" : this.dead ? ", dead" : ""})`;
  }
}

const MIN_STACK = 4 * 1024 * 1024;

function checkContextOptions(options: unknown): number | undefined {
  const size = ownOptions(options, ["stackSize"], "Argument 0 (options) of openContext").stackSize;
  if (size === undefined) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < MIN_STACK) {
    throw new RangeError(
      `options.stackSize of openContext must be an integer number of bytes >= ${MIN_STACK} (4 MiB), got ${describeValue(size)}`,
    );
  }
  return size;
}

export type { VeoProcOptions };

Object.freeze(VeoProc.prototype);

/**
 * How the helper ended, for a death message: its signal, or its exit code (the emulator's
 * helper exits with 128 + the signal a kernel died of).
 */
function deathDetail(end: Pick<VeoProcLost, "signal" | "exitCode">): string {
  if (end.signal !== undefined) return ` (killed by ${signalName(end.signal)})`;
  const code = end.exitCode;
  if (code === undefined) return "";
  return code > 128 && code < 160
    ? ` (exit code ${code}: a kernel died of ${signalName(code - 128)})`
    : ` (exit code ${code})`;
}
