/*
 * npm run bench [-- options]: veo-ts's benchmarks, the binding beside a C client on the same
 * libveo in one run. Compiles the C client and the kernels (bench/lib/setup.ts), then runs
 * rounds; in each round every section runs once in the C client and once in the binding
 * client (alternating which goes first), so slow drifts in machine load hit both alike.
 * The paired section instead times the C client's loops and the binding's side by side in
 * one process (bench/binding/paired.ts), once per round, so each pair shares one machine state.
 * Each figure is the median over rounds, with min and max. Prints markdown tables and the
 * targets, writes results.json and results.svg (bench/ for a full run, bench/build/ for
 * --quick unless --out is given).
 *
 * Options:
 *   --quick                 short run (~1 minute): fewer N, sizes and rounds
 *   --rounds <k>            override the number of rounds
 *   --only <list>           sections: calls,xfer,bw,paired,memory,vebuild (default: all)
 *   --c-only                skip the binding client
 *   --library <path>        the libveo.so.1 to measure (default: see bench/lib/setup.ts)
 *   --include <dir>         directory with its ve_offload.h (real libveo)
 *   --kernel-cc <path>      compiler for bench/kernels (default gcc, or ncc on a VE host)
 *   --cpu-prof <dir>        run the binding client under node --cpu-prof, profiles in <dir>
 *   --out <prefix>          write <prefix>.json and <prefix>.svg
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runJsonLines, recordSamples, type Record } from "./lib/clients.js";
import { makePlan, type Plan } from "./lib/plan.js";
import { callTables, memoryAndBuildTables, pairedTable, targetTable, transferTables } from "./lib/report.js";
import { benchDir, buildNative, chooseTarget, repoDir, type Built } from "./lib/setup.js";
import { SampleSet } from "./lib/stats.js";
import { renderSvg } from "./lib/svg.js";
import { evaluateTargets } from "./lib/targets.js";

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    "c-only": { type: "boolean", default: false },
    library: { type: "string" },
    include: { type: "string" },
    "kernel-cc": { type: "string" },
    "cpu-prof": { type: "string" },
    out: { type: "string" },
  },
});

const plan: Plan = makePlan(opt.quick ?? false);
if (opt.rounds) plan.rounds = Number(opt.rounds);
const sections = new Set((opt.only ?? "calls,xfer,bw,paired,memory,vebuild").split(","));
const samples = new SampleSet();
const notes: string[] = [];
const bindingClient = join(benchDir, "binding-client.ts");

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function collect(client: "c" | "binding", records: Record[]): void {
  for (const r of records) {
    if (r.kind === "bw" && r.error !== undefined) {
      const note = `${client}: ${r.mode} ${r.dir} ${r.size} B: ${String(r.error)}`;
      if (!notes.includes(note)) notes.push(note);
    }
    for (const { key, value } of recordSamples(client, r)) samples.add(key, value);
  }
}

async function runC(built: Built, args: string[], label: string): Promise<Record[]> {
  const { records } = await runJsonLines(built.client, args, { label: `C client ${label}` });
  collect("c", records);
  return records;
}

function bindingEnv(built: Built): NodeJS.ProcessEnv {
  return { ...process.env, VEO_LIBRARY: built.target.library };
}

async function runBinding(
  built: Built,
  args: string[],
  label: string,
  nodeFlags: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Record[]> {
  const prof = opt["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${resolve(opt["cpu-prof"])}`] : [];
  const { records } = await runJsonLines(
    process.execPath,
    [...nodeFlags, ...prof, "--import", "tsx", bindingClient, ...args],
    {
      label: `binding client ${label}`,
      env: { ...bindingEnv(built), ...env },
      cwd: repoDir,
      timeoutMs: 1_200_000,
    },
  );
  collect("binding", records);
  return records;
}

const list = (xs: number[]) => xs.join(",");

/** One section, both clients, in the given order. */
async function pair(
  built: Built,
  haveBinding: boolean,
  cFirst: boolean,
  label: string,
  args: string[],
): Promise<void> {
  const jobs = [
    () => runC(built, args, label),
    () => (haveBinding ? runBinding(built, args, label) : Promise.resolve([])),
  ];
  for (const job of cFirst ? jobs : jobs.reverse()) await job();
}

async function probeBinding(built: Built): Promise<string | undefined> {
  if (opt["c-only"]) return "skipped (--c-only)";
  if (!existsSync(bindingClient)) return "bench/binding-client.ts is not there yet";
  try {
    const recs = await runBinding(built, ["info"], "info");
    const info = recs.find((r) => r.kind === "info");
    log(`binding: ${JSON.stringify(info)}`);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  const target = await chooseTarget({
    library: opt.library,
    include: opt.include,
    kernelCc: opt["kernel-cc"],
  });
  log(`library: ${target.library} (${target.backend}; ${target.why})`);
  const built = buildNative(target);
  const info = (await runC(built, ["info"], "info")).find((r) => r.kind === "info");
  const bindingProblem = await probeBinding(built);
  const haveBinding = bindingProblem === undefined;
  if (!haveBinding) {
    log(`binding variants skipped: ${bindingProblem}`);
    notes.push(`binding variants not measured: ${bindingProblem}`);
  }
  const k = built.kernels;

  const roundLoad: number[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    const cFirst = round % 2 === 0;
    roundLoad.push(Number(loadavg()[0].toFixed(2)));
    log(`round ${round + 1}/${plan.rounds} (${cFirst ? "C" : "binding"} first), load ${roundLoad[round]}`);
    if (sections.has("calls")) {
      // Every N in one process per client (a warm JIT, as a long-running program has); both
      // clients collect Test 3's leftovers untimed after each batch, so no N inherits them.
      await pair(built, haveBinding, cFirst, "calls", [
        "calls",
        `kernels=${k}`,
        "tests=1234",
        `n=${list(plan.ns)}`,
        `min_calls=${plan.minCalls}`,
      ]);
    }
    if (sections.has("xfer")) {
      await pair(built, haveBinding, cFirst, "xfer-latency", ["xfer-latency", `iters=${plan.xferIters}`]);
    }
    if (sections.has("bw")) {
      for (const mode of ["sync", "async", "stack"]) {
        const sizes = mode === "stack" ? plan.stackSizes : plan.bwSizes;
        await pair(built, haveBinding, cFirst, `bw ${mode}`, [
          "bw",
          `mode=${mode}`,
          `kernels=${k}`,
          `sizes=${list(sizes)}`,
          `budget=${plan.bwBudget}`,
          `max_loops=${plan.bwMaxLoops}`,
        ]);
      }
      await runC(
        built,
        [
          "memcpy",
          `sizes=${list(plan.memcpySizes)}`,
          `budget=${plan.bwBudget}`,
          `max_loops=${plan.bwMaxLoops}`,
        ],
        "memcpy",
      );
    }
    if (sections.has("paired") && haveBinding) {
      // One binding-client process runs both sides; the round decides which side its first
      // pair starts with, and the pairs alternate from there.
      await runBinding(
        built,
        [
          "paired",
          `kernels=${k}`,
          `loops=${built.loops}`,
          `n=${list(plan.pairedNs)}`,
          `samples=${plan.pairedSamples}`,
          `min_calls=${plan.pairedMinCalls}`,
          `iters=${plan.pairedIters}`,
          `first=${cFirst ? "c" : "binding"}`,
        ],
        "paired",
      );
    }
  }

  if (sections.has("memory")) {
    for (let i = 0; i < plan.memRounds; i++) {
      log(`memory ${i + 1}/${plan.memRounds}`);
      await runC(built, ["idle-rss"], "idle-rss");
      await runC(built, ["inflight-rss", `kernels=${k}`, `n=${plan.inflightN}`], "inflight-rss");
      if (haveBinding) {
        await runBinding(
          built,
          ["inflight-rss", `kernels=${k}`, `n=${plan.inflightN}`],
          "inflight-rss",
          ["--expose-gc"],
          { VE_OMP_NUM_THREADS: "1" },
        ); // upstream allows a second context only with this
      }
    }
  }
  if (sections.has("vebuild") && haveBinding) {
    for (let i = 0; i < plan.vebuildRounds; i++) {
      log(`VeBuild ${i + 1}/${plan.vebuildRounds}`);
      // A fresh cache: the first process builds cold, the second finds it cached.
      const cache = mkdtempSync(join(tmpdir(), "veo-ts-bench-vebuild-"));
      try {
        await runBinding(built, ["vebuild", `cache=${cache}`], "vebuild cold");
        await runBinding(built, ["vebuild", `cache=${cache}`], "vebuild cached");
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
  }

  const targets = evaluateTargets(samples, plan);
  const loadAfter = loadavg();
  const meta = {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    host: hostname(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
    /** 1-minute load average at the start of each round (the bench itself adds about 2) */
    loadavgPerRound: roundLoad,
    node: process.version,
    backend: target.backend,
    library: target.library,
    libraryInfo: info,
    binding: haveBinding ? "measured" : bindingProblem,
    plan,
  };
  const report = [
    `## veo-ts bench (${plan.quick ? "quick" : "full"} run, ${meta.startedAt}, ${target.backend}: ${String(info?.version ?? "")})`,
    `${meta.cores} × ${meta.cpu}; load average before ${loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${loadAfter.map((x) => x.toFixed(2)).join(" ")}; ${plan.rounds} rounds; ${meta.seconds} s`,
    sections.has("calls") ? callTables(samples, plan) : "",
    sections.has("xfer") || sections.has("bw") ? transferTables(samples, plan) : "",
    sections.has("paired") && haveBinding ? pairedTable(samples, plan) : "",
    sections.has("memory") || sections.has("vebuild") ? memoryAndBuildTables(samples, plan) : "",
    targetTable(targets),
    notes.length ? `### Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}` : "",
  ]
    .filter(Boolean)
    .join("\n\n");
  process.stdout.write(report + "\n");

  const prefix = opt.out
    ? resolve(opt.out)
    : plan.quick
      ? join(benchDir, "build", "results-quick")
      : join(benchDir, "results");
  mkdirSync(resolve(prefix, ".."), { recursive: true });
  const json = JSON.stringify({ meta, figures: samples.toJSON(), targets, notes }, null, 2);
  writeFileSync(`${prefix}.json.tmp`, json + "\n");
  renameSync(`${prefix}.json.tmp`, `${prefix}.json`);
  const subtitle = `${target.backend} (${String(info?.version ?? "")}), ${meta.cores} × ${meta.cpu}, ${plan.rounds} rounds, ${meta.startedAt.slice(0, 16)}Z`;
  writeFileSync(`${prefix}.svg`, renderSvg(samples, plan, subtitle) + "\n");
  writeFileSync(`${prefix}.md`, report + "\n");
  log(`wrote ${prefix}.json, ${prefix}.svg, ${prefix}.md`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
