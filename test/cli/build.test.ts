/*
 * `veo build` (src/cli/build.ts) with fake NEC compilers: the path on stdout, the steps on
 * stderr, labels from file names, and exit codes for bad usage and failed builds.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildCommand } from "../../src/cli/build.js";
import { openNecSandbox, tempDir, type FakeNec, type NecSandbox } from "../vebuild/fake-tools.js";

let sandbox: NecSandbox;
let nec: FakeNec;
let work: string;

beforeEach(() => {
  sandbox = openNecSandbox();
  nec = sandbox.nec;
  work = tempDir("cli");
});
afterEach(() => {
  sandbox.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await buildCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("veo build", () => {
  it("builds the files into one library, prints its path on stdout and each step on stderr", async () => {
    fs.writeFileSync(path.join(work, "kern.c"), "int f(void){return 1;}");
    fs.writeFileSync(path.join(work, "algo.cpp"), 'extern "C" int g(){return 2;}');
    const r = await run(
      path.join(work, "kern.c"),
      path.join(work, "algo.cpp"),
      "-o",
      path.join(work, "out"),
      "--lib=-lm",
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(path.join(work, "out", "kern.so") + "\n");
    expect(r.err).toMatch(/vebuild: compile kern: .*ncc .*-c kern\.c -o kern\.o/);
    expect(r.err).toMatch(/vebuild: compile algo: ok in/);
    expect(r.err).toMatch(/vebuild: link kern: ok in/);
    const link = nec.calls().at(-1)!;
    expect([link.tool, ...link.args]).toEqual([
      "nc++",
      "-shared",
      "-pthread",
      "-o",
      "kern.so",
      "kern.o",
      "algo.o",
      "-lm",
    ]);
  });

  it("--veorun --label --quiet builds a static helper and prints only the path", async () => {
    fs.writeFileSync(path.join(work, "k.c"), "int x;");
    const r = await run(
      "--veorun",
      "--label",
      "helper",
      "-q",
      "--link-flags=-O2 -fpic",
      path.join(work, "k.c"),
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(path.basename(r.out.trim())).toBe("helper.veorun");
    expect(nec.calls().at(-1)!.CFLAGS).toBe("-O2 -fpic");
  });

  it("exits 1 with the compiler's message when the build fails", async () => {
    fs.writeFileSync(path.join(work, "bad.c"), "FAKE_ERROR");
    const r = await run("-q", path.join(work, "bad.c"));
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("FAKE_ERROR found");
    expect(r.err).toContain("source kept at:");
  });

  it("exits 2 on bad usage, 1 on an unknown file type, 0 with the usage for --help", async () => {
    expect((await run()).code).toBe(2);
    expect((await run("--bogus", "x.c")).code).toBe(2);
    const tc = await run("--toolchain", "gcc", "x.c");
    expect(tc.code).toBe(2);
    expect(tc.err).toContain('--toolchain must be "nec" or "host", got "gcc"');
    fs.writeFileSync(path.join(work, "x.rs"), "fn main() {}");
    const r = await run(path.join(work, "x.rs"));
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown source type ".rs"');
    const h = await run("--help");
    expect(h.code).toBe(0);
    expect(h.out).toContain("usage: veo build");
  });
});
