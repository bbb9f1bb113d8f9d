/*
 * `veo bench`: a short latency probe of the library in use, for "is this machine sane?"
 * rather than for numbers to publish (the full benchmark is `npm run bench` in a clone,
 * bench/README.md). It builds a one-line kernel, then times rounds of empty calls (submit +
 * wait, submit + await) and of 1-byte and 1 MiB transfers, and prints each round's median.
 */
import { performance } from "node:perf_hooks";

import { loadVeo, VeBuild, VeoProc } from "../index.js";
import { EXIT, intOption, table, toJson, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "a short latency probe of the library in use";

const USAGE = `usage: veo bench [--calls <n>] [--rounds <n>] [--node <n>] [--json]

A short latency probe (a few seconds): builds an empty kernel, then times submit + wait(),
submit + await, 1-byte writeMem/readMem and 1 MiB writeMem/readMem on a new VE process.
Prints the median and best per operation over the rounds. The full benchmark, with a C
client beside the binding, is \`npm run bench\` in a clone of the repository.

options:
      --calls <n>    operations per round (default 2000; 1 MiB transfers: n/20)
      --rounds <n>   rounds (default 5)
      --node <n>     VE node (default 0)
      --json         print {library, node, calls, rounds, results: [{what, unit, median, best}]}
  -h, --help         this text

exit: 0 measured, 1 the kernel could not be built or the process not started, 2 bad usage.
`;

const KERNEL = "long veo_bench_echo(long x) { return x; }\n";

interface Result {
  what: string;
  unit: "us/op" | "GB/s";
  median: number;
  best: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function rounds(n: number, body: () => Promise<void> | void): Promise<number[]> {
  await body(); // warm-up
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    await body();
    out.push(performance.now() - t0);
  }
  return out;
}

const OPTIONS = {
  calls: { type: "string" },
  rounds: { type: "string" },
  node: { type: "string" },
} as const;

async function bench({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const calls = Math.max(1, intOption(o.calls, "calls", 2000, 10_000_000));
  const nRounds = Math.max(1, intOption(o.rounds, "rounds", 5, 1000));
  const node = intOption(o.node, "node", 0);
  const so = await VeBuild.so(KERNEL);
  const proc = await VeoProc.create(node);
  try {
    const echo = proc.loadLibrary(so).declare("long veo_bench_echo(long x)");
    const ctx = proc.openContext();
    const small = new Uint8Array(1);
    const bigN = Math.max(1, Math.floor(calls / 20));
    const big = new Uint8Array(1 << 20);
    const ve = proc.allocMem(big.byteLength);
    // Each probe: one operation, repeated `ops` times per round.
    const probes: {
      what: string;
      unit: Result["unit"];
      ops: number;
      op: (i: number) => void | PromiseLike<unknown>;
    }[] = [
      { what: "call: submit + wait()", unit: "us/op", ops: calls, op: (i) => void echo(ctx, i).wait() },
      { what: "call: submit + await", unit: "us/op", ops: calls, op: (i) => echo(ctx, i) },
      { what: "writeMem 1 B", unit: "us/op", ops: calls, op: () => proc.writeMem(ve, small, 1) },
      { what: "readMem 1 B", unit: "us/op", ops: calls, op: () => proc.readMem(small, ve, 1) },
      { what: "writeMem 1 MiB", unit: "GB/s", ops: bigN, op: () => proc.writeMem(ve, big) },
      { what: "readMem 1 MiB", unit: "GB/s", ops: bigN, op: () => proc.readMem(big, ve) },
    ];
    const results: Result[] = [];
    for (const p of probes) {
      const awaits = p.what.endsWith("await");
      const ms = await rounds(nRounds, async () => {
        for (let i = 0; i < p.ops; i++) {
          const r = p.op(i);
          if (awaits) await r;
        }
      });
      const xs =
        p.unit === "GB/s"
          ? ms.map((t) => (p.ops * big.byteLength) / (t * 1e6))
          : ms.map((t) => (t * 1000) / p.ops);
      results.push({
        what: p.what,
        unit: p.unit,
        median: median(xs),
        best: p.unit === "GB/s" ? Math.max(...xs) : Math.min(...xs),
      });
    }
    const library = loadVeo();
    if (o.json) {
      io.out(
        toJson({
          library: { path: library.path, kind: library.kind },
          node,
          calls,
          rounds: nRounds,
          results,
        }),
      );
    } else {
      io.out(`${library.kind} ${library.path}, node ${node}, ${nRounds} rounds of ${calls}\n`);
      io.out(
        table([
          ["WHAT", "MEDIAN", "BEST", "UNIT"],
          ...results.map((r) => [r.what, r.median.toFixed(2), r.best.toFixed(2), r.unit]),
        ]),
      );
    }
    return EXIT.ok;
  } finally {
    proc.destroy();
  }
}

export const benchCommand = defineCommand("bench", SUMMARY, USAGE, OPTIONS, bench);
