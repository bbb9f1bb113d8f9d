/*
 * Runs a scenario of test/hostile/ in a child Node process: the cases that used to crash
 * Node itself (SIGSEGV/SIGABRT) must show up as a failed test, not a dead test runner. A
 * scenario prints "ok <name>" and exits 0 when every hostile call got its typed error.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

import { expect } from "vitest";
import { ROOT } from "./child-sync.js";

export interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs test/hostile/<file>.ts with the scenarios as arguments, in order (tsx, no shell). */
export function runHostile(file: string, ...scenarios: string[]): ChildRun {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", path.join(ROOT, "test/hostile", `${file}.ts`), ...scenarios],
    { cwd: ROOT, encoding: "utf8", timeout: 90_000, killSignal: "SIGKILL" },
  );
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/**
 * Runs scenarios in one child (each on a fresh proc) and asserts every one finished cleanly:
 * no signal, exit 0, "ok <scenario>" for each.
 */
export function expectHostileOk(file: string, ...scenarios: string[]): void {
  const r = runHostile(file, ...scenarios);
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  for (const s of scenarios) expect(r.stdout).toContain(`ok ${s}`);
}
