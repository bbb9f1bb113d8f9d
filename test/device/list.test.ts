/*
 * listDevices: real VE nodes from a fake sysfs tree (the VE driver's attribute files),
 * and the emulator's virtual nodes (VEO_EMU_NODES).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { emulatorNodeCount, listDevices, loadVeo } from "../../src/index.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-sysfs-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function node(name: string, files: Record<string, string>): void {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), `${v}\n`);
}

// A VE1 (Type 10B-like) with sensors, a partitioned VE3, an offline VE with few files.
node("ve0", {
  ve_arch_class: "ve1",
  os_state: "0",
  ve_state: "1",
  num_of_core: "8",
  cores_enable: "0x0000ff",
  memory_size: "48",
  model: "2",
  type: "1",
  partitioning_mode: "0",
  sensor_8: "900000",
  sensor_12: "100000",
  sensor_14: "41000000",
  sensor_15: "43500000",
  sensor_21: "42000000",
});
node("ve3", {
  ve_arch_class: "ve3",
  os_state: "0",
  ve_state: "1",
  num_of_core: "16",
  cores_enable: "0xffff",
  memory_size: "96",
  partitioning_mode: "1",
  numa0_cores: "0x00ff",
  numa1_cores: "0xff00",
  sensor_0: "123",
});
node("ve2", { os_state: "1", cores_enable: "0x0f" });
fs.mkdirSync(path.join(root, "power"));
fs.writeFileSync(path.join(root, "vex"), "");

describe("listDevices on a sysfs tree", () => {
  const devs = listDevices({ sysfsRoot: root });

  it("finds ve<N> directories only, in node order", () => {
    expect(devs.map((d) => d.node)).toEqual([0, 2, 3]);
    expect(devs.every((d) => !d.emulated)).toBe(true);
  });

  it("reads arch, memory (GiB), cores, state, model/type and VE1 sensors", () => {
    const d = devs[0];
    expect(d).toMatchObject({
      arch: "ve1",
      memoryBytes: 48 * 2 ** 30,
      cores: 8,
      numaNodes: 1,
      numaCores: [8],
      state: "online",
      veState: "online",
      model: 2,
      type: 1,
    });
    expect(d.sensors.raw).toEqual({
      sensor_8: 900000,
      sensor_12: 100000,
      sensor_14: 41000000,
      sensor_15: 43500000,
      sensor_21: 42000000,
    });
    expect(d.sensors.temperatureC).toBeCloseTo(43.5, 6);
    expect(d.sensors.powerW).toBeCloseTo(0.9 * 100, 6);
  });

  it("counts NUMA nodes and their cores when partitioned; no derived sensors off VE1", () => {
    const d = devs[2];
    expect(d).toMatchObject({
      arch: "ve3",
      cores: 16,
      numaNodes: 2,
      numaCores: [8, 8],
      memoryBytes: 96 * 2 ** 30,
    });
    expect(d.sensors).toEqual({ raw: { sensor_0: 123 } });
  });

  it("missing files leave fields undefined; cores fall back to cores_enable", () => {
    const d = devs[1];
    expect(d).toMatchObject({
      node: 2,
      arch: "unknown",
      state: "offline",
      cores: 4,
      memoryBytes: undefined,
      veState: undefined,
    });
  });

  it("an absent root is no devices; bad options are TypeErrors naming them", () => {
    expect(listDevices({ sysfsRoot: path.join(root, "nope") })).toEqual([]);
    expect(() => listDevices({ sysfsRoot: "" })).toThrow(/options\.sysfsRoot of listDevices/);
    expect(() => listDevices({ sysfsRoot: 3 as never })).toThrow(TypeError);
    expect(() => listDevices(null as never)).toThrow(/Argument 0 \(options\) of listDevices/);
  });
});

describe("listDevices on the emulator", () => {
  it("reports VEO_EMU_NODES virtual nodes (4 by default), emulated and online", () => {
    expect(loadVeo().kind).toBe("emulator");
    const devs = listDevices();
    expect(devs.map((d) => d.node)).toEqual(Array.from({ length: emulatorNodeCount() }, (_, i) => i));
    expect(devs[0]).toMatchObject({ emulated: true, arch: "ve3", state: "online", cores: os.cpus().length });
  });

  it("parses VEO_EMU_NODES as the emulator does", () => {
    expect(emulatorNodeCount({})).toBe(4);
    expect(emulatorNodeCount({ VEO_EMU_NODES: "2" })).toBe(2);
    expect(emulatorNodeCount({ VEO_EMU_NODES: "0" })).toBe(0);
    expect(emulatorNodeCount({ VEO_EMU_NODES: "x" })).toBe(4);
    expect(emulatorNodeCount({ VEO_EMU_NODES: "-1" })).toBe(4);
  });
});
