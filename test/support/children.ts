/*
 * Child Node processes of the tests, for what could hang or crash Node or must be seen from
 * outside (exit paths, worker termination, fd inheritance, what happens once per process,
 * what a program prints): TypeScript snippets and scripts run through this run's light
 * loader (ts-loader.ts; tsx without it), always with a kill timer, temp files removed.
 * child.ts (async), child-sync.ts (sync) and hostile.ts (test/hostile scenarios) keep
 * their names as thin front ends over this module.
 *
 * In a snippet, `SRC` and `KERNELS` stand for the absolute paths of src/index.ts and
 * test/support/kernels.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { expect } from "vitest";

import { alive } from "./checks.js";
import { ROOT, transpileSnippet, tsImportArgs } from "./ts-loader.js";

export { ROOT };

/** What an asynchronous child ended with. */
export interface AsyncChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  /** The child was killed after the time limit. */
  timedOut: boolean;
}

/** What a synchronous child ended with. */
export interface SyncChildResult {
  /** stdout then stderr */
  out: string;
  stdout: string;
  stderr: string;
  status: number | null;
}

/** What a hostile scenario run ended with. */
export interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `process.execPath` arguments that run the TypeScript (or JavaScript) file `file`. */
export function nodeArgs(file: string, args: readonly string[] = [], nodeFlags: readonly string[] = []) {
  return [...nodeFlags, ...tsImportArgs(), file, ...args];
}

/** process.env with `env` over it; entries set to undefined are removed. */
export function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Writes a snippet (SRC, KERNELS replaced) as a JavaScript module in a new temp directory;
 * returns the file and a function removing the directory.
 */
export function writeSnippet(source: string): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-child-"));
  const file = path.join(dir, "child.mjs");
  const code = source
    .replaceAll("SRC", JSON.stringify(path.join(ROOT, "src/index.ts")).slice(1, -1))
    .replaceAll("KERNELS", JSON.stringify(path.join(ROOT, "test/support/kernels.ts")).slice(1, -1));
  fs.writeFileSync(file, transpileSnippet(code, path.join(dir, "child.mts")));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Spawns `node args` (no shell), collects its output, SIGKILLs it after `timeoutMs`; never
 * rejects for a child that started.
 */
export function spawnNode(
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<AsyncChildResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 60_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start, timedOut });
    });
  });
}

/**
 * Runs a TypeScript snippet in a child (VE_OMP_NUM_THREADS=1 unless `env` says otherwise),
 * killed after `timeoutMs`.
 */
export async function runChildAsync(
  source: string,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<AsyncChildResult> {
  const snippet = writeSnippet(source);
  try {
    return await spawnNode(nodeArgs(snippet.file), {
      timeoutMs: opts.timeoutMs,
      env: { ...process.env, VE_OMP_NUM_THREADS: "1", ...opts.env },
    });
  } finally {
    snippet.remove();
  }
}

/**
 * Runs a TypeScript snippet synchronously in a fresh Node with its own environment (`env`
 * entries set to undefined are removed), killed after `timeoutMs`.
 */
export function runChildSync(
  source: string,
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): SyncChildResult {
  const snippet = writeSnippet(source);
  try {
    const r = spawnSync(process.execPath, nodeArgs(snippet.file), {
      cwd: ROOT,
      env: childEnv(env),
      encoding: "utf8",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    const stdout = r.stdout ?? "";
    const stderr = r.stderr ?? "";
    return { out: `${stdout}${stderr}`, stdout, stderr, status: r.status };
  } finally {
    snippet.remove();
  }
}

/** Waits (polling, up to `ms`) until none of `pids` is alive; returns the ones still alive. */
export async function waitGone(pids: number[], ms = 10_000): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const live = pids.filter(alive);
    if (live.length === 0 || Date.now() > until) return live;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs test/hostile/<file>.ts with the scenarios as arguments, in order (with --expose-gc):
 * the cases that used to crash Node itself (SIGSEGV/SIGABRT) show up as a failed test, not a
 * dead test runner. A scenario prints "ok <name>" and exits 0 when every hostile call got
 * its typed error.
 */
export function runHostile(file: string, ...scenarios: string[]): ChildRun {
  const script = path.join(ROOT, "test/hostile", `${file}.ts`);
  const r = spawnSync(process.execPath, nodeArgs(script, scenarios, ["--expose-gc"]), {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 90_000,
    killSignal: "SIGKILL",
  });
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
