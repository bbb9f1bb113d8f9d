/*
 * `veo info` and `veo smi`, spawned: the JSON shapes, the human tables, and exit 1 when no
 * library can be loaded.
 */
import { describe, expect, it } from "vitest";

import { VeoProc } from "../../src/index.js";
import { veo, veoJson } from "./spawn.js";

interface InfoJson {
  library: {
    path: string;
    kind: string;
    reason: string;
    apiVersion: number;
    version: string;
    emulator: boolean;
    error?: string;
  };
  nodes: { node: number; state: string; emulated: boolean; veArch: number | string }[];
  compilers: {
    toolchain: { name: string; reason: string };
    compilers: { lang: string; path?: string; version?: string }[];
  };
  env: Record<string, string>;
  runtime: { node: string; koffi: string; platform: string };
}

describe("veo info", () => {
  it("--json: the library and why, nodes with their architecture, compilers, env, runtime", async () => {
    const { ran, json } = await veoJson<InfoJson>(["info"], { env: { VEO_EMU_NODES: "3" } });
    expect(ran.code).toBe(0);
    expect(json.library).toMatchObject({
      kind: "emulator",
      emulator: true,
      apiVersion: 16,
      path: process.env.VEO_LIBRARY,
    });
    expect(json.library.reason).toBe("VEO_LIBRARY environment variable");
    expect(json.library.version).toMatch(/emulator/);
    expect(json.nodes.map((n) => n.node)).toEqual([0, 1, 2]);
    for (const n of json.nodes) expect(n).toMatchObject({ state: "online", emulated: true, veArch: 3 });
    expect(json.compilers.toolchain.name).toBe("host");
    expect(json.compilers.compilers.map((c) => c.lang)).toEqual(["c", "c++", "fortran"]);
    expect(json.compilers.compilers[0].path).toMatch(/\//);
    expect(json.env).toMatchObject({ VEO_EMU_NODES: "3", VEO_LIBRARY: process.env.VEO_LIBRARY });
    expect(json.runtime.node).toBe(process.version);
    expect(json.runtime.koffi).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("prints the same as text", async () => {
    const r = await veo(["info"], { env: { VEO_EMU_NODES: "2", VEO_BUILD_CC: "/nowhere/cc" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`library:   ${process.env.VEO_LIBRARY}`);
    expect(r.stdout).toMatch(/^ {2}1: online, VE arch 3, emulated$/m);
    expect(r.stdout).not.toMatch(/^ {2}2: /m);
    expect(r.stdout).toMatch(/^ {2}c {8}\/nowhere\/cc: not found$/m);
    expect(r.stdout).toMatch(/^ {2}VEO_BUILD_CC +=/m);
  });

  it("exits 1 when the library cannot be loaded, and still reports the rest", async () => {
    const { ran, json } = await veoJson<InfoJson>(["info"], {
      env: { VEO_LIBRARY: "/nonexistent/libveo.so.1" },
    });
    expect(ran.code).toBe(1);
    expect(json.library.error).toContain("/nonexistent/libveo.so.1");
    expect(json.nodes).toEqual([]);
    expect(json.runtime.node).toBe(process.version);
  });
});

describe("veo smi", () => {
  it("--json: one entry per node, with this user's helpers on that node counted and listed", async () => {
    // Another test run of this user may have helpers on node 6 too: check this proc's own
    // helper is listed there, and that the count is the list's length.
    const saved = process.env.VEO_EMU_NODES;
    process.env.VEO_EMU_NODES = "7";
    const proc = new VeoProc(6);
    const pid = proc._helperPid();
    type Smi = {
      nodes: { node: number; state: string; procs: number; pids: number[]; memoryBytes: number }[];
    };
    try {
      expect(pid).toBeGreaterThan(0);
      const { ran, json } = await veoJson<Smi>(["smi"], { env: { VEO_EMU_NODES: "7" } });
      expect(ran.code).toBe(0);
      expect(json.nodes.map((n) => n.node)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(json.nodes[6].pids).toContain(pid);
      for (const n of json.nodes) {
        expect(n.procs).toBe(n.pids.length);
        if (n.node !== 6) expect(n.pids).not.toContain(pid);
      }
      expect(json.nodes[0].memoryBytes).toBeGreaterThan(0);
    } finally {
      proc.destroy();
      if (saved === undefined) delete process.env.VEO_EMU_NODES;
      else process.env.VEO_EMU_NODES = saved;
    }
    const after = await veoJson<Smi>(["smi"], { env: { VEO_EMU_NODES: "7" } });
    expect(after.json.nodes[6].pids).not.toContain(pid);
    expect(after.json.nodes[6].procs).toBe(after.json.nodes[6].pids.length);
  });

  it("prints a table, and exits 1 without a library", async () => {
    const r = await veo(["smi"], { env: { VEO_EMU_NODES: "2" } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NODE +STATE +ARCH +KIND +MEMORY +CORES +PROCS +SENSORS$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 4))).toEqual([
      ["0", "online", "ve3", "emulated"],
      ["1", "online", "ve3", "emulated"],
    ]);
    const bad = await veo(["smi"], { env: { VEO_LIBRARY: "/nonexistent/libveo.so.1" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("veo smi: ");
  });
});
