/*
 * Procs created in worker threads (src/proc-lifetime.ts, native/thread-exit.ts, the pump's
 * worker mode): they are destroyed when the worker ends, normally or by worker.terminate(),
 * even while a kernel of theirs never returns, and terminate() does not hang.
 */
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

import { runChild, waitGone } from "./support/child.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const url = (rel: string): string => pathToFileURL(path.join(ROOT, rel)).href;

/** A child whose main thread holds a proc of its own (so libveo stays loaded) and runs workers. */
const script = (modes: string[]): string => `
  import { Worker } from "node:worker_threads";
  import { VeoProc } from "SRC";
  const mine = new VeoProc(0);
  const workerCode = \`
    (async () => {
      const { workerData, parentPort } = await import("node:worker_threads");
      (await import(${JSON.stringify(url("node_modules/tsx/dist/esm/api/index.mjs"))})).register();
      const { VeoProc } = await import(${JSON.stringify(url("src/index.ts"))});
      const { kernel } = await import(${JSON.stringify(url("test/support/kernels.ts"))});
      const pids = [];
      for (let i = 0; i < 2; i++) {
        const p = i === 0 ? new VeoProc(0, { killGraceMs: 200 }) : await VeoProc.create(0, { killGraceMs: 200 });
        const spin = p.loadLibrary(kernel("lifetime")).declare("long spin_forever(void)");
        const ctx = p.openContext();
        if (workerData === "awaited") void spin(ctx).then(() => {}, () => {});
        if (workerData === "plain") spin(ctx);
        pids.push(p._helperPid());
      }
      parentPort.postMessage(pids);
      if (workerData !== "normal") setInterval(() => {}, 1000);
    })();
  \`;
  const out = {};
  for (const mode of ${JSON.stringify(modes)}) {
    const w = new Worker(workerCode, { eval: true, workerData: mode });
    const pids = await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
    const t0 = performance.now();
    if (mode === "normal") await new Promise((r) => w.once("exit", r));
    else await w.terminate();
    out[mode] = { pids, ms: performance.now() - t0 };
  }
  out.main = mine._helperPid();
  console.log(JSON.stringify(out));
  mine.destroy();
`;

const MODES = ["normal", "idle", "plain", "awaited"];

describe("procs of a worker thread", () => {
  let out: Record<string, { pids: number[]; ms: number }> & { main: number };
  beforeAll(async () => {
    const r = await runChild(script(MODES), { timeoutMs: 120_000 });
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    out = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as typeof out;
  });

  it.each(MODES.map((m) => [m]))("are destroyed when the worker ends (%s)", async (mode) => {
    const { pids, ms } = out[mode];
    expect(pids).toHaveLength(2);
    // terminate() returns (a kernel spinning forever would otherwise hang it).
    expect(ms).toBeLessThan(30_000);
    expect(await waitGone(pids)).toEqual([]);
  });

  it("the main thread's proc lived on until it was destroyed", async () => {
    expect(out.main).toBeGreaterThan(0);
    expect(await waitGone([out.main])).toEqual([]);
  });
});

/**
 * A child that counts, around `cycles` terminated workers each holding two procs (one busy
 * in a kernel that never returns), its descriptors, the shared-memory mappings of the
 * emulator ("memfd:veo-emu") and its threads.
 */
const cyclesScript = (cycles: number): string => `
  import * as fs from "node:fs";
  import { Worker } from "node:worker_threads";
  import { VeoProc } from "SRC";
  const mine = new VeoProc(0);
  const count = () => {
    const fds = fs.readdirSync("/proc/self/fd");
    const memfds = fds.filter((fd) => { try { return fs.readlinkSync("/proc/self/fd/" + fd).includes("veo-emu"); } catch { return false; } });
    const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => l.includes("veo-emu"));
    return { fds: fds.length, memfds: memfds.length, maps: maps.length, threads: fs.readdirSync("/proc/self/task").length };
  };
  const workerCode = \`
    (async () => {
      const { parentPort } = await import("node:worker_threads");
      (await import(${JSON.stringify(url("node_modules/tsx/dist/esm/api/index.mjs"))})).register();
      const { VeoProc } = await import(${JSON.stringify(url("src/index.ts"))});
      const { kernel } = await import(${JSON.stringify(url("test/support/kernels.ts"))});
      const a = new VeoProc(0, { killGraceMs: 200 });
      const b = await VeoProc.create(0, { killGraceMs: 200 });
      const spin = b.loadLibrary(kernel("lifetime")).declare("long spin_forever(void)");
      void spin(b.openContext()).then(() => {}, () => {});
      a.openContext();
      parentPort.postMessage([a._helperPid(), b._helperPid()]);
      setInterval(() => {}, 1000);
    })();
  \`;
  const cycle = async () => {
    const w = new Worker(workerCode, { eval: true });
    const pids = await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
    await w.terminate();
    return pids;
  };
  const pids = await cycle(); // warm-up: tsx, the kernel build, the thread-exit key
  await new Promise((r) => setTimeout(r, 500));
  const before = count();
  for (let i = 0; i < ${cycles}; i++) pids.push(...(await cycle()));
  await new Promise((r) => setTimeout(r, 500));
  console.log(JSON.stringify({ before, after: count(), pids }));
  mine.destroy();
`;

describe("terminated workers leave nothing behind in the host", () => {
  it("no descriptor, shared mapping or thread per proc of a terminated worker", async () => {
    const r = await runChild(cyclesScript(6), { timeoutMs: 180_000 });
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const { before, after, pids } = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as {
      before: Record<string, number>;
      after: Record<string, number>;
      pids: number[];
    };
    // The main thread's own proc maps its shared memory once and keeps no descriptor of it.
    expect(before).toMatchObject({ memfds: 0, maps: 1 });
    expect(after).toMatchObject({ memfds: 0, maps: 1 });
    expect(after.fds, JSON.stringify({ before, after })).toBeLessThanOrEqual(before.fds);
    expect(after.threads, JSON.stringify({ before, after })).toBeLessThanOrEqual(before.threads + 2);
    expect(pids).toHaveLength(14);
    expect(await waitGone(pids)).toEqual([]);
  });
});
