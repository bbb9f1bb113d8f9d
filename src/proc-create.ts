/*
 * Creating a VE process: the checks on VeoProc's arguments, the C call that starts the
 * process (blocking, or on the libuv pool for VeoProc.create), and the error that says why
 * it failed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import type { Readable } from "node:stream";

import { ownOptions } from "./brand.js";
import { describeValue } from "./ctypes.js";
import { VeoFailedError, VeoTimeoutError } from "./errors.js";
import type { ProcHandle } from "./native/api.js";
import { closeFd, openPipe, openStdioWindow } from "./native/fds.js";
import { getNative, getNativeAsync, type VeoNative } from "./native/library.js";
import { checkTimeout, checkWaitOptions, raceWait, timeoutError } from "./timeouts.js";

/** Options of `new VeoProc(node, options)` and `VeoProc.create(node, options)`. */
export interface VeoProcOptions {
  /** A helper binary (mk_veorun_static output) to run instead of the default veorun. */
  veorun?: string;
  /** The VEO library to use (see loadVeo). */
  library?: string;
  /**
   * Where the kernels' stdout goes: "inherit" (default: the host's stdout, as in C) or "pipe"
   * (readable as `proc.stdout`).
   */
  stdout?: "inherit" | "pipe";
  /** Where the kernels' stderr goes: "inherit" (default) or "pipe" (`proc.stderr`). */
  stderr?: "inherit" | "pipe";
  /**
   * How long destroy(), ctx.close() and exit wait for a running kernel before killing the VE
   * process, in ms (default: env VEO_KILL_GRACE_MS, else 1000).
   */
  killGraceMs?: number;
  /**
   * VeoProc.create only: give up after this many ms with VeoTimeoutError (default: env
   * VEO_CREATE_TIMEOUT_MS, else 5000; Infinity: no limit).
   */
  timeoutMs?: number;
  /** VeoProc.create only: give up when this signal aborts. */
  signal?: AbortSignal;
}

/** A started VE process, not yet wrapped in a VeoProc. */
export interface CreatedHandle {
  native: VeoNative;
  handle: ProcHandle;
  stdout?: Readable;
  stderr?: Readable;
}

/** How long VeoProc.create waits for the VE process when neither option nor env says. */
export const DEFAULT_CREATE_TIMEOUT_MS = 5000;

export function checkNode(nodeid: unknown): number {
  if (typeof nodeid !== "number" || !Number.isInteger(nodeid) || nodeid < -1 || nodeid > 0x7fffffff) {
    throw (typeof nodeid === "number" ? RangeError : TypeError)(
      `Argument 0 (nodeid) must be a VE node number (an integer >= -1), got ${describeValue(nodeid)}`,
    );
  }
  return nodeid;
}

/** Checks VeoProc's options; `forCreate` allows the options only VeoProc.create can honour. */
export function checkOptions(options: unknown, forCreate = false): VeoProcOptions {
  // Own properties only: a polluted Object.prototype must not pipe stdout or pick a library.
  const o = ownOptions(
    options,
    ["veorun", "library", "stdout", "stderr", "killGraceMs", "timeoutMs", "signal"],
    "Argument 1 (options)",
  ) as VeoProcOptions;
  if (o.veorun !== undefined && (typeof o.veorun !== "string" || o.veorun === "")) {
    throw new TypeError(`options.veorun must be a non-empty path string, got ${describeValue(o.veorun)}`);
  }
  for (const name of ["stdout", "stderr"] as const) {
    const v = o[name];
    if (v !== undefined && v !== "inherit" && v !== "pipe") {
      throw new TypeError(`options.${name} must be "inherit" or "pipe", got ${describeValue(v)}`);
    }
  }
  checkTimeout(o.killGraceMs, "options.killGraceMs");
  if (o.killGraceMs === Infinity) throw new RangeError("options.killGraceMs must be finite, got Infinity");
  if (!forCreate && (o.timeoutMs !== undefined || o.signal !== undefined)) {
    throw new TypeError(
      "options.timeoutMs and options.signal apply to VeoProc.create only: the constructor blocks " +
        "until the VE process started (bounded by the library itself)",
    );
  }
  checkWaitOptions({ timeoutMs: o.timeoutMs, signal: o.signal }, "VeoProc.create");
  return o;
}

function creationError(native: VeoNative, nodeid: number, veorun: string | undefined): VeoFailedError {
  const call = veorun ? `veo_proc_create_static(${nodeid}, ${veorun})` : `veo_proc_create(${nodeid})`;
  let hint = "";
  if (veorun && !fs.existsSync(veorun)) hint = `: ${veorun} does not exist`;
  else if (native.info.kind === "emulator") {
    hint = ` (emulator: nodes 0..VEO_EMU_NODES-1 exist, VEO_EMU_NODES=${process.env.VEO_EMU_NODES ?? "4 (default)"})`;
  }
  return new VeoFailedError(veorun ? "veo_proc_create_static" : "veo_proc_create", `${call} failed${hint}`);
}

function nativeFor(opts: VeoProcOptions): VeoNative {
  return getNative(opts.library === undefined ? {} : { library: opts.library });
}

/** The kernel output pipes being set up around one creation. */
interface Outputs {
  /** Restores fds 0-2 (and closes our copies of the pipes' write ends). */
  close(): void;
  /** The read ends as streams, once the VE process holds the write ends. */
  streams(): Pick<CreatedHandle, "stdout" | "stderr">;
  /** Creation failed: close everything. */
  abandon(): void;
}

/**
 * Opens the inheritance window for a creation: 0-2 inheritable, and 1/2 on fresh pipes for
 * the streams asked "pipe".
 */
function openOutputs(opts: VeoProcOptions): Outputs {
  const pipes: Array<[fd: 1 | 2, read: number, write: number]> = [];
  let close: () => void;
  try {
    if (opts.stdout === "pipe") pipes.push([1, ...openPipe()]);
    if (opts.stderr === "pipe") pipes.push([2, ...openPipe()]);
    close = openStdioWindow(Object.fromEntries(pipes.map(([fd, , w]) => [fd, w])));
  } catch (err) {
    for (const [, r, w] of pipes) {
      closeFd(r);
      closeFd(w);
    }
    throw err;
  }
  const closeAll = (): void => {
    close();
    for (const [, , w] of pipes) closeFd(w);
  };
  return {
    close: closeAll,
    streams() {
      // Both keys own (undefined when not piped): never read through Object.prototype.
      const out: Pick<CreatedHandle, "stdout" | "stderr"> = { stdout: undefined, stderr: undefined };
      for (const [fd, r] of pipes) {
        const s = new net.Socket({ fd: r, readable: true, writable: false });
        // Kernel output never keeps Node alive by itself.
        s.unref();
        if (fd === 1) out.stdout = s;
        else out.stderr = s;
      }
      return out;
    },
    abandon() {
      for (const [, r] of pipes) closeFd(r);
    },
  };
}

const wantsPipe = (o: VeoProcOptions): boolean => o.stdout === "pipe" || o.stderr === "pipe";

/** Creations on the pool in flight; a "pipe" one needs them all done and holds the rest off. */
const inFlight = new Set<Promise<unknown>>();
let pipeWindow: Promise<unknown> | undefined;

/** Starts the VE process on the calling thread (blocks while it starts). */
export function createHandle(nodeid: number, opts: VeoProcOptions): CreatedHandle {
  if (pipeWindow !== undefined) {
    throw new VeoFailedError(
      "veo_proc_create",
      'new VeoProc: a VeoProc.create with stdout/stderr "pipe" is starting its VE process right now ' +
        "(fds 1/2 point at its pipes); await it before creating another proc",
    );
  }
  const native = nativeFor(opts);
  const api = native.api;
  const outputs = openOutputs(opts);
  let handle: ProcHandle;
  try {
    handle = opts.veorun ? api.veo_proc_create_static(nodeid, opts.veorun) : api.veo_proc_create(nodeid);
  } finally {
    outputs.close();
  }
  if (!handle) {
    outputs.abandon();
    throw creationError(native, nodeid, opts.veorun);
  }
  return { native, handle, ...outputs.streams() };
}

/**
 * Starts the VE process on the libuv pool, so the event loop keeps running. Gives up after
 * the timeout or on abort at once; a VE process that starts after that is destroyed.
 */
export async function createHandleAsync(nodeid: number, opts: VeoProcOptions): Promise<CreatedHandle> {
  // Discovery may build the emulator on first use: asynchronously here.
  const native = await getNativeAsync(opts.library === undefined ? {} : { library: opts.library });
  const api = native.api;
  const pipe = wantsPipe(opts);
  const timeoutMs = opts.timeoutMs ?? defaultCreateTimeout();
  const deadline = performance.now() + timeoutMs;
  const what = `VeoProc.create(${nodeid})`;
  // Wait for the turn: a "pipe" window is exclusive (every fork in it would get the pipe).
  for (;;) {
    const before = pipe ? [...inFlight, pipeWindow] : [pipeWindow];
    const busy = before.filter((p) => p !== undefined);
    if (busy.length === 0) break;
    const left = Math.max(0, deadline - performance.now());
    try {
      await raceWait(Promise.allSettled(busy), { timeoutMs: left, signal: opts.signal }, what);
    } catch (err) {
      throw err instanceof VeoTimeoutError ? timeoutError(what, timeoutMs) : err;
    }
  }
  const waitOpts = { timeoutMs: Math.max(0, deadline - performance.now()), signal: opts.signal };
  const outputs = openOutputs(opts);
  const release = pipe ? holdHostOutput() : undefined;
  const started = new Promise<ProcHandle>((resolve, reject) => {
    const cb = (err: unknown, h: ProcHandle): void => (err ? reject(err) : resolve(h));
    if (opts.veorun) api.veo_proc_create_static.async(nodeid, opts.veorun, cb);
    else api.veo_proc_create.async(nodeid, cb);
  });
  const window = started.then(
    () => undefined,
    () => undefined,
  );
  const done = window.then(() => {
    outputs.close();
    release?.();
    inFlight.delete(window);
    if (pipeWindow === window) pipeWindow = undefined;
  });
  inFlight.add(window);
  if (pipe) pipeWindow = window;
  let handle: ProcHandle;
  try {
    handle = await raceWait(started, waitOpts, what);
  } catch (err) {
    // Too late for the caller: whatever starts now is ended at once.
    void done.then(() =>
      started.then(
        (h) => {
          outputs.abandon();
          if (h) api.veo_proc_destroy(h);
        },
        () => outputs.abandon(),
      ),
    );
    throw err instanceof VeoTimeoutError ? timeoutError(what, timeoutMs) : err;
  }
  await done;
  if (!handle) {
    outputs.abandon();
    throw creationError(native, nodeid, opts.veorun);
  }
  return { native, handle, ...outputs.streams() };
}

function defaultCreateTimeout(): number {
  const env = process.env.VEO_CREATE_TIMEOUT_MS;
  const v = Number(env);
  return env !== undefined && env !== "" && v >= 0 ? v : DEFAULT_CREATE_TIMEOUT_MS;
}

/**
 * While a "pipe" creation's window is open, fds 1/2 are the pipes: what Node itself writes
 * to process.stdout/stderr then is held back, and written once the window closes.
 */
function holdHostOutput(): () => void {
  const held: Array<[NodeJS.WriteStream, unknown[]]> = [];
  const streams = [process.stdout, process.stderr];
  const own = streams.map((s) => Object.getOwnPropertyDescriptor(s, "write"));
  for (const s of streams) {
    s.write = (...args: unknown[]) => {
      held.push([s, args]);
      return true;
    };
  }
  return () => {
    streams.forEach((s, i) => {
      const d = own[i];
      if (d) Object.defineProperty(s, "write", d);
      else delete (s as Partial<NodeJS.WriteStream>).write;
    });
    for (const [s, args] of held) (s.write as (...a: unknown[]) => boolean)(...args);
  };
}
