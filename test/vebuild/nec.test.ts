/*
 * The NEC toolchain's command lines, checked with fake ncc/nc++/nfort/mk_veorun_static that
 * record their argv: py-veo's default flags, its linker choice, libs, user flags, and the
 * mk_veorun_static invocation with CFLAGS in the environment.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VeBuild, type BuildEvent } from "../../src/vebuild/index.js";
import { VeBuildError } from "../../src/errors.js";
import { openNecSandbox, tempDir, withEnv, type FakeNec, type NecSandbox } from "./fake-tools.js";

const C_FLAGS = ["-O2", "-fpic", "-pthread", "-report-all", "-fdiag-vector=2"];
const CXX_FLAGS = [
  "-O2",
  "-fpic",
  "-pthread",
  "-finline",
  "-finline-functions",
  "-report-all",
  "-fdiag-vector=2",
];
const F_FLAGS = C_FLAGS;

let sandbox: NecSandbox;
let nec: FakeNec;

beforeEach(() => {
  sandbox = openNecSandbox();
  nec = sandbox.nec;
});
afterEach(() => sandbox.close());

describe("nec toolchain command lines", () => {
  it("compiles C with py-veo's flags and links with ncc -shared -pthread", async () => {
    const b = new VeBuild().setCSrc("mylib", "int f(void){return 1;}");
    const out = await b.buildSo();
    expect(path.isAbsolute(out)).toBe(true);
    expect(path.basename(out)).toBe("mylib.so");
    const calls = nec.calls();
    expect(calls.map((c) => [c.tool, ...c.args])).toEqual([
      ["ncc", ...C_FLAGS, "-c", "mylib.c", "-o", "mylib.o"],
      ["ncc", "-shared", "-pthread", "-o", "mylib.so", "mylib.o"],
    ]);
    expect(b.lastBuild?.commands[0]?.[0]).toBe(path.join(nec.bin, "ncc"));
    expect(b.lastBuild?.toolchain).toBe("nec");
  });

  it("uses nc++ flags for C++ and nfort flags for Fortran", async () => {
    const b = new VeBuild()
      .setCppSrc("k1", 'extern "C" int f(){return 1;}')
      .setFtnSrc("k2", "subroutine s() bind(c)\nend subroutine");
    await b.buildSo({ label: "both" });
    const calls = nec.calls().map((c) => [c.tool, ...c.args]);
    expect(calls).toEqual([
      ["nc++", ...CXX_FLAGS, "-c", "k1.cpp", "-o", "k1.o"],
      ["nfort", ...F_FLAGS, "-c", "k2.f90", "-o", "k2.o"],
      ["nc++", "-shared", "-pthread", "-o", "both.so", "k1.o", "k2.o"],
    ]);
  });

  it("links C + Fortran with nfort, as py-veo does", async () => {
    const b = new VeBuild().setCSrc("c", "int f(void){return 1;}").setFtnSrc("f", "end");
    await b.buildSo();
    const link = nec.calls().at(-1)!;
    expect([link.tool, ...link.args]).toEqual(["nfort", "-shared", "-pthread", "-o", "c.so", "c.o", "f.o"]);
  });

  it("lets flags, libs, linker and per-source compiler replace the defaults", async () => {
    const b = new VeBuild().setCSrc("a", "int f(void){return 1;}", {
      flags: '-O3 -fpic -DMSG="hello world"',
      compiler: "nc++",
    });
    await b.buildSo({ flags: ["-shared"], libs: ["-lm", "-L/x y/lib"], linker: path.join(nec.bin, "nfort") });
    const calls = nec.calls().map((c) => [c.tool, ...c.args]);
    expect(calls).toEqual([
      ["nc++", "-O3", "-fpic", "-DMSG=hello world", "-c", "a.c", "-o", "a.o"],
      ["nfort", "-shared", "-o", "a.so", "a.o", "-lm", "-L/x y/lib"],
    ]);
  });

  it("honours VEO_BUILD_CC", async () => {
    const restoreCc = withEnv({ VEO_BUILD_CC: path.join(nec.bin, "nfort") });
    try {
      await new VeBuild().setCSrc("a", "int x;").buildSo();
    } finally {
      restoreCc();
    }
    expect(nec.calls().map((c) => c.tool)).toEqual(["nfort", "nfort"]);
  });

  it("runs mk_veorun_static with the output first, then objects and libs, CFLAGS only if flags", async () => {
    const b = new VeBuild().setCSrc("_average", "double avg(double*a,int n){return 0;}");
    const out = await b.buildVeorun();
    expect(path.basename(out)).toBe("_average.veorun");
    let mk = nec.calls().at(-1)!;
    expect(mk.tool).toBe("mk_veorun_static");
    expect(mk.args).toEqual(["_average.veorun", "_average.o"]);
    expect(mk.CFLAGS).toBe(null);

    await b.buildVeorun({ flags: "-O2 -fpic -pthread", libs: ["-lm"] });
    mk = nec.calls().at(-1)!;
    expect(mk.args).toEqual(["_average.veorun", "_average.o", "-lm"]);
    expect(mk.CFLAGS).toBe("-O2 -fpic -pthread");
  });

  it("honours MK_VEORUN_STATIC", async () => {
    const other = tempDir("mk");
    const mk = path.join(other, "mk_veorun_static");
    fs.copyFileSync(path.join(nec.root, "libexec", "mk_veorun_static"), mk);
    fs.chmodSync(mk, 0o755);
    const restoreMk = withEnv({ MK_VEORUN_STATIC: mk });
    try {
      await new VeBuild().setCSrc("s", "int x;").buildVeorun();
    } finally {
      restoreMk();
    }
    expect(nec.calls().at(-1)!.file).toBe(mk);
    fs.rmSync(other, { recursive: true, force: true });
  });

  it("reports a missing NEC compiler with where it looked and how to fix it", async () => {
    fs.rmSync(path.join(nec.bin, "nc++"));
    const err = await new VeBuild()
      .setCppSrc("k", "int x;")
      .buildSo()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VeBuildError);
    const e = err as VeBuildError;
    expect(e.message).toContain(`"nc++" not found`);
    expect(e.message).toContain(path.join(nec.bin, "nc++"));
    expect(e.message).toContain("VEO_BUILD_CXX");
    expect(e.message).toContain("VEO_BUILD_TOOLCHAIN=host");
    expect(e.exitCode).toBe(null);
    expect(e.command).toEqual(["nc++"]);
  });

  it("reports a missing mk_veorun_static", async () => {
    fs.rmSync(path.join(nec.root, "libexec", "mk_veorun_static"));
    const err = (await new VeBuild()
      .setCSrc("k", "int x;")
      .buildVeorun()
      .catch((e: unknown) => e)) as VeBuildError;
    expect(err).toBeInstanceOf(VeBuildError);
    expect(err.message).toContain("mk_veorun_static");
    expect(err.message).toContain("MK_VEORUN_STATIC");
  });

  it("reports ncc's -report-all listing after each compile, and copies it into the build dir", async () => {
    const events: BuildEvent[] = [];
    const dir = tempDir("listing");
    await new VeBuild({ buildDir: dir })
      .setCSrc("vec", "int v;")
      .buildSo({ onProgress: (e) => events.push(e) });
    const listing = events.find((e) => e.type === "listing");
    expect(listing).toMatchObject({
      type: "listing",
      label: "vec",
      file: "vec.L",
      text: "LISTING OF vec.c\n",
    });
    expect(fs.readFileSync(path.join(dir, "vec.L"), "utf8")).toBe("LISTING OF vec.c\n");
    fs.rmSync(dir, { recursive: true });
  });
});
