/*
 * Real VE nodes as the VE driver shows them under /sys/class/ve/veN. The root is a
 * parameter so that tests read a fake tree. Attribute names and formats are the VE
 * driver's: os_state (VEOS: 0 online, 1 offline, 2 initializing, 3 terminating),
 * ve_state (0 uninitialized, 1 online, 2 offline, 3 maintenance, 4 unavailable),
 * num_of_core, cores_enable (hex bitmap), memory_size (GiB), model, type, ve_arch_class
 * ("ve1"/"ve3"), partitioning_mode (1 = two NUMA nodes) with numaN_cores (hex bitmaps),
 * and sensor_N. Files that are missing or unreadable leave their field undefined.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import type { DeviceInfo, DeviceState } from "./info.js";

export const SYSFS_ROOT = "/sys/class/ve";

const OS_STATES: readonly DeviceState[] = ["online", "offline", "initializing", "terminating"];
const VE_STATES = ["uninitialized", "online", "offline", "maintenance", "unavailable"] as const;

function read(dir: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, name), "latin1").trim();
  } catch {
    return undefined;
  }
}

function readInt(dir: string, name: string): number | undefined {
  const s = read(dir, name);
  if (s === undefined || s === "") return undefined;
  const v = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : /^-?\d+$/.test(s) ? Number(s) : NaN;
  return Number.isSafeInteger(v) ? v : undefined;
}

function bits(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 53 && 2 ** i <= mask; i++) if (Math.floor(mask / 2 ** i) % 2 === 1) out.push(i);
  return out;
}

/** The VE node directories under `root` (ve0, ve1, ...), by node number. */
export function sysfsNodes(root: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .map((n) => /^ve(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Everything sysfs tells about node `node` under `root`. */
export function readSysfsNode(root: string, node: number): DeviceInfo {
  const dir = path.join(root, `ve${node}`);
  const archText = read(dir, "ve_arch_class");
  const arch = archText === "ve1" || archText === "ve3" ? archText : "unknown";
  const enabled = readInt(dir, "cores_enable");
  const coreIds = enabled === undefined ? [] : bits(enabled);
  const cores = readInt(dir, "num_of_core") ?? (enabled === undefined ? undefined : coreIds.length);
  const gib = readInt(dir, "memory_size");
  const osState = readInt(dir, "os_state");
  const veState = readInt(dir, "ve_state");
  const numaNodes = numa(dir);
  const raw: Record<string, number> = {};
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^sensor_\d+$/.test(n));
  } catch {
    /* no sensors */
  }
  for (const n of names) {
    const v = readInt(dir, n);
    if (v !== undefined) raw[n] = v;
  }
  return {
    node,
    arch,
    emulated: false,
    memoryBytes: gib === undefined ? undefined : gib * 2 ** 30,
    cores,
    numaNodes: numaNodes.length,
    numaCores: numaNodes,
    state: osState === undefined ? "unknown" : (OS_STATES[osState] ?? "unknown"),
    veState: veState === undefined ? undefined : (VE_STATES[veState] ?? undefined),
    model: readInt(dir, "model"),
    type: readInt(dir, "type"),
    sensors: sensors(arch, raw, coreIds),
  };
}

/** Cores per NUMA node: one entry when not partitioned. */
function numa(dir: string): number[] {
  if (readInt(dir, "partitioning_mode") !== 1)
    return [readInt(dir, "num_of_core") ?? bits(readInt(dir, "cores_enable") ?? 0).length];
  const out: number[] = [];
  for (let i = 0; ; i++) {
    const mask = readInt(dir, `numa${i}_cores`);
    if (mask === undefined) break;
    out.push(bits(mask).length);
  }
  return out.length > 0 ? out : [readInt(dir, "num_of_core") ?? 0];
}

/**
 * Derived readings where the sensor layout is known (VE1, as NEC's VEDA reads it: core
 * temperatures in sensor_(14 + core) in micro-degrees C, supply voltage sensor_8 in µV,
 * current sensor_12 in mA). Other architectures keep only the raw values.
 */
function sensors(arch: string, raw: Record<string, number>, coreIds: number[]): DeviceInfo["sensors"] {
  const out: DeviceInfo["sensors"] = { raw };
  if (arch !== "ve1") return out;
  const temps = coreIds.map((c) => raw[`sensor_${14 + c}`]).filter((v): v is number => v !== undefined);
  if (temps.length > 0) out.temperatureC = Math.max(...temps) / 1e6;
  if (raw.sensor_8 !== undefined && raw.sensor_12 !== undefined)
    out.powerW = (raw.sensor_8 / 1e6) * (raw.sensor_12 / 1e3);
  return out;
}
