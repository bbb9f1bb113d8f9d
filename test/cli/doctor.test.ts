/*
 * `veo doctor` and `veo bench`, spawned: every check with its status, the exact fix for a
 * missing compiler, an unloadable library and an unusable cache, and the exit codes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { tempDir, veo, veoJson } from "./spawn.js";

interface DoctorJson {
  ok: boolean;
  checks: { name: string; status: "ok" | "warn" | "fail"; detail: string; fix?: string }[];
}

let dir: string;
beforeAll(() => {
  dir = tempDir("doctor");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const check = (json: DoctorJson, name: string) => json.checks.find((c) => c.name === name);

describe("veo doctor", () => {
  it("passes on this setup: Node, koffi, cache, library, a proc, the C compiler", async () => {
    const { ran, json } = await veoJson<DoctorJson>(["doctor"]);
    expect(ran.code).toBe(0);
    expect(json.ok).toBe(true);
    expect(json.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(["node", "koffi", "cache", "library", "proc", "c", "c++", "fortran", "helpers"]),
    );
    for (const name of ["node", "koffi", "cache", "library", "proc", "c"]) {
      expect(check(json, name)?.status, name).toBe("ok");
    }
    expect(json.checks.every((c) => c.status !== "fail")).toBe(true);
  });

  it("fails on a missing C compiler and prints the fix; C++ missing is only a warning", async () => {
    const env = { VEO_BUILD_CC: "/nowhere/cc", VEO_BUILD_CXX: "/nowhere/c++" };
    const { ran, json } = await veoJson<DoctorJson>(["doctor"], { env });
    expect(ran.code).toBe(1);
    expect(json.ok).toBe(false);
    expect(check(json, "c")).toMatchObject({ status: "fail" });
    expect(check(json, "c")?.fix).toMatch(/apt-get install gcc.*VEO_BUILD_CC/);
    expect(check(json, "c++")).toMatchObject({ status: "warn" });
    const text = await veo(["doctor"], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL {2}c: .*\/nowhere\/cc/m);
    expect(text.stdout).toMatch(/^ {6}fix: install it \(Debian\/Ubuntu: apt-get install gcc\)/m);
    expect(text.stdout).toContain("some checks failed");
  });

  it("fails on an unloadable library and an unusable cache directory, each with its fix", async () => {
    const file = path.join(dir, "a-file");
    fs.writeFileSync(file, "");
    const { ran, json } = await veoJson<DoctorJson>(["doctor"], {
      env: { VEO_LIBRARY: "/nonexistent/libveo.so.1", VEO_TS_CACHE_DIR: path.join(file, "cache") },
    });
    expect(ran.code).toBe(1);
    expect(check(json, "library")).toMatchObject({ status: "fail" });
    expect(check(json, "library")?.fix).toMatch(/VEO_LIBRARY/);
    expect(check(json, "proc")).toBeUndefined();
    expect(check(json, "cache")).toMatchObject({ status: "fail" });
    expect(check(json, "cache")?.fix).toMatch(/VEO_TS_CACHE_DIR/);
  });
});

describe("veo bench", () => {
  it("--json: six measured operations on the emulator", async () => {
    const { ran, json } = await veoJson<{
      library: { kind: string };
      calls: number;
      rounds: number;
      results: { what: string; unit: string; median: number; best: number }[];
    }>(["bench", "--calls", "40", "--rounds", "2"]);
    expect(ran.code).toBe(0);
    expect(json).toMatchObject({ library: { kind: "emulator" }, calls: 40, rounds: 2 });
    expect(json.results.map((r) => r.what)).toEqual([
      "call: submit + wait()",
      "call: submit + await",
      "writeMem 1 B",
      "readMem 1 B",
      "writeMem 1 MiB",
      "readMem 1 MiB",
    ]);
    for (const r of json.results) {
      expect(r.median, r.what).toBeGreaterThan(0);
      expect(Number.isFinite(r.median) && Number.isFinite(r.best)).toBe(true);
    }
  });

  it("exits 2 on a bad count", async () => {
    const r = await veo(["bench", "--calls", "many"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--calls must be an integer");
  });
});
