/*
 * Several procs at once (on nodes 0, 1, 0, 1, as AVEO's own test does) and a proc owned by a
 * worker thread that exits without destroying it.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";

import { describe, expect, it } from "vitest";

import { VeoHmem, VeoProc } from "../src/index.js";
import { alive } from "./support/checks.js";
import { kernel } from "./support/kernels.js";

describe("several procs", () => {
  it("4 procs on nodes 0, 1, 0, 1: each its own identifier, memory and kernels", async () => {
    const procs = [0, 1, 0, 1].map((n) => new VeoProc(n));
    try {
      expect(procs.map((p) => p.nodeid)).toEqual([0, 1, 0, 1]);
      const ids = procs.map((p) => p.identifier);
      expect(new Set(ids).size).toBe(4);
      const results = await Promise.all(
        procs.map(async (p, i) => {
          const lib = p.loadLibrary(kernel("basic"));
          const ctx = p.openContext();
          const h = p.allocHmem(8);
          VeoHmem.hmemcpy(h, BigInt64Array.of(BigInt(100 + i)), 8);
          expect(VeoHmem.getProcIdentifierFromHmem(h)).toBe(ids[i]);
          expect(VeoHmem.getProcHandleFromHmem(h)).toBe(p);
          const back = new BigInt64Array(1);
          VeoHmem.hmemcpy(back, h, 8);
          p.freeHmem(h);
          return [await lib.declare("int add_one(int x)")(ctx, i), back[0], await ctx.callVh(() => i * 10)];
        }),
      );
      expect(results).toEqual([0, 1, 2, 3].map((i) => [i + 1, BigInt(100 + i), i * 10]));
      const pids = procs.map((p) => p._helperPid());
      expect(new Set(pids).size).toBe(4);
    } finally {
      for (const p of procs) p.destroy();
    }
  });
});

describe("a proc in a worker thread", () => {
  it("works there, and the worker exits cleanly without destroying it (no helper left)", async () => {
    const script = path.resolve(__dirname, "support/proc-worker.ts");
    const boot = path.resolve(__dirname, "support/tsx-worker.mjs");
    const worker = new Worker(boot, { workerData: { script, library: kernel("basic") } });
    const messages: unknown[] = [];
    worker.on("message", (m) => messages.push(m));
    const code = await new Promise<number>((resolve, reject) => {
      worker.on("error", reject);
      worker.on("exit", resolve);
    });
    expect(code).toBe(0);
    const [report] = messages as Array<{ sum: number; vh: number; pid: number }>;
    expect(report).toMatchObject({ sum: 42, vh: 7, hookError: "VeoFailedError" });
    const until = Date.now() + 10_000;
    while (alive(report.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(report.pid)).toBe(false);
  });
});
