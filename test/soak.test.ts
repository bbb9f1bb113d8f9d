/*
 * The short soak (scripts/soak.ts --short) as part of npm test: a hundredth of `npm run soak`,
 * in a child process. Fds and helper processes must stay flat across every phase.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

it("npm run soak -- --short: fds and helpers stay flat", async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--expose-gc", path.join(ROOT, "scripts/soak.ts"), "--short"],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
      child.on("error", reject);
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve({ code: c, stdout: out, stderr: err });
      });
    },
  );
  expect(code, stdout + stderr).toBe(0);
  const summary = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
    flat: boolean;
    rows: Array<{ phase: string; before: { helpers: number }; after: { helpers: number } }>;
  };
  expect(summary.flat).toBe(true);
  expect(summary.rows.map((r) => r.phase)).toEqual([
    "calls (await)",
    "alloc/free",
    "context open/call/close",
    "proc create/call/destroy",
    "workers ending normally",
    "workers terminated",
  ]);
  for (const r of summary.rows) expect(r.after.helpers).toBeLessThanOrEqual(r.before.helpers);
}, 300_000);
