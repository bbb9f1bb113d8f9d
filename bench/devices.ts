/*
 * npm run bench:devices [-- --quick]: the device layer's two benchmarks.
 *
 * 1. Pool throughput: N items of a kernel that computes for ~1 ms each, spread by a
 *    DevicePool over 1, 2 and 4 nodes (default depth 2, and depth 1 on 4 nodes), against
 *    one proc of the object model with every item queued on its one context at once (the
 *    best a single proc does). Items per
 *    second, median over rounds; the order of the variants rotates between rounds.
 * 2. evaluate() against a bare C loop: the per-run time the evaluator reports (timed on
 *    the device by its generated timer, and on the host for contrast) beside a C program
 *    that calls the same kernel through a function pointer in a clock_gettime loop
 *    (bench/devices/loop.c), for an empty kernel and a 1000-element sum; and the wall time
 *    of the whole evaluate() call (warm-up, doubling, staging and timer included).
 *
 * Prints markdown tables (numbers go to bench/README.md by hand). Not part of npm test.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";

import { DevicePool, VeoProc, listDevices, loadVeo, openDevice, type EvaluateResult } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    items: { type: "string" },
    ms: { type: "string" },
  },
});
const rounds = Number(opt.rounds ?? (opt.quick ? 1 : 5));
const items = Number(opt.items ?? (opt.quick ? 48 : 240));
const itemMs = Number(opt.ms ?? 1);
const source = readFileSync(join(here, "devices", "kernels.c"), "utf8");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function log(msg: string): void {
  process.stderr.write(`[bench:devices ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Items per second of one proc with every item queued on its one context. */
async function oneProc(): Promise<number> {
  const proc = await VeoProc.create(0);
  try {
    const lib = await proc.loadSource(source);
    const f = lib.declare("long work_item(long i, double ms)");
    const ctx = proc.openContext();
    await f(ctx, 0, itemMs);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: items }, (_, i) => f(ctx, i, itemMs)));
    return items / ((performance.now() - t0) / 1e3);
  } finally {
    proc.destroy();
  }
}

/** Items per second of a DevicePool over nodes 0..n-1, `depth` items in flight per node. */
async function pool(n: number, depth = 2): Promise<number> {
  const p = await DevicePool.open({ nodes: Array.from({ length: n }, (_, i) => i) });
  try {
    const k = await (await p.compile(source)).kernel("long work_item(long i, double ms)");
    await p.run(
      k,
      Array.from({ length: n }, (_, i) => [i, itemMs]),
    );
    const argsList = Array.from({ length: items }, (_, i) => [i, itemMs]);
    const t0 = performance.now();
    const out = await p.run(k, argsList, { depth });
    const rate = items / ((performance.now() - t0) / 1e3);
    if (out[items - 1] !== BigInt((items - 1) ** 2)) throw new Error("pool returned a wrong result");
    return rate;
  } finally {
    p.close();
  }
}

async function throughput(): Promise<void> {
  const nodes = listDevices().length;
  const variants: Array<[string, () => Promise<number>]> = [["one proc, one context (all queued)", oneProc]];
  for (const n of [1, 2, 4])
    if (n <= nodes) variants.push([`DevicePool, ${n} node${n > 1 ? "s" : ""}`, () => pool(n)]);
  if (nodes >= 4) variants.push(["DevicePool, 4 nodes, depth 1", () => pool(4, 1)]);
  const rates = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [name, run] = variants[(v + r) % variants.length];
      rates.get(name)!.push(await run());
    }
    log(`throughput round ${r + 1}/${rounds}`);
  }
  const base = median(rates.get(variants[0][0])!);
  console.log(
    `\n### Pool throughput (${items} items of ~${itemMs} ms, ${rounds} round${rounds > 1 ? "s" : ""})\n`,
  );
  console.log("| variant | items/s, median [min–max] | vs one proc | ideal |");
  console.log("|---|---|---|---|");
  for (const [name] of variants) {
    const xs = rates.get(name)!;
    const nodesUsed = /(\d) node/.exec(name)?.[1] ?? "1";
    console.log(
      `| ${name} | ${median(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}] | ` +
        `${(median(xs) / base).toFixed(2)}× | ${(1000 / itemMs) * Number(nodesUsed)} |`,
    );
  }
}

function cLoop(which: "empty" | "vsum", number: number, n: number): { minNs: number; medianNs: number } {
  const dir = join(here, "build", "devices");
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, "loop");
  const cc = loadVeo().kind === "emulator" ? process.env.CC || "cc" : "/opt/nec/ve/bin/ncc";
  execFileSync(cc, ["-O2", "-o", exe, join(here, "devices", "loop.c"), join(here, "devices", "kernels.c")]);
  const out = execFileSync(exe, [which, String(number), "11", String(n)], { encoding: "utf8" });
  return JSON.parse(out) as { minNs: number; medianNs: number };
}

async function evaluator(): Promise<void> {
  const dev = await openDevice(0);
  try {
    const mod = await dev.compile(source);
    const empty = await mod.kernel("long empty_kernel(void)");
    const vsum = await mod.kernel("double vsum(const double *a, long n)");
    const n = 1000;
    const a = await dev.upload(Float64Array.from({ length: n }, (_, i) => i % 7));
    const minRepeatMs = opt.quick ? 20 : 100;
    const rows: string[] = [];
    for (const [label, k, args, which] of [
      ["empty kernel", empty, [], "empty"],
      [`sum of ${n} doubles`, vsum, [a, n], "vsum"],
    ] as const) {
      const measure = async (timer: "device" | "host"): Promise<[EvaluateResult, number]> => {
        const t0 = performance.now();
        const r = await dev.evaluate(k, args, { number: 1, repeat: 11, minRepeatMs, timer });
        return [r, performance.now() - t0];
      };
      const [d, wallD] = await measure("device");
      const [h] = await measure("host");
      const c = cLoop(which, d.number, which === "vsum" ? n : 0);
      rows.push(
        `| ${label} | ${c.medianNs.toFixed(1)} (min ${c.minNs.toFixed(1)}) | ${(d.median * 1e9).toFixed(1)} (min ${(d.min * 1e9).toFixed(1)}) | ` +
          `${(d.median * 1e9 - c.medianNs).toFixed(1)} | ${(h.median * 1e9).toFixed(0)} | ${d.number} | ${wallD.toFixed(0)} ms |`,
      );
      log(`evaluate: ${label}`);
    }
    a.free();
    console.log(
      `\n### evaluate() against a bare C loop (ns per run, median of 11 repeats, minRepeatMs ${minRepeatMs})\n`,
    );
    console.log(
      `| kernel | C loop | evaluate(), device timer | difference | evaluate(), host timer | runs per repeat | whole evaluate() call (at least 11 × ${minRepeatMs} ms timed) |`,
    );
    console.log("|---|---|---|---|---|---|---|");
    for (const r of rows) console.log(r);
  } finally {
    dev.close();
  }
}

async function main(): Promise<void> {
  const veo = loadVeo();
  console.log(
    `## Device layer (${veo.kind}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}, ${new Date().toISOString().slice(0, 16)}Z)`,
  );
  await throughput();
  await evaluator();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
