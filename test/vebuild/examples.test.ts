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

function runExample(file: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "examples", file)],
      { cwd: ROOT, env: { ...process.env, VEO_BUILD_CACHE: cache }, timeout: 60_000 },
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
});
