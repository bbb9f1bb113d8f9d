/*
 * Runs a snippet of TypeScript (an ES module; "SRC" stands for src/index.ts) in a fresh
 * Node with its own environment: for what happens once per process (library discovery, the
 * first emulator build) and for what a user's program sees on stdout and stderr.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ChildResult {
  /** stdout then stderr */
  out: string;
  stdout: string;
  stderr: string;
  status: number | null;
}

/** `env` entries set to undefined are removed from the child's environment. */
export function runChild(
  code: string,
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): ChildResult {
  const file = path.join(
    os.tmpdir(),
    `veo-ts-child-${process.pid}-${Math.random().toString(36).slice(2)}.mts`,
  );
  fs.writeFileSync(file, code.replaceAll("SRC", path.join(ROOT, "src/index.ts")));
  try {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
    const r = spawnSync(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: childEnv,
      encoding: "utf8",
      timeout: timeoutMs,
    });
    return { out: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr, status: r.status };
  } finally {
    fs.rmSync(file, { force: true });
  }
}
