/*
 * The emulator's C conformance suite. Builds the C kernels (kernels/*.c -> lib*.so), two
 * static helpers (mk_veorun_static) and the host programs (cases/*.c, linked against the
 * emulator's libveo.so.1) once per content of everything they depend on (shared by test
 * runs, like test/support/kernels.ts), links them into a temporary directory, then runs
 * each program scenario as a child process: exit code 0 is a pass, anything else fails with
 * the program's output.
 *
 * Every run has a kill timer, and every run is tagged with a unique VEO_TEST_RUN_ID in its
 * environment, which helper processes inherit: after the program exits, any process still
 * carrying the tag is a leftover helper, which is killed and fails the test.
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ensureEmulator, type EmulatorBuild } from "../../src/native/emulator-build.js";
import { fixtureDir, fixtureTemp, publishFixture } from "../support/kernels.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CC = process.env.CC || "cc";
/** The emulator source tree under test (see VEO_TEST_EMULATOR_SRC below). */
const EMULATOR_SRC = process.env.VEO_TEST_EMULATOR_SRC ?? path.resolve(HERE, "../../emulator");

/** Environment a developer might have set that would change what the programs see. */
const SCRUBBED_ENV = [
  "VE_OMP_NUM_THREADS", "OMP_NUM_THREADS", "VE_NODE_NUMBER", "_VENODELIST", "VEORUN_BIN",
  "VEO_EMU_NODES", "VE_CORE_NUMBER", "VEO_LOG_DEBUG", "URPC_VE_BIN", "VEO_EMU_NO_VM_RW",
  "VEO_EMU_KILL_GRACE_MS", "VEO_EMU_START_TIMEOUT_MS",
];

/** The switch the emulator reads to disable process_vm_readv/writev (staging-buffer path). */
const NO_VM_RW_ENV = { VEO_EMU_NO_VM_RW: "1" };

interface Kernel {
  src: string;
  flags?: string[];
}

/** kernels/<src>.c -> lib<src>.so */
const KERNELS: Kernel[] = [
  { src: "k_basic", flags: ["-pthread"] },
  { src: "k_alt" },
  { src: "k_args", flags: [`-I${HERE}`] },
  { src: "k_ret" },
  { src: "k_fault" },
  { src: "k_prev" },
  { src: "k_hmem" },
  { src: "k_omp", flags: ["-fopenmp"] },
  { src: "k_broken" },
  // Writes over the shared memory on purpose: needs the wire format.
  { src: "k_robust", flags: [`-I${path.join(EMULATOR_SRC, "src", "common")}`] },
];

interface StaticHelper {
  name: string;
  src: string;
  flags?: string[];
}

const STATIC_HELPERS: StaticHelper[] = [
  { name: "veorun_static", src: "k_static" },
  { name: "veorun_omp_static", src: "k_omp", flags: ["-fopenmp"] },
];

interface Case {
  /** test name */
  name: string;
  /** cases/<prog>.c */
  prog: string;
  args?: string[];
  env?: Record<string, string>;
  /** build products besides the kernels this case needs */
  needs?: string[];
  timeoutMs?: number;
  /** compiler flags of the host program instead of the default -std=gnu11 */
  cflags?: string[];
  /** strings the program's stdout must contain, in this order */
  stdoutHas?: string[];
  /** strings the program's stdout must contain, in any order */
  stdoutAlso?: string[];
  /** patterns the program's stdout must match (AVEO logs its errors on stdout) */
  stdoutMatch?: RegExp[];
}

const FAULTS = ["segv", "fpe", "abort", "ill", "bus", "segv-extra", "segv-sync", "kill",
  "kill-idle", "exit", "busy"];
const ROBUST = ["overrun-little", "overrun-lot", "overrun-slack", "ring", "done", "vh"];

const CASES: Case[] = [
  { name: "exports: the API 16 symbol list, version, VE-SHM/DMA stubs", prog: "exports" },
  { name: "procs: nodes, identifiers, slot reuse, VEORUN_BIN", prog: "procs",
    stdoutMatch: [/^\[VH\] \[TID \d+\] ERROR: veo_proc_create\(\) venode\(-2\) is an invalid value$/m] },
  { name: "procs: VEO_EMU_NODES=8", prog: "procs", args: ["nodes8"], env: { VEO_EMU_NODES: "8" } },
  { name: "static: mk_veorun_static helper, get_sym with handle 0", prog: "static",
    needs: ["veorun_static"] },
  { name: "libs: load, get_sym, data symbols, long names, unload", prog: "libs" },
  { name: "memory: sizes, alignment, 64 MiB, kernel free, threads", prog: "memory" },
  { name: "memory: the same without process_vm_readv/writev", prog: "memory", env: NO_VM_RW_ENV },
  { name: "contexts: main context, VE_OMP_NUM_THREADS, concurrency, attrs", prog: "contexts",
    stdoutMatch: [/^\[VH\] \[TID \d+\] ERROR: veo_context_open\(\) Env variable VE_OMP_NUM_THREADS must be set to 1 when using multiple contexts!$/m] },
  { name: "contexts: VE_CORE_NUMBER pins context threads", prog: "contexts", args: ["cores"],
    env: { VE_CORE_NUMBER: "1" } },
  { name: "requests: ids, FIFO, peek/wait, sync, vh, async mem", prog: "requests" },
  { name: "prevres: veo_prev_req_result and request blocks", prog: "prevres" },
  { name: "args: every setter, 256 args, stack IN/OUT/INOUT", prog: "args" },
  { name: "args: stack arguments without process_vm_readv/writev", prog: "args", env: NO_VM_RW_ENV },
  { name: "results: raw register and the result-type hint", prog: "results" },
  { name: "hmem: tags, queries, hmemcpy, host hmem", prog: "hmem",
    stdoutMatch: [/^\[VH\] \[TID \d+\] ERROR: veo_free_hmem\(\) host memory 0x[0-9a-f]+ was freed already$/m] },
  { name: "hooks: alloc/free hooks, async hooks, hmem hook functions", prog: "hooks" },
  { name: "threads: many submitters, 20000 in flight, lifecycle in a thread", prog: "threads",
    timeoutMs: 90_000 },
  ...FAULTS.map((f) => ({ name: `faults: ${f}`, prog: "faults", args: [f] })),
  ...ROBUST.map((r) => ({ name: `robust: ${r}`, prog: "robust", args: [r] })),
  { name: "frees: bad frees and busy unloads fail, the proc lives", prog: "frees" },
  { name: "grace: destroy with kernels that never return", prog: "grace", args: ["destroy"] },
  { name: "grace: close of a context whose kernel never returns", prog: "grace", args: ["close"] },
  { name: "grace: VEO_EMU_KILL_GRACE_MS=20000 lets a kernel finish", prog: "grace",
    args: ["patient"], env: { VEO_EMU_KILL_GRACE_MS: "20000" } },
  { name: "grace: VEO_EMU_KILL_GRACE_MS=0 does not wait", prog: "grace", args: ["impatient"],
    env: { VEO_EMU_KILL_GRACE_MS: "0" } },
  { name: "grace: a helper that never attaches", prog: "grace", args: ["attach"] },
  { name: "grace: exit with busy kernels", prog: "grace", args: ["exit"] },
  { name: "stdio: fd 1 close-on-exec in the host", prog: "stdio", args: ["cloexec"],
    stdoutHas: ["stdio-cloexec: the kernel's line"] },
  { name: "stdio: fd 1 closed in the host", prog: "stdio", args: ["closed"] },
  { name: "leaks: 2000 context cycles", prog: "leaks", args: ["contexts"], timeoutMs: 90_000 },
  { name: "leaks: host memory per proc", prog: "leaks", args: ["procs"], timeoutMs: 90_000 },
  { name: "leaks: a kernel's forked child dies with its proc", prog: "leaks", args: ["fork"] },
  { name: "leaks: no descriptor per proc; a thread's exit destroys its tied procs", prog: "leaks",
    args: ["tie"] },
  { name: "leaks: procs ended the hostile ways leave nothing behind", prog: "leaks",
    args: ["churn"], timeoutMs: 90_000 },
  { name: "leaks: children forked by the host leave its procs alone", prog: "leaks",
    args: ["forkhost"] },
  { name: "dropin: an upstream client compiles with -std=c11", prog: "dropin",
    cflags: ["-std=c11", "-Werror=implicit-function-declaration"] },
  { name: "noproc: the library alone loads and unloads cleanly", prog: "noproc" },
  { name: "orphan: the helper dies with its host", prog: "orphan" },
  { name: "output: kernel printf reaches the host's stdout", prog: "output",
    stdoutHas: ["host-before", "kernel-flushed-1", "host-between", "kernel-says-1", "kernel-says-2"],
    stdoutAlso: ["kernel-says-3", "host-after"] },
  { name: "omp: a -fopenmp kernel has >= 2 threads", prog: "omp" },
  { name: "omp: VE_OMP_NUM_THREADS=1 gives 1 thread on two contexts", prog: "omp",
    args: ["one"], env: { VE_OMP_NUM_THREADS: "1" } },
  { name: "omp: OpenMP kernel in a static helper", prog: "omp", args: ["static"],
    needs: ["veorun_omp_static"] },
];

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs argv without a shell; kills its process group after timeoutMs. */
function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }):
  Promise<RunResult> {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(argv[0], argv.slice(1), {
      env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, "SIGKILL"); } catch { /* already gone */ }
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}`, timedOut, ms: Date.now() - start });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - start });
    });
  });
}

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  });
  await Promise.all(workers);
  return results;
}

/** Pids of processes whose environment carries VEO_TEST_RUN_ID=<tag>. */
function taggedPids(tag: string): number[] {
  const needle = Buffer.from(`VEO_TEST_RUN_ID=${tag}\0`);
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`).includes(needle)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours */
    }
  }
  return pids.filter((pid) => pid !== process.pid && !isZombie(pid));
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits up to 2 s for tagged processes to end; kills and returns whatever is left. */
async function reapLeftovers(tag: string): Promise<number[]> {
  const deadline = Date.now() + 2000;
  let left = taggedPids(tag);
  while (left.length && Date.now() < deadline) {
    await sleep(50);
    left = taggedPids(tag);
  }
  for (const pid of left) {
    try { process.kill(pid, "SIGKILL"); } catch { /* raced */ }
  }
  return left;
}

let emu: EmulatorBuild;
/** The build products: a shared content-addressed directory, or this run's own. */
let products: string;
/** Where the programs run (VEO_TEST_KDIR): this run's links to the products. */
let work: string;
let ownProducts = false;
const buildErrors = new Map<string, string>();

async function build(product: string, argv: string[]): Promise<void> {
  const res = await run(argv, { cwd: products, timeoutMs: 60_000 });
  if (res.code !== 0) buildErrors.set(product, `$ ${argv.join(" ")}\n${res.stdout}${res.stderr}`);
}

/** Every file under `dir` (READMEs aside), sorted, with its content, into `h`. */
function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) hashTree(h, p);
    else if (e.isFile() && !e.name.endsWith(".md")) h.update(`\0${p}\0`).update(fs.readFileSync(p));
  }
}

/**
 * What the products depend on: the compiler, the emulator build (its library and helper
 * archive, its headers, the wire-format headers), everything under test/emulator/ and the
 * build commands (a function of the tables above).
 */
function productsKey(): string {
  const h = createHash("sha256");
  h.update(JSON.stringify([CC, emu.dir, KERNELS, STATIC_HELPERS, CASES.map((c) => [c.prog, c.cflags])]));
  for (const f of [emu.library, path.join(path.dirname(emu.library), "libveorun.a"), emu.mkVeorunStatic])
    h.update(fs.readFileSync(f));
  for (const d of [emu.includeDir, emu.kernelIncludeDir, path.join(EMULATOR_SRC, "src", "common"), HERE])
    hashTree(h, d);
  return h.digest("hex");
}

/** Builds every product into `products`, at most a few compilers at a time. */
async function buildProducts(): Promise<void> {
  const kernelFlags = ["-std=gnu11", "-O1", "-g", "-fPIC", "-Wall", `-I${emu.kernelIncludeDir}`];
  const jobs: (() => Promise<void>)[] = [];
  for (const k of KERNELS) {
    jobs.push(() => build(`lib${k.src}.so`, [CC, ...kernelFlags, ...(k.flags ?? []), "-shared",
      "-o", path.join(products, `lib${k.src}.so`), path.join(HERE, "kernels", `${k.src}.c`)]));
  }
  for (const s of STATIC_HELPERS) {
    jobs.push(async () => {
      const obj = path.join(products, `${s.name}.o`);
      await build(s.name, [CC, ...kernelFlags, ...(s.flags ?? []), "-c", "-o", obj,
        path.join(HERE, "kernels", `${s.src}.c`)]);
      if (buildErrors.has(s.name)) return;
      await build(s.name, [emu.mkVeorunStatic, "-o", path.join(products, s.name), ...(s.flags ?? []), obj]);
    });
  }
  const progs = new Map(CASES.map((c) => [c.prog, c.cflags ?? ["-std=gnu11"]]));
  for (const [prog, cflags] of progs) {
    jobs.push(() => build(prog, [CC, ...cflags, "-O1", "-g", "-pthread", "-Wall",
      `-I${emu.includeDir}`, "-o", path.join(products, prog), path.join(HERE, "cases", `${prog}.c`),
      emu.library, `-Wl,-rpath,${path.dirname(emu.library)}`, "-ldl"]));
  }
  await pool(jobs, Math.max(2, os.availableParallelism()));
}

beforeAll(async () => {
  // VEO_TEST_EMULATOR_SRC: check another emulator source tree (e.g. a deliberately broken
  // copy, to see that the suite notices).
  const sourceDir = process.env.VEO_TEST_EMULATOR_SRC;
  emu = ensureEmulator(sourceDir ? { sourceDir } : {});
  // The products are built once per content (and shared by later runs): a failed build is
  // never published, so its errors show in every run until fixed.
  const shared = fixtureDir("conformance", productsKey());
  if (fs.existsSync(shared)) {
    products = shared;
  } else {
    products = fixtureTemp("conformance");
    await buildProducts();
    if (buildErrors.size === 0) {
      publishFixture(products, shared);
      products = shared;
    } else {
      ownProducts = true;
    }
  }
  // The programs write their gate files beside the products: each run has its own
  // directory of hard links (a copy across file systems).
  work = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-conformance-"));
  for (const name of fs.readdirSync(products)) {
    const from = path.join(products, name);
    if (!fs.statSync(from).isFile()) continue;
    try {
      fs.linkSync(from, path.join(work, name));
    } catch {
      fs.copyFileSync(from, path.join(work, name));
      fs.chmodSync(path.join(work, name), fs.statSync(from).mode);
    }
  }
}, 180_000);

afterAll(() => {
  if (process.env.VEO_TEST_KEEP) return;
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (ownProducts) fs.rmSync(products, { recursive: true, force: true });
});

describe("emulator C conformance", () => {
  for (const c of CASES) {
    const timeoutMs = c.timeoutMs ?? 60_000;
    it(c.name, async () => {
      const kernelErrors = KERNELS.map((k) => buildErrors.get(`lib${k.src}.so`)).filter(Boolean);
      const errors = [buildErrors.get(c.prog), ...kernelErrors,
        ...(c.needs ?? []).map((n) => buildErrors.get(n))].filter(Boolean);
      expect(errors, `build failed:\n${errors.join("\n")}`).toEqual([]);

      const tag = randomUUID();
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const name of SCRUBBED_ENV) delete env[name];
      Object.assign(env, {
        VEO_TEST_KDIR: work,
        VEO_TEST_LIBRARY: emu.library,
        VEO_TEST_VEORUN: emu.veorun,
        VEO_TEST_RUN_ID: tag,
        ...c.env,
      });
      const argv = [path.join(work, c.prog), ...(c.args ?? [])];
      const res = await run(argv, { env, cwd: work, timeoutMs: timeoutMs - 5000 });
      const leftovers = await reapLeftovers(tag);
      const report = [
        `$ ${[c.prog, ...(c.args ?? [])].join(" ")}   (${res.ms} ms; VEO_TEST_KDIR=${work})`,
        res.timedOut ? `KILLED: no exit after ${timeoutMs - 5000} ms` : "",
        res.signal ? `terminated by ${res.signal}` : `exit code ${res.code}`,
        `--- stdout ---\n${res.stdout}--- stderr ---\n${res.stderr}`,
      ].filter(Boolean).join("\n");
      expect(res.code, report).toBe(0);
      expect(leftovers, `helper processes left behind: ${leftovers.join(", ")}\n${report}`).toEqual([]);
      // Every program ends with "<name>: OK" once all its checks ran.
      expect(res.stdout, report).toMatch(/: OK\n/);
      let from = 0;
      for (const s of c.stdoutHas ?? []) {
        const at = res.stdout.indexOf(s, from);
        expect(at, `"${s}" missing or out of order in stdout\n${report}`).toBeGreaterThanOrEqual(0);
        from = at + s.length;
      }
      for (const s of c.stdoutAlso ?? []) expect(res.stdout, report).toContain(s);
      for (const re of c.stdoutMatch ?? []) expect(res.stdout, report).toMatch(re);
      // VEO_LOG_DEBUG is unset: no debug lines.
      expect(res.stdout, report).not.toMatch(/^\[VH\] \[TID \d+\] DEBUG: /m);
    }, timeoutMs);
  }
});
