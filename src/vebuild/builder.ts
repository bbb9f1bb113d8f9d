/*
 * One build, start to finish: make the plan (plan.ts), return a verified cache entry or
 * compile + link in a private work dir and move it into the cache, then publish the output
 * into the build dir if one is set (publish.ts). Concurrent builds of the same key in
 * this process share one compile; across processes the atomic rename makes races harmless.
 * VeBuild (vebuild.ts) is the user-facing state around this.
 */

import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { VeBuildError } from "../errors.js";
import {
  CACHE_FORMAT,
  commitEntry,
  discard,
  makeWorkDir,
  sha256File,
  verifyEntry,
  type CacheMeta,
} from "./cache.js";
import { ownBag } from "./args.js";
import { makePlan, type BuildRequest, type Plan, type Step } from "./plan.js";
import type { BuildEvent, ProgressListener } from "./progress.js";
import { publish } from "./publish.js";
import { abortError, formatCommand, runTool } from "./spawn.js";
import type { ToolchainName } from "./toolchain.js";

export type { BuildRequest, SourceBlock } from "./plan.js";

/** What a build produced; `VeBuild#lastBuild` holds the latest one. */
export interface BuildInfo {
  /** Absolute path of the output (in the build dir if one is set, else in the cache). */
  path: string;
  /** True when nothing was compiled: the output came from the cache. */
  cached: boolean;
  /** The cache key: a hash of everything that changes the output. */
  key: string;
  /** All tool output of the build (warnings, listings); empty when the build was silent. */
  warnings: string;
  /** Each step's argv as run, in the entry directory. */
  commands: string[][];
  /** The toolchain that built it. */
  toolchain: ToolchainName;
  /** Why this toolchain was chosen. */
  toolchainReason: string;
  /** The cache entry (or, without a cache, the private directory) holding the build. */
  entryDir: string;
  /** How long the build (or the cache lookup) took. */
  durationMs: number;
}

/** Fans events out to every caller waiting on one shared build. */
type Listeners = Set<ProgressListener>;

interface InFlight {
  promise: Promise<{ entryDir: string; meta: CacheMeta }>;
  controller: AbortController;
  waiters: number;
  listeners: Listeners;
}

const inFlight = new Map<string, InFlight>();

export async function runBuild(buildRequest: BuildRequest): Promise<BuildInfo> {
  const request = ownBag(buildRequest); // never an inherited signal or listener
  const started = performance.now();
  if (request.signal?.aborted) throw abortError(request.signal);
  const plan = await makePlan(request);
  if (request.signal?.aborted) throw abortError(request.signal);
  const req = await withUsableCache(request);

  // Hit: a verified entry, nothing compiled.
  if (req.cacheDir) {
    const entryDir = path.join(req.cacheDir, plan.key);
    const meta = await verifyEntry(entryDir, plan.key);
    if (meta) {
      const out = await publish(req.buildDir, entryDir, meta, plan.files);
      const durationMs = performance.now() - started;
      req.listener?.({ type: "cached", label: req.label, path: out, warnings: meta.warnings, durationMs });
      return info(plan, out, true, entryDir, meta, durationMs);
    }
  }

  const flightKey = `${req.cacheDir ?? "(no cache)"}\0${plan.key}`;
  let flight = inFlight.get(flightKey);
  if (!flight) {
    const controller = new AbortController();
    const listeners: Listeners = new Set();
    const emit = (e: BuildEvent) => {
      for (const l of listeners) l(e);
    };
    const promise = compileAndStore(req, plan, controller.signal, emit);
    flight = { promise, controller, waiters: 0, listeners };
    inFlight.set(flightKey, flight);
    const remove = () => {
      if (inFlight.get(flightKey) === flight) inFlight.delete(flightKey);
    };
    promise.then(remove, remove);
  }
  const { entryDir, meta } = await join(flight, req.signal, req.listener);
  const out = await publish(req.buildDir, entryDir, meta, plan.files);
  const durationMs = performance.now() - started;
  req.listener?.({ type: "done", label: req.label, path: out, durationMs });
  return info(plan, out, false, entryDir, meta, durationMs);
}

const warnedCacheDirs = new Set<string>();

/**
 * A cache that cannot be written (read-only home, a file in the way, a full disk) must not
 * stop a build: it then runs without the cache, with one warning per directory.
 */
async function withUsableCache(req: BuildRequest): Promise<BuildRequest> {
  if (!req.cacheDir) return req;
  try {
    await fsp.mkdir(req.cacheDir, { recursive: true });
    await fsp.access(req.cacheDir, fsp.constants.W_OK);
    return req;
  } catch (err) {
    if (!warnedCacheDirs.has(req.cacheDir)) {
      warnedCacheDirs.add(req.cacheDir);
      process.emitWarning(
        `VeBuild: cannot use the build cache at ${req.cacheDir} (${(err as Error).message}); ` +
          `building without it. Set VEO_BUILD_CACHE to a writable directory, or to 0.`,
        { code: "VEO_BUILD_CACHE_UNUSABLE" },
      );
    }
    return { ...req, cacheDir: undefined };
  }
}

function info(
  plan: Plan,
  out: string,
  cached: boolean,
  entryDir: string,
  meta: CacheMeta,
  durationMs: number,
): BuildInfo {
  return {
    path: out,
    cached,
    key: plan.key,
    warnings: meta.warnings,
    commands: meta.commands,
    toolchain: plan.toolchain,
    toolchainReason: plan.toolchainReason,
    entryDir,
    durationMs,
  };
}

/**
 * Waits for a shared build on behalf of one caller. The caller's signal rejects its own wait;
 * the build itself is aborted only when every caller waiting on it has aborted.
 */
function join(
  flight: InFlight,
  signal: AbortSignal | undefined,
  listener: ProgressListener | undefined,
): Promise<{ entryDir: string; meta: CacheMeta }> {
  flight.waiters++;
  if (listener) flight.listeners.add(listener);
  return new Promise((resolve, reject) => {
    let done = false;
    const leave = () => {
      if (done) return false;
      done = true;
      flight.waiters--;
      if (listener) flight.listeners.delete(listener);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      const error = abortError(signal!);
      if (flight.waiters > 0) return reject(error);
      // The last caller left: stop the build, and settle once the tool is dead and the
      // work dir removed, so nothing of this build outlives the rejection.
      flight.controller.abort(signal!.reason);
      flight.promise.then(
        () => reject(error),
        () => reject(error),
      );
    };
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
    flight.promise.then(
      (v) => leave() && resolve(v),
      (e: unknown) => leave() && reject(e),
    );
  });
}

async function compileAndStore(
  req: BuildRequest,
  plan: Plan,
  signal: AbortSignal,
  emit: (e: BuildEvent) => void,
): Promise<{ entryDir: string; meta: CacheMeta }> {
  const parent = req.cacheDir ?? path.join(os.tmpdir(), "veo-ts-build");
  const workDir = await makeWorkDir(parent, plan.key);
  let log = "";
  try {
    for (const f of plan.files) await fsp.writeFile(path.join(workDir, f.name), f.text);
    let warnings = "";
    for (const s of plan.steps) {
      emit({ type: "start", step: s.step, label: s.label, command: s.argv });
      const run = await runTool(s.argv, {
        cwd: workDir,
        env: s.env,
        signal,
        onOutput: (text) => emit({ type: "output", step: s.step, label: s.label, text }),
      });
      const ok = run.exitCode === 0;
      emit({
        type: "end",
        step: s.step,
        label: s.label,
        command: s.argv,
        ok,
        exitCode: run.exitCode,
        durationMs: run.durationMs,
      });
      log +=
        `$ ${formatCommand(s.argv)}\n${run.output}${run.output.endsWith("\n") || run.output === "" ? "" : "\n"}` +
        `[exit ${run.exitCode ?? run.signal}, ${Math.round(run.durationMs)} ms]\n`;
      if (!ok) throw await failure(plan, s, run, workDir, parent, log);
      if (run.output.trim() !== "") warnings += run.output.endsWith("\n") ? run.output : `${run.output}\n`;
      if (s.sourceFile) await emitListing(workDir, s, emit);
    }

    const outPath = path.join(workDir, plan.output);
    let size: number;
    try {
      size = (await fsp.stat(outPath)).size;
    } catch {
      const last = plan.steps[plan.steps.length - 1];
      throw new VeBuildError(
        `${path.basename(last.argv[0])} exited 0 but did not create ${plan.output}\n  command: ${formatCommand(last.argv)}`,
        { command: last.argv, exitCode: 0, output: log },
      );
    }
    const meta: CacheMeta = {
      format: CACHE_FORMAT,
      key: plan.key,
      output: plan.output,
      sha256: await sha256File(outPath),
      size,
      warnings,
      commands: plan.steps.map((s) => s.argv),
      toolchain: plan.toolchain,
      created: new Date().toISOString(),
    };
    await fsp.writeFile(path.join(workDir, "build.log"), log);
    // meta.json last: its presence (and hash) is what makes an entry valid.
    await fsp.writeFile(path.join(workDir, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
    const entryDir = req.cacheDir
      ? await commitEntry(workDir, path.join(req.cacheDir, plan.key), plan.key)
      : workDir;
    return { entryDir, meta };
  } catch (err) {
    await fsp.rm(workDir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** ncc's `-report-all` writes `<label>.L` (vectorization diagnostics); py-veo showed it when verbose. */
async function emitListing(workDir: string, step: Step, emit: (e: BuildEvent) => void): Promise<void> {
  const name = step.sourceFile!.replace(/\.[^.]+$/, ".L");
  let text: string;
  try {
    text = await fsp.readFile(path.join(workDir, name), "utf8");
  } catch {
    return;
  }
  emit({ type: "listing", step: "compile", label: step.label, file: name, text });
}

/** Keeps the failed build (sources, log) in `<parent>/failed-<key>` and describes it. */
async function failure(
  plan: Plan,
  step: Step,
  run: { exitCode: number | null; signal: NodeJS.Signals | null; output: string },
  workDir: string,
  parent: string,
  log: string,
): Promise<VeBuildError> {
  const keptDir = path.join(parent, `failed-${plan.key}`);
  let dir = workDir;
  try {
    await fsp.writeFile(path.join(workDir, "build.log"), log);
    await discard(keptDir);
    await fsp.rename(workDir, keptDir);
    dir = keptDir;
  } catch {
    // Keeping the sources is best effort; the error below still carries the output.
  }
  const sourceFile = step.sourceFile ?? plan.files[0]?.name;
  const sourcePath = sourceFile ? path.join(dir, sourceFile) : undefined;
  const tool = path.basename(step.argv[0]);
  const status = run.exitCode !== null ? `exit code ${run.exitCode}` : `signal ${run.signal}`;
  const what =
    step.step === "compile"
      ? `compiling "${step.label}"`
      : step.step === "link"
        ? `linking ${plan.output}`
        : `making the static helper ${plan.output}`;
  const message =
    `${tool} failed (${status}) ${what}\n` +
    `  command: ${formatCommand(step.argv)}\n` +
    `  in directory: ${dir}\n` +
    (sourcePath ? `  source kept at: ${sourcePath}\n` : "") +
    (run.output.trim() !== "" ? run.output.trimEnd() : "(no output)");
  return new VeBuildError(message, {
    command: step.argv,
    exitCode: run.exitCode,
    output: run.output,
    sourcePath,
  });
}
