/*
 * Latency of one call under load: `await f(ctx)` and `f(ctx).wait()`, each call timed on its
 * own, on a quiet machine and with CPU-burning neighbour processes (one per CPU by default,
 * plain `for (;;) {}` loops in other Node processes). Prints p50 / p90 / p99 / max per form
 * and condition, in µs, and the 1-minute load average when the condition ended (load that
 * is not ours shows there). The forms alternate in blocks, so a drift in machine load hits
 * both.
 *
 *   tsx bench/load.ts [--calls 20000] [--block 1000] [--burners <cpus>] [--json]
 *
 * The kernel is `uint64_t empty(void)`, built with VeBuild (cached after the first run).
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { VeBuild, VeoProc } from "../src/index.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const calls = arg("calls", 20_000);
const block = arg("block", 1000);
const burnerCount = arg("burners", os.availableParallelism());
const json = process.argv.includes("--json");

const so = await new VeBuild()
  .setCSrc("load_kernels", "#include <stdint.h>\nuint64_t empty(void) { return 0; }\n")
  .buildSo();
const proc = new VeoProc(0);
const burners: ChildProcess[] = [];
const stopBurners = (): void => {
  for (const b of burners.splice(0)) b.kill("SIGKILL");
};
process.on("exit", stopBurners);

type Form = (samples: number[], n: number) => void | Promise<void>;

try {
  const f = proc.loadLibrary(so).declare("uint64_t empty(void)");
  const ctx = proc.openContext();
  const forms: Record<string, Form> = {
    await: async (samples, n) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await f(ctx);
        samples.push(performance.now() - t0);
      }
    },
    "wait()": (samples, n) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        f(ctx).wait();
        samples.push(performance.now() - t0);
      }
    },
  };

  const measure = async (): Promise<Record<string, number[]>> => {
    const out: Record<string, number[]> = {};
    for (const name of Object.keys(forms)) out[name] = [];
    for (const form of Object.values(forms)) await form([], block); // warm-up
    for (let done = 0; done < calls; done += block) {
      for (const [name, form] of Object.entries(forms)) await form(out[name], block);
    }
    return out;
  };

  const pct = (xs: number[], p: number): number =>
    xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const report: Record<string, Record<string, Record<string, number>>> = {};
  const show = (condition: string, res: Record<string, number[]>): void => {
    report[condition] = {};
    if (!json) console.log(`${condition}: load average ${os.loadavg()[0].toFixed(1)}`);
    for (const [name, xs] of Object.entries(res)) {
      xs.sort((a, b) => a - b);
      const us = (v: number): number => Math.round(v * 1000 * 100) / 100;
      const row = {
        p50: us(pct(xs, 50)),
        p90: us(pct(xs, 90)),
        p99: us(pct(xs, 99)),
        max: us(xs[xs.length - 1]),
      };
      report[condition][name] = row;
      if (!json) {
        console.log(
          `${condition.padEnd(28)} ${name.padEnd(8)} p50 ${row.p50} µs  p90 ${row.p90}  p99 ${row.p99}  max ${row.max}` +
            `  (p99/p50 ${(row.p99 / row.p50).toFixed(1)}×)`,
        );
      }
    }
  };

  show("quiet", await measure());
  for (let i = 0; i < burnerCount; i++) {
    burners.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  }
  await new Promise((r) => setTimeout(r, 300)); // let them start burning
  show(`${burnerCount} CPU burner${burnerCount === 1 ? "" : "s"}`, await measure());
  stopBurners();
  if (json)
    console.log(JSON.stringify({ calls, block, burners: burnerCount, loadavg: os.loadavg(), report }));
} finally {
  stopBurners();
  proc.destroy();
}
