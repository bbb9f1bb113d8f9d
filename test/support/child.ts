/*
 * Runs a TypeScript snippet in a child Node process (through tsx), for what could hang or
 * crash Node or must be seen from outside: exit paths, worker termination, fd inheritance.
 * `SRC` and `KERNELS` in the snippet are replaced by absolute paths of src/index.ts and
 * test/support/kernels.ts. The child is killed after `timeoutMs`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { alive } from "./checks.js";
import { ROOT } from "./child-sync.js";

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  /** The child was killed after the time limit. */
  timedOut: boolean;
}

export function runChild(
  source: string,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-child-"));
  const file = path.join(dir, "child.mts");
  fs.writeFileSync(
    file,
    source
      .replaceAll("SRC", JSON.stringify(path.join(ROOT, "src/index.ts")).slice(1, -1))
      .replaceAll("KERNELS", JSON.stringify(path.join(ROOT, "test/support/kernels.ts")).slice(1, -1)),
  );
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: { ...process.env, VE_OMP_NUM_THREADS: "1", ...opts.env },
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
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start, timedOut });
    });
  });
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
