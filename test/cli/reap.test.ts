/*
 * `veo reap`, spawned, on stand-in helpers: processes that look like emulator helpers to
 * /proc (named veorun, VEO_EMU_HOST_PID in their environment). An orphan's host is a pid
 * that has exited; a live helper's host is its parent. Only the orphan may be touched,
 * --dry-run touches nothing, and a killed one is gone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listHelpers } from "../../src/cli/helpers.js";
import { tempDir, veoJson } from "./spawn.js";

interface ReapJson {
  dryRun: boolean;
  orphans: { pid: number; hostPid: number; node?: number; orphan: boolean }[];
  killed: number[];
  failed: { pid: number; error: string }[];
}

let dir: string;
const children: ChildProcess[] = [];

/** A process named veorun (a link to sleep) whose environment names `hostPid` as its host. */
function fakeHelper(hostPid: number): { child: ChildProcess; exited: Promise<NodeJS.Signals | null> } {
  const child = spawn(path.join(dir, "veorun"), ["300"], {
    env: { VEO_EMU_HOST_PID: String(hostPid), VE_NODE_NUMBER: "2" },
    stdio: "ignore",
  });
  children.push(child);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
  return { child, exited };
}

beforeAll(() => {
  dir = tempDir("reap");
  const sleep = spawnSync("sh", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim();
  fs.symlinkSync(sleep, path.join(dir, "veorun"));
});
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe("veo reap", () => {
  it("finds an orphan (host gone), leaves a live helper alone, lists with --dry-run and kills without", async () => {
    const gone = spawnSync("true").pid; // has exited: a host that died
    const orphan = fakeHelper(gone);
    const live = fakeHelper(process.pid);
    const pids = [orphan.child.pid!, live.child.pid!];
    await until(() => listHelpers().filter((h) => pids.includes(h.pid)).length === 2);

    const seen = listHelpers().filter((h) => pids.includes(h.pid));
    expect(seen.map((h) => [h.pid, h.orphan, h.node])).toEqual(
      [
        [orphan.child.pid, true, 2],
        [live.child.pid, false, 2],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );

    const args = ["reap", ...pids.flatMap((p) => ["--pid", String(p)])];
    const dry = await veoJson<ReapJson>([...args, "--dry-run"]);
    expect(dry.ran.code).toBe(0);
    expect(dry.json.dryRun).toBe(true);
    expect(dry.json.orphans.map((h) => h.pid)).toEqual([orphan.child.pid]);
    expect(dry.json.killed).toEqual([]);
    expect(orphan.child.exitCode === null && orphan.child.signalCode === null).toBe(true);

    const real = await veoJson<ReapJson>(args);
    expect(real.ran.code).toBe(0);
    expect(real.json.killed).toEqual([orphan.child.pid]);
    expect(real.json.failed).toEqual([]);
    expect(await orphan.exited).toBe("SIGTERM");
    expect(live.child.exitCode === null && live.child.signalCode === null).toBe(true);

    const again = await veoJson<ReapJson>(args);
    expect(again.json.orphans).toEqual([]);
    live.child.kill("SIGKILL");
    await live.exited;
  });
});
