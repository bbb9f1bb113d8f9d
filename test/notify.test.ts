/*
 * The pump's wake-up on the event loop itself (src/notify.ts; the emulator's notify pipe,
 * veo_emu_notify_fd / veo_emu_arm / veo_emu_wait_result_for): what it must keep from the pool
 * wait it replaces on the emulator. Awaited requests settle with their own results in
 * submission order on many contexts and procs; a pending await keeps Node alive and nothing
 * else does; a killed VE process settles what was armed; timeouts and aborts still work; a
 * worker thread uses it; the pipe's ends go only where they belong (the helper's write end,
 * one reader per proc in this process, none in libveo). The same order test runs
 * on an emulator build without the extensions (the pool path). No timing is asserted.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

import { afterAll, describe, expect, it } from "vitest";

import { CommandState } from "../src/constants.js";
import { nativeRegister } from "../src/native/api.js";
import { notifierOf, type Notifier } from "../src/notify.js";
import { VeoProc, VeoProcessDead, VeoTimeoutError, type VeoCtxt, type VeoLibrary } from "../src/index.js";
import { alive } from "./support/checks.js";
import { runChild, waitGone } from "./support/child.js";
import { kernel, partialEmulator } from "./support/kernels.js";

process.env.VE_OMP_NUM_THREADS = "1";

const EXTENSIONS = ["veo_emu_notify_fd", "veo_emu_arm", "veo_emu_wait_result_for"];

const procs: VeoProc[] = [];
afterAll(() => {
  for (const p of procs.splice(0)) p.destroy();
});

function open(library?: string): { proc: VeoProc; lib: VeoLibrary; ctx: VeoCtxt } {
  const proc = new VeoProc(0, library === undefined ? {} : { library });
  procs.push(proc);
  const lib = proc.loadLibrary(kernel("basic"));
  return { proc, lib, ctx: proc.openContext() };
}

/** The net.Socket handles that keep the event loop alive right now. */
function refSockets(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof net.Socket).length;
}

/**
 * Requests of mixed lengths on every context of `procs`, awaited in a shuffled order: each
 * context's listeners must be told in submission order, each with its own result.
 */
async function mixedOrder(setups: Array<{ proc: VeoProc; lib: VeoLibrary }>, perProc: number): Promise<void> {
  const runs: Array<Promise<void>> = [];
  const logs: Array<{ seen: number[]; expected: number[] }> = [];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const { proc, lib } of setups) {
    const sleep = lib.declare("int do_sleep(int ms)");
    const addOne = lib.declare("int add_one(int x)");
    for (let c = 0; c < perProc; c++) {
      const ctx = proc.openContext();
      const log = { seen: [] as number[], expected: [] as number[] };
      logs.push(log);
      const reqs = Array.from({ length: 60 }, (_, i) => {
        log.expected.push(i);
        // Every 10th a 2-3 ms kernel: the ones after it wait behind it (armed, not spun).
        return i % 10 === 5 ? sleep(ctx, 2 + (i % 2)).then(() => i) : addOne(ctx, i).then((v) => v - 1);
      });
      const order = reqs.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rand(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const i of order) {
        runs.push(
          reqs[i].then((v) => {
            expect(v).toBe(i);
            log.seen.push(i);
          }),
        );
      }
    }
  }
  await Promise.all(runs);
  for (const log of logs) expect(log.seen).toEqual(log.expected);
}

describe("awaiting through the notify pipe (emulator)", () => {
  it("an await of a long kernel holds one ref'd socket while it waits, none after", async () => {
    const { lib, ctx } = open();
    const sleep = lib.declare("int do_sleep(int ms)");
    expect(await sleep(ctx, 1)).toBe(1); // the proc's pipe is open now
    const before = refSockets();
    const r = sleep(ctx, 300);
    const during = new Promise<number>((resolve) => setTimeout(() => resolve(refSockets()), 100));
    expect(await r).toBe(300);
    expect(await during).toBe(before + 1);
    expect(refSockets()).toBe(before);
  });

  it("settles in submission order with the right results on 2 procs × 4 contexts", async () => {
    await mixedOrder([open(), open()], 4);
  });

  it("the same on an emulator without the extensions (the pool wait), with no socket held", async () => {
    const setup = open(partialEmulator(EXTENSIONS));
    expect(setup.proc._api.veo_emu_arm).toBeUndefined();
    const sleep = setup.lib.declare("int do_sleep(int ms)");
    const before = refSockets();
    const r = sleep(setup.ctx, 200);
    const during = new Promise<number>((resolve) => setTimeout(() => resolve(refSockets()), 80));
    expect(await r).toBe(200);
    expect(await during).toBe(before);
    await mixedOrder([setup], 3);
  });

  it("timeouts and aborts of an armed await leave the request collectable", async () => {
    const { lib, ctx } = open();
    const sleep = lib.declare("int do_sleep(int ms)");
    const r = sleep(ctx, 300);
    await expect(r.result({ timeoutMs: 20 })).rejects.toBeInstanceOf(VeoTimeoutError);
    const ac = new AbortController();
    const aborted = r.result({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await expect(aborted).rejects.toThrow("stop");
    expect(await r).toBe(300);
    expect(await sleep(ctx, 1)).toBe(1);
  });

  it("wait() and peek() may collect an armed request; its late byte is harmless", async () => {
    const { lib, ctx } = open();
    const sleep = lib.declare("int do_sleep(int ms)");
    const addOne = lib.declare("int add_one(int x)");
    const r = sleep(ctx, 100);
    const p = r.then((v) => v * 2);
    await new Promise((res) => setTimeout(res, 20)); // armed by now
    expect(r.wait()).toBe(100);
    expect(await p).toBe(200);
    for (let i = 0; i < 50; i++) expect(await addOne(ctx, i)).toBe(i + 1);
  });

  it("a VE process killed while requests on two contexts are armed rejects both", async () => {
    const { proc, lib, ctx } = open();
    const ctx2 = proc.openContext();
    const sleep = lib.declare("int do_sleep(int ms)");
    const a = sleep(ctx, 20_000).then(
      () => "resolved",
      (e: unknown) => e,
    );
    const b = sleep(ctx2, 20_000).then(
      () => "resolved",
      (e: unknown) => e,
    );
    await new Promise((res) => setTimeout(res, 100));
    const pid = proc._helperPid() as number;
    process.kill(pid, "SIGKILL");
    expect(await a).toBeInstanceOf(VeoProcessDead);
    expect(await b).toBeInstanceOf(VeoProcessDead);
    expect(proc.dead).toBe(true);
    expect(await waitGone([pid])).toEqual([]);
  });

  it("veo_emu_arm and veo_emu_wait_result_for: 1 while running, 0 once finished or unknown", async () => {
    const { proc, lib, ctx } = open();
    const api = proc._api;
    const arm = api.veo_emu_arm as NonNullable<typeof api.veo_emu_arm>;
    const timed = api.veo_emu_wait_result_for as NonNullable<typeof api.veo_emu_wait_result_for>;
    const sleep = lib.declare("int do_sleep(int ms)");
    const r = sleep(ctx, 200);
    const reg = nativeRegister().addr;
    expect(arm(ctx._handle, r.id)).toBe(1);
    expect(timed(ctx._handle, r.id, reg, 1_000_000)).toBe(CommandState.UNFINISHED);
    expect(await r).toBe(200); // collected through the pump: the arming was the pump's own
    const q = sleep(ctx, 1);
    q.wait();
    expect(arm(ctx._handle, q.id)).toBe(0); // collected already
    expect(arm(ctx._handle, 123_456_789)).toBe(0); // never submitted
    expect(timed(ctx._handle, 123_456_789, reg, 1000)).toBe(CommandState.ERROR);
  });

  it("the proc's pipe: one reader in this process, from creation to destroy()", async () => {
    const before = fs.readdirSync("/proc/self/fd").length;
    const { proc, lib, ctx } = open();
    const n = notifierOf(proc, proc._api, proc._handle) as Notifier;
    expect(n).not.toBeNull();
    const pipe = fs.readlinkSync(`/proc/self/fd/${n.fd}`);
    expect(pipe).toMatch(/^pipe:/);
    const links = (pid: number | string): string[] =>
      fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      });
    expect(links("self").filter((l) => l === pipe)).toHaveLength(1); // libveo holds none
    expect(links(proc._helperPid() as number).filter((l) => l === pipe)).toHaveLength(1);
    expect(fs.readdirSync("/proc/self/fd").length).toBe(before + 1);
    expect(await lib.declare("int do_sleep(int ms)")(ctx, 100)).toBe(100);
    expect(fs.readdirSync("/proc/self/fd").length).toBe(before + 1); // the same while used
    proc.destroy();
    await new Promise((res) => setImmediate(res));
    expect(links("self")).not.toContain(pipe);
  });

  it("each helper holds its own proc's pipe only, and Node's children none", () => {
    const a = open();
    const b = open();
    const pipeOf = (p: VeoProc): string =>
      fs.readlinkSync(`/proc/self/fd/${(notifierOf(p, p._api, p._handle) as Notifier).fd}`);
    const linksOf = (pid: number): string[] =>
      fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      });
    const pa = a.proc._helperPid() as number;
    const pb = b.proc._helperPid() as number;
    const notifyA = pipeOf(a.proc);
    const notifyB = pipeOf(b.proc);
    expect(notifyA).not.toBe(notifyB);
    expect(linksOf(pa)).toContain(notifyA);
    expect(linksOf(pb)).toContain(notifyB);
    expect(linksOf(pb)).not.toContain(notifyA);
    expect(linksOf(pa)).not.toContain(notifyB);
    const child = execFileSync("/bin/sh", ["-c", "ls -l /proc/$$/fd"], { encoding: "utf8" });
    expect(child).not.toContain(notifyA.slice(5));
    expect(child).not.toContain(notifyB.slice(5));
    expect(alive(pa) && alive(pb)).toBe(true);
  });
});

describe("Node's exit", () => {
  it("an await keeps Node alive until it settles; a request nobody awaits, or a closed context, does not", async () => {
    const r = await runChild(
      `
      import { VeoProc } from "SRC";
      import { kernel } from "KERNELS";
      const proc = new VeoProc(0, { killGraceMs: 100 });
      const lib = proc.loadLibrary(kernel("basic"));
      const sleep = lib.declare("int do_sleep(int ms)");
      const ctx = proc.openContext();
      // Nothing else keeps this process alive while it waits.
      console.log("awaited", await sleep(ctx, 400));
      sleep(ctx, 30000); // submitted, never awaited
      // Another proc: its context closes while an await on it is armed.
      const proc2 = new VeoProc(0, { killGraceMs: 100 });
      const sleep2 = proc2.loadLibrary(kernel("basic")).declare("int do_sleep(int ms)");
      const ctx2 = proc2.openContext();
      void sleep2(ctx2, 30000).then(() => console.log("late"), () => console.log("closed"));
      await new Promise((r) => setTimeout(r, 100)); // armed by now
      ctx2.close();
      console.log("pid2", proc2._helperPid());
      console.log("pid", proc._helperPid());
      `,
      { timeoutMs: 60_000 },
    );
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("awaited 400");
    expect(r.stdout).toContain("closed");
    expect(r.stdout).not.toContain("late");
    expect(r.ms).toBeLessThan(25_000);
    const pids = [/pid (\d+)/, /pid2 (\d+)/].map((re) => Number(re.exec(r.stdout)?.[1]));
    expect(pids.every((p) => p > 0)).toBe(true);
    expect(await waitGone(pids)).toEqual([]);
  });

  it("a worker thread awaits through its own pipe and exits cleanly", async () => {
    const r = await runChild(
      `
      import { Worker } from "node:worker_threads";
      import { pathToFileURL } from "node:url";
      const code = \`
        (async () => {
          const { parentPort } = await import("node:worker_threads");
          (await import(\${JSON.stringify(pathToFileURL(process.cwd() + "/node_modules/tsx/dist/esm/api/index.mjs").href)})).register();
          const { VeoProc } = await import(\${JSON.stringify(pathToFileURL("SRC").href)});
          const { kernel } = await import(\${JSON.stringify(pathToFileURL("KERNELS").href)});
          const proc = new VeoProc(0);
          const lib = proc.loadLibrary(kernel("basic"));
          const sleep = lib.declare("int do_sleep(int ms)");
          const addOne = lib.declare("int add_one(int x)");
          const ctx = proc.openContext();
          let sum = 0;
          for (let i = 0; i < 200; i++) sum += await addOne(ctx, i);
          for (let i = 0; i < 5; i++) sum += await sleep(ctx, 3);
          const all = await Promise.all(Array.from({ length: 100 }, (_, i) => addOne(ctx, i)));
          parentPort.postMessage({ sum, all: all.join(","), pid: proc._helperPid() });
        })();
      \`;
      const w = new Worker(code, { eval: true });
      const msg = await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
      await new Promise((r) => w.once("exit", r));
      console.log(JSON.stringify(msg));
      `,
      { timeoutMs: 90_000 },
    );
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const msg = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as {
      sum: number;
      all: string;
      pid: number;
    };
    expect(msg.sum).toBe((200 * 201) / 2 + 15);
    expect(msg.all).toBe(Array.from({ length: 100 }, (_, i) => i + 1).join(","));
    expect(await waitGone([msg.pid])).toEqual([]);
  });
});
