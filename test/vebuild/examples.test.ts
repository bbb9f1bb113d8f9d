/*
 * The examples a newcomer runs (`npm run demo`, examples/*.ts) run to completion on the
 * emulator and print the right numbers.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./fake-tools.js";
import { itNeeds } from "../support/compilers.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const cache = tempDir("examples-cache");
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

function runExample(
  file: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "examples", file)],
      { cwd: ROOT, env: { ...process.env, VEO_BUILD_CACHE: cache, ...extraEnv }, timeout: 60_000 },
      (err, out, errOut) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, out, err: errOut }),
    );
  });
}

describe("examples", () => {
  it("demo.ts: builds the kernels, calls them async and sync, OnStack OUT, and cleans up", async () => {
    const r = await runExample("demo.ts");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/kind\s+emulator/);
    expect(r.out).toMatch(/toolchain\s+host/);
    expect(r.out).toMatch(/await daxpy\(n, 2\.0, x, y\)\s+8 /);
    expect(r.out).toContain("[12, 14, 16, 18, 20, 22, 24, 26]");
    expect(r.out).toMatch(/dsum\(y\)\.wait\(\)\s+152 /);
    expect(r.out).toMatch(/fmean\(0\.5 \.\. 4\.0\)\s+2\.25 /);
    expect(r.out).toMatch(/minmax\(y, out\) \[OnStack OUT\]\s+rc=0, min=12, max=26/);
    expect(r.out).toContain("proc destroyed; done.");
    expect(r.err).toMatch(/vebuild: (compile demo_kernels: ok|demo_kernels: cached)/);
  });

  it("static-helper.ts: a buildVeorun() helper through staticLibrary()", async () => {
    const r = await runExample("static-helper.ts");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("fib(90) = 2880067194370816120");
  });

  itNeeds("g++", "gfortran")("languages.ts: C, C++ and Fortran in one library", async () => {
    const r = await runExample("languages.ts");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/c_square\(12\)\s+= 144/);
    expect(r.out).toMatch(/cpp_mean\(a\)\s+= 2\.5/);
    expect(r.out).toMatch(/ftn_dot\(a, b\) = 20/);
  });

  it("devices.ts: two devices, a device-to-device gather, the evaluator, a trace and a pool", async () => {
    const r = await runExample("devices.ts", { TMPDIR: cache });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/node 1\s+ve3, \d+ cores, .*online \(emulated\)/);
    expect(r.out).toMatch(/x\s+65536 doubles, 32768 on node 0, 32768 on node 1/);
    expect(r.out).toMatch(/sum of 3x² over both devices\s+64525\.248000/);
    expect(r.out).toMatch(/equal\s+true/);
    expect(r.out).toMatch(/square_scale\(\[1, 2, 3\], 2\) on node 1 \[2, 8, 18\]/);
    expect(r.out).toMatch(/measured on\s+device/);
    expect(r.out).toMatch(/requests recorded on node 0\s+5/);
    const saved = /saved\s+(\S+\.json)/.exec(r.out)?.[1];
    expect(saved && JSON.parse(fs.readFileSync(saved, "utf8")).traceEvents.length).toBeGreaterThan(5);
    expect(r.out).toMatch(/in use \/ cached \/ peak \(bytes\)\s+0 \//);
    expect(r.out).toContain("block_sum of [i, i, i, i], i = 0..7  [0, 4, 8, 12, 16, 20, 24, 28]");
    expect(r.out).toContain("devices closed; done.");
  });
});
