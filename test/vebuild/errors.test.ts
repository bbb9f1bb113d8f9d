/*
 * What a user sees when a build goes wrong: compile and link errors from the real host
 * compiler (VeBuildError with command, exit code, output, kept source), a missing compiler
 * (fake PATH), hostile labels and bad arguments, and aborting a build. Plus the progress
 * events a verbose build reports.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { VeBuild, type BuildEvent } from "../../src/vebuild/index.js";
import { setEmulatorForKernels } from "../../src/vebuild/toolchain.js";
import { VeBuildError } from "../../src/errors.js";
import { makeFakeNec, tempDir, withEnv, type FakeNec } from "./fake-tools.js";
import { itNeeds } from "../support/compilers.js";

let cache: string;
let restore: () => void;
let kernelInclude: string;

beforeAll(() => {
  // Unit level: the host toolchain gets a stand-in emulator build (just a kernel include dir).
  kernelInclude = tempDir("kinc");
  fs.writeFileSync(path.join(kernelInclude, "veo_test_kernel.h"), "#define VEO_TEST_KERNEL_H 42\n");
  setEmulatorForKernels({
    dir: "/fake-emulator",
    library: "",
    veorun: "",
    includeDir: "",
    kernelIncludeDir: kernelInclude,
    mkVeorunStatic: "/fake-emulator/bin/mk_veorun_static",
    prebuilt: false,
  });
});
afterAll(() => {
  setEmulatorForKernels(undefined);
  fs.rmSync(kernelInclude, { recursive: true, force: true });
});
beforeEach(() => {
  cache = tempDir("cache");
  restore = withEnv({ VEO_BUILD_CACHE: cache, VEO_BUILD_TOOLCHAIN: "host", VEO_BUILD_CC: undefined });
});
afterEach(() => {
  restore();
  fs.rmSync(cache, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("compile and link errors (host cc)", () => {
  it("a compile error is a VeBuildError with command, exit code, full output and the kept source", async () => {
    const source = "int broken(int x) {\n  return x +;\n}\n";
    const err = await rejection(new VeBuild().setCSrc("broken", source).buildSo());
    expect(err).toBeInstanceOf(VeBuildError);
    const e = err as VeBuildError;
    expect(e.code).toBe("VE_BUILD_FAILED");
    expect(e.exitCode).toBe(1);
    expect(path.isAbsolute(e.command[0])).toBe(true);
    expect(e.command.slice(-4)).toEqual(["-c", "broken.c", "-o", "broken.o"]);
    expect(e.output).toMatch(/broken\.c:2:\d+: error/);
    expect(e.sourcePath && path.isAbsolute(e.sourcePath)).toBe(true);
    expect(fs.readFileSync(e.sourcePath!, "utf8")).toBe(source);
    expect(e.message).toContain('compiling "broken"');
    expect(e.message).toContain("-c broken.c -o broken.o");
    expect(e.message).toContain(e.sourcePath!);
    expect(e.message).toContain("error");
  });

  it("a failed build is not cached: fixing the source builds, repeating the error fails again", async () => {
    const bad = new VeBuild().setCSrc("k", "int f( {");
    await expect(bad.buildSo()).rejects.toBeInstanceOf(VeBuildError);
    await expect(bad.buildSo()).rejects.toBeInstanceOf(VeBuildError);
    const good = new VeBuild().setCSrc(
      "k",
      '#include "veo_test_kernel.h"\nint f(void) { return VEO_TEST_KERNEL_H; }',
    );
    const p = await good.buildSo();
    expect(fs.statSync(p).size).toBeGreaterThan(0);
  });

  it("a link error names the link step", async () => {
    const err = (await rejection(
      new VeBuild().setCSrc("k", "int f(void) { return 1; }").buildSo({ libs: ["-lveo_ts_no_such_lib"] }),
    )) as VeBuildError;
    expect(err).toBeInstanceOf(VeBuildError);
    expect(err.message).toContain("linking k.so");
    expect(err.command).toContain("-lveo_ts_no_such_lib");
    expect(err.output).toContain("veo_ts_no_such_lib");
  });

  it("puts -fPIC and the emulator's kernel headers before the user's flags", async () => {
    const b = new VeBuild().setCSrc(
      "k",
      '#include "veo_test_kernel.h"\nint f(void){return VEO_TEST_KERNEL_H;}',
      {
        flags: ["-O0", "-g"],
      },
    );
    await b.buildSo();
    const argv = b.lastBuild!.commands[0];
    expect(argv.slice(1)).toEqual(["-fPIC", `-I${kernelInclude}`, "-O0", "-g", "-c", "k.c", "-o", "k.o"]);
  });

  itNeeds("g++", "gfortran")(
    "builds C++ and Fortran with the host toolchain, linking with c++ or gfortran",
    async () => {
      const cpp = new VeBuild().setCppSrc("kc", 'extern "C" int f() { return 1; }');
      await cpp.buildSo();
      expect(path.basename(cpp.lastBuild!.commands.at(-1)![0])).toBe("c++");
      const ftn = new VeBuild().setFtnSrc(
        "kf",
        "integer(c_int) function g() bind(c)\n use iso_c_binding\n g = 2\nend function\n",
      );
      await ftn.buildSo();
      expect(path.basename(ftn.lastBuild!.commands.at(-1)![0])).toBe("gfortran");
    },
  );
});

describe("missing compilers", () => {
  it("a missing host compiler says which, where it looked, and how to install one", async () => {
    const fakePath = tempDir("path");
    const restorePath = withEnv({ PATH: `${fakePath}:/nonexistent-veo-ts` });
    let err: VeBuildError;
    try {
      err = (await rejection(new VeBuild().setFtnSrc("f", "end").buildSo())) as VeBuildError;
    } finally {
      restorePath();
    }
    expect(err).toBeInstanceOf(VeBuildError);
    expect(err.message).toContain('Fortran compiler for "f" "gfortran" not found');
    expect(err.message).toContain(path.join(fakePath, "gfortran"));
    expect(err.message).toContain("/nonexistent-veo-ts/gfortran");
    expect(err.message).toContain("apt-get install gfortran");
    expect(err.message).toContain("VEO_BUILD_FC");
    expect(err.exitCode).toBe(null);
    fs.rmSync(fakePath, { recursive: true });
  });

  it("a compiler given by path that does not exist", async () => {
    const err = (await rejection(
      new VeBuild().setCSrc("k", "int x;", { compiler: "/no/such/cc" }).buildSo(),
    )) as VeBuildError;
    expect(err).toBeInstanceOf(VeBuildError);
    expect(err.message).toContain("/no/such/cc");
  });
});

describe("argument checks", () => {
  const hostile = [
    "../evil",
    "a/b",
    "..",
    "x..y",
    "/abs",
    "-o",
    ".hidden",
    "",
    "a\0b",
    "a b",
    "x".repeat(200),
  ];
  for (const label of hostile) {
    it(`rejects the label ${JSON.stringify(label.length > 20 ? label.slice(0, 8) + "..." : label)}`, async () => {
      const b = new VeBuild({ buildDir: path.join(cache, "bd") });
      expect(() => b.setCSrc(label, "int x;")).toThrow(TypeError);
      b.setCSrc("ok", "int x;");
      await expect(b.buildSo({ label })).rejects.toThrow(TypeError);
      expect(fs.existsSync(path.join(cache, "bd"))).toBe(false);
      expect(fs.existsSync(path.join(cache, "evil"))).toBe(false);
    });
  }

  it("rejects non-string labels and sources, and bad option types", async () => {
    await expect(VeBuild.so("int x;", { lang: "toString" as "c" })).rejects.toThrow(/lang must be/);
    const b = new VeBuild();
    expect(() => b.setCSrc(1 as unknown as string, "int x;")).toThrow(/label must be a string/);
    expect(() => b.setCSrc("k", undefined as unknown as string)).toThrow(/source must be a string/);
    expect(() => b.setCSrc("k", "int x;", { flags: 3 as unknown as string })).toThrow(/flags/);
    expect(() => new VeBuild({ toolchain: "gpu" as "nec" })).toThrow(/"nec" or "host"/);
    expect(() => b.setBuildDir("")).toThrow(TypeError);
  });

  it("building with no sources is an error that says what to do", async () => {
    await expect(new VeBuild().buildSo()).rejects.toThrow(/setCSrc/);
  });
});

describe("abort", () => {
  let nec: FakeNec;
  let restoreNec: () => void;
  beforeEach(() => {
    nec = makeFakeNec();
    restoreNec = withEnv(nec.env);
  });
  afterEach(() => {
    restoreNec();
    fs.rmSync(nec.root, { recursive: true, force: true });
  });

  it("an already aborted signal rejects before anything runs", async () => {
    const err = await rejection(
      new VeBuild().setCSrc("k", "int x;").buildSo({ signal: AbortSignal.abort() }),
    );
    expect((err as Error).name).toBe("AbortError");
    expect(nec.calls()).toEqual([]);
  });

  it("aborting kills the compiler, rejects with the reason, and leaves nothing in the cache", async () => {
    const ac = new AbortController();
    const events: BuildEvent[] = [];
    const p = new VeBuild().setCSrc("slow", "/* FAKE_SLOW */").buildSo({
      signal: ac.signal,
      onProgress: (e) => {
        events.push(e);
        if (e.type === "start") setTimeout(() => ac.abort(new Error("user gave up")), 200);
      },
    });
    const started = Date.now();
    await expect(p).rejects.toThrow("user gave up");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events.some((e) => e.type === "start")).toBe(true);
    expect(fs.readdirSync(path.join(cache, "v1"))).toEqual([]);
  });

  it("a build never blocks the event loop: timers keep firing while the compiler runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      await new VeBuild().setCSrc("busy", "/* FAKE_SLEEP */").buildSo();
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it("one of two callers sharing a build aborting does not abort the other", async () => {
    const ac = new AbortController();
    const a = new VeBuild().setCSrc("k", "int shared;").buildSo({ signal: ac.signal });
    const b = new VeBuild().setCSrc("k", "int shared;").buildSo();
    ac.abort();
    await expect(a).rejects.toHaveProperty("name", "AbortError");
    expect(path.basename(await b)).toBe("k.so");
    expect(nec.calls()).toHaveLength(2);
  });
});

describe("progress", () => {
  it("reports each step's start and end with its duration, and a cache hit", async () => {
    const events: BuildEvent[] = [];
    const b = new VeBuild().setCSrc("p1", "int a;").setCSrc("p2", "int b;");
    await b.buildSo({ label: "prog", onProgress: (e) => events.push(e) });
    const steps = events
      .filter((e) => e.type === "start" || e.type === "end")
      .map((e) => `${e.type} ${"step" in e ? e.step : ""} ${e.label}`);
    expect(steps).toEqual([
      "start compile p1",
      "end compile p1",
      "start compile p2",
      "end compile p2",
      "start link prog",
      "end link prog",
    ]);
    for (const e of events) if (e.type === "end") expect(e.durationMs).toBeGreaterThan(0);
    expect(events.at(-1)?.type).toBe("done");

    const again: BuildEvent[] = [];
    await b.buildSo({ label: "prog", onProgress: (e) => again.push(e) });
    expect(again.map((e) => e.type)).toEqual(["cached"]);
  });

  it("verbose prints the steps to stderr, with the compiler's output streamed", async () => {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (s: string | Uint8Array) => {
      chunks.push(String(s));
      return true;
    };
    try {
      await new VeBuild().setCSrc("v", "#warning veo-ts-verbose-test\nint v;").buildSo({ verbose: true });
    } finally {
      process.stderr.write = write;
    }
    const text = chunks.join("");
    expect(text).toMatch(/vebuild: compile v: .*cc .*-c v\.c -o v\.o/);
    expect(text).toMatch(/vebuild: compile v: ok in [\d.]+ ms/);
    expect(text).toMatch(/ {2}\| .*veo-ts-verbose-test/);
    expect(text).toMatch(/vebuild: link v: ok in/);
  });
});
