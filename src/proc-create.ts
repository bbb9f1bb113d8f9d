/*
 * Creating a VE process: the checks on VeoProc's arguments, the C call that starts the
 * process (blocking, or on the libuv pool for VeoProc.create), and the error that says why
 * it failed.
 */
import * as fs from "node:fs";

import { describeValue } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import type { ProcHandle } from "./native/api.js";
import { getNative, getNativeAsync, type VeoNative } from "./native/library.js";

/** Options of `new VeoProc(node, options)` and `VeoProc.create(node, options)`. */
export interface VeoProcOptions {
  /** A helper binary (mk_veorun_static output) to run instead of the default veorun. */
  veorun?: string;
  /** The VEO library to use (see loadVeo). */
  library?: string;
}

/** A started VE process, not yet wrapped in a VeoProc. */
export interface CreatedHandle {
  native: VeoNative;
  handle: ProcHandle;
}

export function checkNode(nodeid: unknown): number {
  if (typeof nodeid !== "number" || !Number.isInteger(nodeid) || nodeid < -1 || nodeid > 0x7fffffff) {
    throw (typeof nodeid === "number" ? RangeError : TypeError)(
      `Argument 0 (nodeid) must be a VE node number (an integer >= -1), got ${describeValue(nodeid)}`,
    );
  }
  return nodeid;
}

export function checkOptions(options: unknown): VeoProcOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Argument 1 (options) must be an object, got ${describeValue(options)}`);
  }
  const o = options as VeoProcOptions;
  if (o.veorun !== undefined && (typeof o.veorun !== "string" || o.veorun === "")) {
    throw new TypeError(`options.veorun must be a non-empty path string, got ${describeValue(o.veorun)}`);
  }
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

/** Starts the VE process on the calling thread (blocks while it starts). */
export function createHandle(nodeid: number, opts: VeoProcOptions): CreatedHandle {
  const native = nativeFor(opts);
  const api = native.api;
  const handle = opts.veorun ? api.veo_proc_create_static(nodeid, opts.veorun) : api.veo_proc_create(nodeid);
  if (!handle) throw creationError(native, nodeid, opts.veorun);
  return { native, handle };
}

/** Starts the VE process on the libuv pool, so the event loop keeps running. */
export async function createHandleAsync(nodeid: number, opts: VeoProcOptions): Promise<CreatedHandle> {
  // Discovery may build the emulator on first use: asynchronously here.
  const native = await getNativeAsync(opts.library === undefined ? {} : { library: opts.library });
  const api = native.api;
  const handle = await new Promise<ProcHandle>((resolve, reject) => {
    const cb = (err: unknown, h: ProcHandle): void => (err ? reject(err) : resolve(h));
    if (opts.veorun) api.veo_proc_create_static.async(nodeid, opts.veorun, cb);
    else api.veo_proc_create.async(nodeid, cb);
  });
  if (!handle) throw creationError(native, nodeid, opts.veorun);
  return { native, handle };
}
