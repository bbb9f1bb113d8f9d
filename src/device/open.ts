/*
 * openDevice(): checks its arguments, starts the VE process without blocking the event
 * loop (VeoProc.create), opens the contexts and hands them to a new VeDevice. A failure
 * after the process started destroys it again.
 */
import { describeValue } from "../ctypes.js";
import type { VeoCtxt } from "../context.js";
import { VeoProc } from "../proc.js";
import { VeDevice } from "./device.js";
import { checkLimit } from "./memory-pool.js";

/** Options of openDevice(). */
export interface OpenDeviceOptions {
  /** Contexts (queues) to open, default 1. More than one needs VE_OMP_NUM_THREADS=1 (a VEO rule). */
  contexts?: number;
  /** Cap on the memory pool (bytes in use + cached), default Infinity. */
  memoryLimit?: number;
  /** The VEO library (see loadVeo). */
  library?: string;
  /** A static helper (mk_veorun_static / VeBuild.buildVeorun output). */
  veorun?: string;
}

const MAX_CONTEXTS = 64;

function checkOptions(
  options: unknown,
): Required<Pick<OpenDeviceOptions, "contexts" | "memoryLimit">> & OpenDeviceOptions {
  if (options === undefined) return { contexts: 1, memoryLimit: Infinity };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Argument 1 (options) of openDevice must be an object, got ${describeValue(options)}`,
    );
  }
  const o = options as OpenDeviceOptions;
  const contexts = o.contexts ?? 1;
  if (
    typeof contexts !== "number" ||
    !Number.isInteger(contexts) ||
    contexts < 1 ||
    contexts > MAX_CONTEXTS
  ) {
    throw (typeof contexts === "number" ? RangeError : TypeError)(
      `options.contexts of openDevice must be an integer in [1, ${MAX_CONTEXTS}], got ${describeValue(contexts)}`,
    );
  }
  const memoryLimit = checkLimit(o.memoryLimit ?? Infinity, "options.memoryLimit of openDevice");
  return { ...o, contexts, memoryLimit };
}

/** Opens VE node `node` as a device (a proc with `options.contexts` contexts). */
export async function openDevice(node: number, options?: OpenDeviceOptions): Promise<VeDevice> {
  if (typeof node !== "number" || !Number.isInteger(node) || node < 0 || node > 0x7fffffff) {
    throw (typeof node === "number" ? RangeError : TypeError)(
      `Argument 0 (node) of openDevice must be a VE node number (an integer >= 0), got ${describeValue(node)}`,
    );
  }
  const o = checkOptions(options);
  const procOpts = {
    ...(o.library === undefined ? {} : { library: o.library }),
    ...(o.veorun === undefined ? {} : { veorun: o.veorun }),
  };
  const proc = await VeoProc.create(node, procOpts);
  try {
    const ctxs: VeoCtxt[] = [];
    for (let i = 0; i < o.contexts; i++) ctxs.push(proc.openContext());
    return new VeDevice(proc, ctxs, o.memoryLimit);
  } catch (err) {
    proc.destroy();
    throw err;
  }
}
