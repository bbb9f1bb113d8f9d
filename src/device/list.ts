/*
 * listDevices(): every VE node this host can offload to. On a Vector Host that is what
 * sysfs shows; on the host emulator it is the emulator's virtual nodes (VEO_EMU_NODES,
 * default 4). Which one applies follows the library loadVeo() chose, unless a sysfs root
 * is given (tests, or a host whose sysfs is mounted elsewhere).
 */
import * as os from "node:os";

import { describeValue } from "../ctypes.js";
import { loadVeo } from "../native/library.js";
import type { DeviceInfo } from "./info.js";
import { readSysfsNode, sysfsNodes, SYSFS_ROOT } from "./sysfs.js";

/** Options of listDevices(). */
export interface ListDevicesOptions {
  /** Read VE nodes from this sysfs directory instead of asking which library is in use. */
  sysfsRoot?: string;
  /** The VEO library to ask (see loadVeo). */
  library?: string;
}

/** The emulator's node count: VEO_EMU_NODES as the emulator parses it (default 4). */
export function emulatorNodeCount(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.VEO_EMU_NODES;
  if (s !== undefined && /^\s*[+-]?\d+/.test(s)) {
    const n = Number.parseInt(s, 10);
    if (n >= 0 && n <= 0x7fffffff) return n;
  }
  return 4;
}

function emulatedNode(node: number): DeviceInfo {
  const cores = os.cpus().length;
  return {
    node,
    arch: "ve3",
    emulated: true,
    memoryBytes: os.totalmem(),
    cores,
    numaNodes: 1,
    numaCores: [cores],
    state: "online",
    veState: "online",
    model: undefined,
    type: undefined,
    sensors: { raw: {} },
  };
}

/** Every VE node, in node order. */
export function listDevices(options: ListDevicesOptions = {}): DeviceInfo[] {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Argument 0 (options) of listDevices must be an object, got ${describeValue(options)}`,
    );
  }
  const { sysfsRoot, library } = options;
  if (sysfsRoot !== undefined && (typeof sysfsRoot !== "string" || sysfsRoot === "")) {
    throw new TypeError(
      `options.sysfsRoot of listDevices must be a non-empty path string, got ${describeValue(sysfsRoot)}`,
    );
  }
  if (sysfsRoot !== undefined) return sysfsNodes(sysfsRoot).map((n) => readSysfsNode(sysfsRoot, n));
  const kind = loadVeo(library === undefined ? {} : { library }).kind;
  if (kind === "emulator") {
    return Array.from({ length: emulatorNodeCount() }, (_, n) => emulatedNode(n));
  }
  return sysfsNodes(SYSFS_ROOT).map((n) => readSysfsNode(SYSFS_ROOT, n));
}
