/*
 * The node list `veo smi` and `veo info` show. It stands in for listDevices() from
 * src/device (branch `devices`), which reports the same fields: once that is on main,
 * nodeList() becomes `() => listDevices()` and this file shrinks to the type.
 * Emulated nodes: VEO_EMU_NODES (default 4), each with the host's memory and CPUs.
 * Real nodes: what the VE driver shows under /sys/class/ve/veN.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { loadVeo } from "../index.js";

export interface NodeInfo {
  node: number;
  arch: "ve1" | "ve3" | "unknown";
  emulated: boolean;
  memoryBytes: number | undefined;
  cores: number | undefined;
  state: "online" | "offline" | "initializing" | "terminating" | "unknown";
  sensors: { raw: Record<string, number> };
}

const SYSFS = "/sys/class/ve";
const OS_STATES = ["online", "offline", "initializing", "terminating"] as const;

function readInt(dir: string, name: string): number | undefined {
  try {
    const s = fs.readFileSync(path.join(dir, name), "latin1").trim();
    const v = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : /^-?\d+$/.test(s) ? Number(s) : NaN;
    return Number.isSafeInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function sysfsNode(node: number): NodeInfo {
  const dir = path.join(SYSFS, `ve${node}`);
  let arch: NodeInfo["arch"] = "unknown";
  try {
    const a = fs.readFileSync(path.join(dir, "ve_arch_class"), "latin1").trim();
    if (a === "ve1" || a === "ve3") arch = a;
  } catch {
    /* unknown */
  }
  const raw: Record<string, number> = {};
  try {
    for (const n of fs.readdirSync(dir).filter((f) => /^sensor_\d+$/.test(f))) {
      const v = readInt(dir, n);
      if (v !== undefined) raw[n] = v;
    }
  } catch {
    /* no sensors */
  }
  const gib = readInt(dir, "memory_size");
  const osState = readInt(dir, "os_state");
  return {
    node,
    arch,
    emulated: false,
    memoryBytes: gib === undefined ? undefined : gib * 2 ** 30,
    cores: readInt(dir, "num_of_core"),
    state: osState === undefined ? "unknown" : (OS_STATES[osState] ?? "unknown"),
    sensors: { raw },
  };
}

/** VEO_EMU_NODES as the emulator reads it (default 4). */
function emulatorNodes(): number {
  const s = process.env.VEO_EMU_NODES;
  const n = s !== undefined && /^\s*\d+/.test(s) ? Number.parseInt(s, 10) : 4;
  return Number.isSafeInteger(n) ? Math.min(n, 1024) : 4;
}

/** Every node of the library in use, in node order. */
export function nodeList(): NodeInfo[] {
  if (loadVeo().kind === "emulator") {
    return Array.from({ length: emulatorNodes() }, (_, node) => ({
      node,
      arch: "ve3" as const,
      emulated: true,
      memoryBytes: os.totalmem(),
      cores: os.cpus().length,
      state: "online" as const,
      sensors: { raw: {} },
    }));
  }
  let names: string[];
  try {
    names = fs.readdirSync(SYSFS);
  } catch {
    return [];
  }
  return names
    .map((n) => /^ve(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
    .map(sysfsNode);
}
