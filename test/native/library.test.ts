/*
 * The native layer: the prototype table covers the whole C API, and library discovery picks
 * (and reports) the library in the documented order. Discovery runs once per process, so
 * the environment-driven cases run in child processes.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { getVeArch, loadVeo, veoApiVersion, veoVersion, VeoLibraryNotFound } from "../../src/index.js";
import { API_FUNCTIONS } from "../../src/native/api.js";
import { getNative } from "../../src/native/library.js";
import { ensureEmulator } from "../../src/native/emulator-build.js";
import { ROOT, runChild } from "../support/child-sync.js";

function headerFunctions(file: string): string[] {
  const text = fs
    .readFileSync(path.join(ROOT, "emulator/include", file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "");
  return [...text.matchAll(/\b(veo_[a-z0-9_]+)\s*\(/g)].map((m) => m[1]).filter((n) => n !== "veo_emu_type");
}

describe("the prototype table", () => {
  it("declares every function of ve_offload.h, veo_hmem.h, veo_emu.h and the VE-SHM/VH-SHM/VE-DMA headers", () => {
    const expected = new Set([
      ...headerFunctions("ve_offload.h"),
      ...headerFunctions("veo_hmem.h"),
      ...headerFunctions("veo_emu.h"),
      ...headerFunctions("veo_veshm.h"),
      ...headerFunctions("veo_vhveshm.h"),
      ...headerFunctions("veo_vedma.h"),
    ]);
    expect(expected.size).toBeGreaterThan(70);
    expect(new Set(API_FUNCTIONS)).toEqual(expected);
  });

  it("binds all of them on the emulator (API 16), the emulator extensions included", () => {
    const { api } = getNative();
    for (const name of API_FUNCTIONS) {
      expect(typeof (api as unknown as Record<string, unknown>)[name], name).toBe("function");
    }
  });
});

describe("loadVeo", () => {
  it("reports the library, its kind, why, and its versions", () => {
    const info = loadVeo();
    expect(info.kind).toBe("emulator");
    expect(info.apiVersion).toBe(16);
    expect(info.path).toMatch(/libveo\.so\.1$/);
    expect(info.reason).toMatch(/VEO_LIBRARY|emulator/);
    expect(info.version).toContain("emulator");
    expect(veoApiVersion()).toBe(16);
    expect(veoVersion()).toBe(info.version);
    expect(loadVeo({ library: info.path })).toBe(info);
  });

  it("an explicit path that does not load is VeoLibraryNotFound naming it", () => {
    let err: unknown;
    try {
      loadVeo({ library: "/nonexistent/libveo.so.1" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VeoLibraryNotFound);
    expect((err as VeoLibraryNotFound).tried[0]).toContain("/nonexistent/libveo.so.1");
    expect(() => loadVeo({ library: "" })).toThrow(TypeError);
  });

  it("a library that is not libveo is refused", () => {
    expect(() => loadVeo({ library: "libc.so.6" })).toThrow(/veo_api_version|missing/);
  });

  it("getVeArch answers for a valid node and rejects bad ones", () => {
    expect([1, 3]).toContain(getVeArch(0));
    expect(() => getVeArch(1.5)).toThrow(RangeError);
  });
});

describe("discovery order (fresh processes)", () => {
  const probe = `import { loadVeo } from "SRC";
try { console.log(JSON.stringify(loadVeo())); }
catch (e) { console.log(JSON.stringify({ error: e.name, message: e.message, tried: e.tried })); }`;

  it("VEO_LIBRARY wins", () => {
    const lib = ensureEmulator().library;
    const r = runChild(probe, { VEO_LIBRARY: lib });
    const info = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(info.path).toBe(lib);
    expect(info.reason).toMatch(/VEO_LIBRARY/);
  });

  it("a bad VEO_LIBRARY is an error, not a silent fallback", () => {
    const r = runChild(probe, { VEO_LIBRARY: "/nonexistent/libveo.so.1" });
    const info = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(info.error).toBe("VeoLibraryNotFound");
    expect(info.message).toMatch(/VEO_LIBRARY/);
  });

  it("without VEO_LIBRARY and VE nodes, the emulator is built and chosen", () => {
    const r = runChild(probe, { VEO_LIBRARY: undefined });
    const info = JSON.parse(r.out.trim().split("\n").pop()!);
    if (!fs.existsSync("/sys/class/ve")) {
      expect(info.kind).toBe("emulator");
      expect(info.reason).toMatch(/no VE nodes/);
    }
  });

  it("VEO_EMULATOR=0 with nothing else gives VeoLibraryNotFound listing what was tried and how to fix it", () => {
    if (fs.existsSync("/sys/class/ve")) return;
    const r = runChild(probe, { VEO_LIBRARY: undefined, VEO_EMULATOR: "0" });
    const info = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(info.error).toBe("VeoLibraryNotFound");
    expect(info.tried.join("\n")).toMatch(/VEO_EMULATOR=0/);
    expect(info.message).toMatch(/Fix:/);
  });

  it("Node stays alive while a request is awaited, without any other handle", () => {
    const lib = ensureEmulator().library;
    const r = runChild(
      `import { VeoProc } from "SRC";
import { kernel } from "${path.join(ROOT, "test/support/kernels.ts")}";
const p = new VeoProc(0);
const sleep = p.loadLibrary(kernel("basic")).declare("int do_sleep(int ms)");
sleep(p.openContext(), 300).then((v) => { console.log("got", v); p.destroy(); });`,
      { VEO_LIBRARY: lib },
    );
    expect(r.out).toContain("got 300");
    expect(r.status).toBe(0);
  });

  it("Node exits on its own with un-awaited requests and live procs (destroyed at exit)", () => {
    const lib = ensureEmulator().library;
    const r = runChild(
      `import { VeoProc } from "SRC";
const p = new VeoProc(0);
p.openContext();
p.allocMem(8);
console.log("done");`,
      { VEO_LIBRARY: lib },
    );
    expect(r.status).toBe(0);
    expect(r.out).toContain("done");
  });
});
