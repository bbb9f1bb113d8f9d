/*
 * Soak test (`npm run soak`; `npm run soak -- --short` is what npm test runs): many calls,
 * allocations, procs, contexts and worker threads in a row, with RSS, open fds and live
 * helper processes measured before and after each phase (after a warm-up pass of the same
 * work). Targets: RSS growth < 10 % after warm-up, fd and helper counts flat. Prints a
 * table and a JSON line; exits 1 when a count is not flat (RSS is reported, and checked
 * only in the full run, where it is not noise).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

import { VeoProc } from "../src/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SHORT = process.argv.includes("--short");
const SCALE = SHORT ? 0.01 : 1;
process.env.VE_OMP_NUM_THREADS = "1";

const KERNEL = "long add1(long x) { return x + 1; }\n";

interface Sample {
  rss: number;
  heap: number;
  fds: number;
  /** Mappings of the emulator's shared memory (one per live proc). */
  shm: number;
  helpers: number;
}

function sample(): Sample {
  return {
    rss: process.memoryUsage.rss(),
    heap: process.memoryUsage().heapUsed,
    fds: fs.readdirSync("/proc/self/fd").length,
    shm: fs
      .readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .filter((l) => l.includes("veo-emu")).length,
    helpers: childCount(),
  };
}

/** Live (non-zombie) child processes of this process: the VE processes' helpers. */
function childCount(): number {
  let n = 0;
  for (const tid of fs.readdirSync("/proc/self/task")) {
    let kids: string;
    try {
      kids = fs.readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
    } catch {
      continue;
    }
    for (const pid of kids.split(" ").filter(Boolean)) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
        if (!/\) [ZX] /.test(stat)) n++;
      } catch {
        /* gone already */
      }
    }
  }
  return n;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
  (globalThis as { gc?: () => void }).gc?.();
}

interface Row {
  phase: string;
  count: number;
  perSec: number;
  before: Sample;
  after: Sample;
}

const rows: Row[] = [];

/** Runs `work(n)` once to warm up, then measures a second run of `n`. */
async function phase(name: string, n: number, work: (n: number) => Promise<void>): Promise<void> {
  await work(Math.max(1, Math.round(n / 10)));
  await settle();
  const before = sample();
  const t0 = performance.now();
  await work(n);
  const secs = (performance.now() - t0) / 1000;
  await settle();
  const after = sample();
  rows.push({ phase: name, count: n, perSec: n / secs, before, after });
  console.error(`${name}: ${n} in ${secs.toFixed(1)} s`);
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const proc = new VeoProc(0);
  const lib = await proc.loadSource(KERNEL);
  const add1 = lib.declare("long add1(long x)");
  const ctx = proc.openContext();

  await phase("calls (await)", Math.round(1e6 * SCALE), async (n) => {
    const batch = 1000;
    for (let i = 0; i < n; i += batch) {
      const rs = [];
      for (let j = 0; j < batch && i + j < n; j++) rs.push(add1(ctx, i + j));
      await Promise.all(rs);
    }
  });

  await phase("alloc/free", Math.round(1e5 * SCALE), (n) => {
    for (let i = 0; i < n; i++) proc.freeMem(proc.allocMem(64 + (i % 7) * 512));
    return Promise.resolve();
  });

  await phase("context open/call/close", Math.round(1e4 * SCALE), async (n) => {
    for (let i = 0; i < n; i++) {
      const c = proc.openContext();
      await add1(c, i);
      c.close();
    }
  });

  await phase("proc create/call/destroy", Math.round(1e3 * SCALE), async (n) => {
    for (let i = 0; i < n; i++) {
      const p = i % 2 === 0 ? new VeoProc(0) : await VeoProc.create(0);
      const f = p.loadLibrary(lib.name).declare("long add1(long x)");
      await f(p.openContext(), i);
      p.destroy();
    }
  });

  const workers = SHORT ? 1 : 20;
  await phase("workers ending normally", workers, async (n) => {
    for (let i = 0; i < n; i++) await runWorker(lib.name, false);
  });
  // A terminated worker runs no JavaScript: its thread's exit destroys its procs (the
  // emulator's veo_emu_proc_tie_thread) and kills their helpers (native/thread-exit.ts).
  await phase("workers terminated", workers, async (n) => {
    for (let i = 0; i < n; i++) await runWorker(lib.name, true);
  });

  proc.destroy();
  report();
}

const WORKER = (libPath: string): string => `
  (async () => {
    const { workerData, parentPort } = await import("node:worker_threads");
    (await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/esm/api/index.mjs")).href)})).register();
    const { VeoProc } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "src/index.ts")).href)});
    const p = new VeoProc(0);
    await p.loadLibrary(${JSON.stringify(libPath)}).declare("long add1(long x)")(p.openContext(), 1);
    parentPort.postMessage("ready");
    if (workerData.terminate) setInterval(() => {}, 1000);
  })();
`;

async function runWorker(libPath: string, terminate: boolean): Promise<void> {
  const w = new Worker(WORKER(libPath), { eval: true, workerData: { terminate } });
  await new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  if (terminate) await w.terminate();
  else await new Promise((r) => w.once("exit", r));
}

function report(): void {
  const lines = ["| phase | count | per s | RSS before → after (MiB) | growth | fds | shm maps | helpers |"];
  lines.push("|---|---:|---:|---|---:|---|---|---|");
  let flat = true;
  let rssOk = true;
  for (const r of rows) {
    const growth = (r.after.rss - r.before.rss) / r.before.rss;
    if (r.after.fds > r.before.fds || r.after.shm > r.before.shm || r.after.helpers > r.before.helpers)
      flat = false;
    if (growth >= 0.1) rssOk = false;
    lines.push(
      `| ${r.phase} | ${r.count} | ${r.perSec >= 100 ? Math.round(r.perSec) : r.perSec.toFixed(2)} | ${mib(r.before.rss)} → ${mib(r.after.rss)} | ` +
        `${(growth * 100).toFixed(1)} % | ${r.before.fds} → ${r.after.fds} | ${r.before.shm} → ${r.after.shm} | ` +
        `${r.before.helpers} → ${r.after.helpers} |`,
    );
  }
  console.log(lines.join("\n"));
  console.log(JSON.stringify({ short: SHORT, flat, rssOk, rows }));
  if (!flat || (!SHORT && !rssOk)) process.exitCode = 1;
}

await main();
