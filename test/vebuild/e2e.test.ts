/*
 * End to end on the emulator: kernels in C, C++ (extern "C") and Fortran (bind(c)) built
 * from inline source with the host toolchain (chosen automatically: VEO_LIBRARY is the
 * emulator), loaded into a proc and called; a static helper from buildVeorun() used through
 * new VeoProc(0, { veorun }) + staticLibrary(); loadSource() building and loading in one go.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { VeBuild, VeBuildError, VeoProc, loadSource } from "../../src/index.js";
import { tempDir, withEnv } from "./fake-tools.js";
import { itNeeds } from "../support/compilers.js";

let cache: string;
let restore: () => void;
const procs: VeoProc[] = [];

function newProc(opts?: { veorun?: string }): VeoProc {
  const p = opts ? new VeoProc(0, opts) : new VeoProc(0);
  procs.push(p);
  return p;
}

beforeAll(() => {
  cache = tempDir("e2e-cache");
  restore = withEnv({ VEO_BUILD_CACHE: cache, VEO_BUILD_TOOLCHAIN: undefined });
});
afterEach(() => {
  for (const p of procs.splice(0)) p.destroy();
});
afterAll(() => {
  restore();
  fs.rmSync(cache, { recursive: true, force: true });
});

const C_SUM = String.raw`
double vsum(double *a, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return s;
}
`;

describe("VeBuild on the emulator", () => {
  it("builds, loads and calls an inline C kernel, with the host toolchain chosen automatically", async () => {
    const b = new VeBuild().setCSrc("e2e_c", C_SUM);
    const so = await b.buildSo();
    expect(path.isAbsolute(so)).toBe(true);
    expect(b.lastBuild!.toolchain).toBe("host");
    expect(b.lastBuild!.toolchainReason).toContain("emulator");

    const proc = newProc();
    const lib = proc.loadLibrary(so);
    const vsum = lib.declare("double vsum(double *a, int n)");
    const ctx = proc.openContext();
    const a = new Float64Array([1.5, 2.5, 3, 4]);
    const va = proc.allocMem(a.byteLength);
    proc.writeMem(va, a);
    expect(await vsum(ctx, va, a.length)).toBe(11);
    expect(vsum(ctx, va, 2).wait()).toBe(4);
  });

  itNeeds("g++")('builds, loads and calls a C++ kernel (extern "C")', async () => {
    const so = await new VeBuild()
      .setCppSrc(
        "e2e_cpp",
        String.raw`
#include <algorithm>
extern "C" int imax(int *a, int n) { return *std::max_element(a, a + n); }
`,
      )
      .buildSo();
    const proc = newProc();
    const imax = proc.loadLibrary(so).declare("int imax(int *a, int n)");
    const a = new Int32Array([3, -7, 42, 5]);
    const va = proc.allocMem(a.byteLength);
    proc.writeMem(va, a);
    expect(await imax(proc.openContext(), va, a.length)).toBe(42);
  });

  itNeeds("gfortran")("builds, loads and calls a Fortran kernel (bind(c))", async () => {
    const so = await new VeBuild()
      .setFtnSrc(
        "e2e_ftn",
        String.raw`
function fscale(a, n, f) result(s) bind(c, name="fscale")
  use iso_c_binding
  integer(c_int), value :: n
  real(c_double), value :: f
  real(c_double) :: a(n)
  real(c_double) :: s
  a = a * f
  s = sum(a)
end function
`,
      )
      .buildSo();
    const proc = newProc();
    const fscale = proc.loadLibrary(so).declare("double fscale(double *a, int n, double f)");
    const a = new Float64Array([1, 2, 3]);
    const va = proc.allocMem(a.byteLength);
    proc.writeMem(va, a);
    expect(await fscale(proc.openContext(), va, a.length, 2)).toBe(12);
    const back = new Float64Array(3);
    proc.readMem(back, va);
    expect([...back]).toEqual([2, 4, 6]);
  });

  itNeeds("g++", "gfortran")("links C, C++ and Fortran sources into one library", async () => {
    const so = await new VeBuild()
      .setCSrc("m_c", "int from_c(void) { return 1; }")
      .setCppSrc("m_cpp", 'extern "C" int from_cpp() { return 20; }')
      .setFtnSrc(
        "m_f",
        "integer(c_int) function from_f() bind(c)\n use iso_c_binding\n from_f = 300\nend function\n",
      )
      .buildSo({ label: "mixed" });
    const proc = newProc();
    const lib = proc.loadLibrary(so);
    const ctx = proc.openContext();
    const total =
      (await lib.declare("int from_c(void)")(ctx)) +
      (await lib.declare("int from_cpp(void)")(ctx)) +
      (await lib.declare("int from_f(void)")(ctx));
    expect(total).toBe(321);
  });

  it("loadSource() builds and loads in one call", async () => {
    const proc = newProc();
    const lib = await loadSource(proc, "long triple(long x) { return 3 * x; }");
    const triple = lib.declare("long triple(long x)");
    expect(await triple(proc.openContext(), 14n)).toBe(42n);
  });

  it("proc.loadSource() builds with the toolchain of the proc's libveo and loads", async () => {
    const proc = newProc();
    expect(proc.veoLibrary.kind).toBe("emulator");
    const lib = await proc.loadSource("long quad(long x) { return 4 * x; }");
    expect(proc.libs.get(lib.name)).toBe(lib);
    expect(await lib.declare("long quad(long x)")(proc.openContext(), 10n)).toBe(40n);
  });

  it("proc.loadSource() rejects a broken source with VeBuildError and leaves the proc usable", async () => {
    const proc = newProc();
    await expect(proc.loadSource("int broken(void) { return }")).rejects.toBeInstanceOf(VeBuildError);
    const lib = await proc.loadSource("int fine(void) { return 7; }");
    expect(await lib.declare("int fine(void)")(proc.openContext())).toBe(7);
  });

  it("a cached build loads and runs the same as the fresh one", async () => {
    const src = "int plus1(int x) { return x + 1; }";
    await VeBuild.so(src);
    const info = await VeBuild.soInfo(src);
    expect(info.cached).toBe(true);
    const proc = newProc();
    const plus1 = proc.loadLibrary(info.path).declare("int plus1(int x)");
    expect(await plus1(proc.openContext(), 41)).toBe(42);
  });

  it("rebuilding a library in the build dir does not disturb a proc that loaded the old one", async () => {
    const dir = tempDir("e2e-blddir");
    const v1 = new VeBuild({ buildDir: dir }).setCSrc("ver", "int version(void) { return 1; }");
    const proc1 = newProc();
    const f1 = proc1.loadLibrary(await v1.buildSo()).declare("int version(void)");
    const v2 = new VeBuild({ buildDir: dir }).setCSrc("ver", "int version(void) { return 2; }");
    const p2 = await v2.buildSo();
    expect(await f1(proc1.openContext())).toBe(1);
    const proc2 = newProc();
    expect(await proc2.loadLibrary(p2).declare("int version(void)")(proc2.openContext())).toBe(2);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("buildVeorun() makes a static helper usable with new VeoProc(0, { veorun }) + staticLibrary()", async () => {
    const b = new VeBuild().setCSrc(
      "e2e_static",
      String.raw`
#include <stdint.h>
uint64_t static_fib(int n)
{
  uint64_t a = 0, c = 1;
  for (int i = 0; i < n; i++) { uint64_t t = a + c; a = c; c = t; }
  return a;
}
`,
    );
    const veorun = await b.buildVeorun();
    expect(path.basename(veorun)).toBe("e2e_static.veorun");
    const proc = newProc({ veorun });
    const fib = proc.staticLibrary().declare("uint64_t static_fib(int n)");
    expect(await fib(proc.openContext(), 90)).toBe(2880067194370816120n);
  });
});

describe("static helpers from several languages", () => {
  itNeeds("g++", "gfortran")("buildVeorun() links C++ and Fortran objects with their runtimes", async () => {
    const veorun = await new VeBuild()
      .setCppSrc(
        "s_cpp",
        '#include <vector>\nextern "C" int vlen(int n) { std::vector<int> v(n); return (int)v.size(); }',
      )
      .setFtnSrc(
        "s_ftn",
        "integer(c_int) function twice(x) bind(c)\n use iso_c_binding\n integer(c_int), value :: x\n twice = 2 * x\nend function\n",
      )
      .buildVeorun({ label: "mixed_static" });
    const proc = newProc({ veorun });
    const lib = proc.staticLibrary();
    const ctx = proc.openContext();
    expect(await lib.declare("int vlen(int n)")(ctx, 7)).toBe(7);
    expect(await lib.declare("int twice(int x)")(ctx, 21)).toBe(42);
  });
});
