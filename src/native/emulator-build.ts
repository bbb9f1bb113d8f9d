/*
 * The host emulator (emulator/ -> libveo.so.1 + the veorun helper), ready to load. In order:
 * 1. the prebuilt one shipped in the package (`prebuilt/`, made by `npm pack`'s prepack for
 *    linux-x64 glibc), when its manifest names the same source hash as the emulator sources
 *    beside it and its files match their recorded hashes: no compiler needed;
 * 2. a build in the per-user cache, keyed by the sources and the compiler's identity;
 * 3. otherwise built with cc into that cache, once across processes (build-lock.ts), with one
 *    line on stderr when it takes a while (VEO_TS_PROGRESS).
 * `ensureEmulatorAsync` never blocks the event loop (VeoProc.create, VeBuild); the synchronous
 * `ensureEmulator` (new VeoProc()) blocks while it builds, and says so. Both drive the one
 * recipe of emulator-recipe.ts. Never imports koffi: this file only runs the C compiler.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { VeBuildError } from "../errors.js";
import { acquireLock } from "./build-lock.js";
import {
  BUILD_FILES,
  RECIPE_VERSION,
  buildRecipe,
  compilerIdentity,
  hashSources,
  NO_REPLY,
  sha256File,
  type Reply,
  type Step,
  type Steps,
} from "./emulator-recipe.js";

/** A usable emulator: where its library, helper and headers are. */
export interface EmulatorBuild {
  /** `<cache>/emulator/<hash>`, or the package's prebuilt directory */
  dir: string;
  /** `<dir>/lib/libveo.so.1` */
  library: string;
  /** `<dir>/libexec/veorun`, the default helper */
  veorun: string;
  /** VH headers: ve_offload.h, veo_hmem.h, veo_emu.h (and the stub extras) */
  includeDir: string;
  /** headers for emulated kernels: veo_hmem.h, veo_ve.h */
  kernelIncludeDir: string;
  /** the static-helper linker of this build */
  mkVeorunStatic: string;
  /** true when this is the prebuilt emulator shipped in the package */
  prebuilt: boolean;
}

/** Where to look and what to build with (tests, the prepack script). */
export interface EnsureEmulatorOptions {
  /** The emulator source tree (default: the package's `emulator/`). */
  sourceDir?: string;
  /** Cache root (default: `VEO_TS_CACHE_DIR`, `$XDG_CACHE_HOME/veo-ts`, `~/.cache/veo-ts`). */
  cacheDir?: string;
  /** C compiler (default: `CC`, else `cc`). */
  cc?: string;
  /** The prebuilt emulator's directory (default: the package's), or false to ignore it. */
  prebuiltDir?: string | false;
  /** Where the one progress line goes (default: stderr, see VEO_TS_PROGRESS). */
  notify?: (line: string) => void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_ROOT = path.resolve(HERE, "../..");
const DEFAULT_SOURCE_DIR = path.join(PACKAGE_ROOT, "emulator");
/** The platform the prebuilt emulator is made for, and its directory under `prebuilt/`. */
export const PREBUILT_PLATFORM = "linux-x64-glibc";
const DEFAULT_PREBUILT_DIR = path.join(PACKAGE_ROOT, "prebuilt", `emulator-${PREBUILT_PLATFORM}`);
/** A build that takes longer than this gets its line on stderr (asynchronous path). */
const NOTICE_AFTER_MS = 500;

/** Root of the per-user cache. */
export function emulatorCacheRoot(): string {
  const explicit = process.env.VEO_TS_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return path.join(path.resolve(xdg), "veo-ts");
  return path.join(os.homedir(), ".cache", "veo-ts");
}

/**
 * Returns the emulator for the current sources, building it first (blocking) if neither the
 * prebuilt one nor the cache has it. Throws VeBuildError (with the compiler's output).
 */
export function ensureEmulator(options: EnsureEmulatorOptions = {}): EmulatorBuild {
  return driveSync(
    ensureSteps(options, "synchronously: `await VeoProc.create()` would not block"),
    noticePrinter(options.notify),
  );
}

function driveSync<T>(steps: Steps<T>, notify: (text: string) => void): T {
  let step = steps.next();
  while (!step.done) {
    const s = step.value;
    if (s.type === "run") {
      step = resume(steps, outcomeSync(s));
      continue;
    }
    if (s.type === "sleep") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s.ms);
    else notify(s.text);
    step = steps.next(NO_REPLY);
  }
  return step.value;
}

const inFlight = new Map<string, Promise<EmulatorBuild>>();

/**
 * As ensureEmulator(), without blocking the event loop: the compiler runs as child processes,
 * and concurrent callers in this process share one build.
 */
export function ensureEmulatorAsync(options: EnsureEmulatorOptions = {}): Promise<EmulatorBuild> {
  const key = JSON.stringify([options.sourceDir, options.cacheDir, options.cc, options.prebuiltDir]);
  let p = inFlight.get(key);
  if (!p) {
    p = driveAsync(options);
    inFlight.set(key, p);
    const forget = () => inFlight.delete(key);
    p.then(forget, forget);
  }
  return p;
}

async function driveAsync(options: EnsureEmulatorOptions): Promise<EmulatorBuild> {
  const notify = noticePrinter(options.notify);
  const steps = ensureSteps(options, "");
  let timer: NodeJS.Timeout | undefined;
  try {
    let step = steps.next();
    while (!step.done) {
      const s = step.value;
      if (s.type === "run") {
        step = resume(steps, await outcomeAsync(s));
        continue;
      }
      if (s.type === "sleep") {
        await new Promise((resolve) => setTimeout(resolve, s.ms));
      } else {
        // Only a slow step is worth a line: a short wait stays quiet.
        clearTimeout(timer);
        timer = setTimeout(() => notify(s.text), NOTICE_AFTER_MS);
      }
      step = steps.next(NO_REPLY);
    }
    return step.value;
  } finally {
    clearTimeout(timer);
  }
}

/** VEO_TS_PROGRESS: `0` never, `1` always, unset: when stderr is a terminal. One line per call. */
function noticePrinter(custom: ((line: string) => void) | undefined): (text: string) => void {
  let printed = false;
  return (text) => {
    if (printed) return;
    const mode = process.env.VEO_TS_PROGRESS;
    if (!custom && (mode === "0" || (mode !== "1" && !process.stderr.isTTY))) return;
    printed = true;
    const line = `veo-ts: ${text} (first use; set VEO_TS_PROGRESS=0 to hide this line)`;
    if (custom) custom(line);
    else process.stderr.write(`${line}\n`);
  };
}

/** Everything ensure does, as steps for either driver. */
function* ensureSteps(options: EnsureEmulatorOptions, syncNote: string): Steps<EmulatorBuild> {
  const sourceDir = path.resolve(options.sourceDir ?? DEFAULT_SOURCE_DIR);
  const prebuiltDir = options.prebuiltDir ?? DEFAULT_PREBUILT_DIR;
  if (prebuiltDir !== false && process.env.VEO_EMULATOR_PREBUILT !== "0") {
    const prebuilt = usablePrebuilt(path.resolve(prebuiltDir), sourceDir);
    if (prebuilt) return prebuilt;
  }

  const cacheRoot = path.resolve(options.cacheDir ?? emulatorCacheRoot());
  const cc = options.cc ?? (process.env.CC || "cc");
  const identity = yield* memoIdentity(cc);
  const hash = hashSources(sourceDir, `${cc}\n${identity}\n${RECIPE_VERSION}`);
  const parent = path.join(cacheRoot, "emulator");
  const result = describeBuild(path.join(parent, hash), false);
  if (isComplete(result)) return result;

  makeCacheDir(parent);
  const lock = yield* acquireLock(path.join(parent, `.lock-${hash}`), () => isComplete(result));
  if (!lock) return result;
  try {
    if (isComplete(result)) return result;
    const how = syncNote ? `, ${syncNote}` : "";
    yield { type: "notice", text: `building the host emulator with ${cc} into ${result.dir}${how}` };
    removeStaleTemps(parent);
    const tmp = fs.mkdtempSync(path.join(parent, `.tmp-${hash}-`));
    try {
      yield* logged(buildRecipe(tmp, sourceDir, cc), tmp);
      moveIntoPlace(tmp, result);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
  return result;
}

/** Passes the recipe's steps through, keeping each command and its output in build.log. */
function* logged(recipe: Steps<void>, out: string): Steps<void> {
  const log: string[] = [];
  let step = recipe.next();
  while (!step.done) {
    const s: Step = step.value;
    let reply: Reply;
    try {
      reply = yield s;
    } catch (err) {
      step = recipe.throw(err);
      continue;
    }
    if (s.type === "run") log.push(`$ ${s.argv.join(" ")}\n${reply.output}`);
    step = recipe.next(reply);
  }
  fs.writeFileSync(path.join(out, "build.log"), log.join("\n"));
}

function moveIntoPlace(tmp: string, result: EmulatorBuild): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(tmp, result.dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      // Someone else finished the same build first: theirs is as good as ours. A damaged
      // entry (files deleted by hand) is replaced.
      if (isComplete(result) || attempt > 0) return;
      fs.rmSync(result.dir, { recursive: true, force: true });
    }
  }
}

const cacheDirErrors = new WeakSet<Error>();

/** True for the error ensure throws when the cache directory cannot be used. */
export function isCacheDirError(err: unknown): boolean {
  return err instanceof Error && cacheDirErrors.has(err);
}

function makeCacheDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const e = new VeBuildError(
      `cannot use the veo-ts cache directory ${dir} to build the host emulator: ` +
        `${(err as Error).message}. Set VEO_TS_CACHE_DIR to a writable directory.`,
      { command: [], exitCode: null, output: "" },
      { cause: err },
    );
    cacheDirErrors.add(e);
    throw e;
  }
}

/** Temporary build directories of builds that died (killed mid-build) older than an hour. */
function removeStaleTemps(parent: string): void {
  const cutoff = Date.now() - 3600_000;
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith(".tmp-")) continue;
    const full = path.join(parent, name);
    try {
      if (fs.statSync(full).mtimeMs < cutoff) fs.rmSync(full, { recursive: true, force: true });
    } catch {
      // Raced with its owner finishing or another cleaner: nothing to do.
    }
  }
}

function isComplete(b: EmulatorBuild): boolean {
  return Object.values(BUILD_FILES).every((f) => fs.existsSync(path.join(b.dir, f)));
}

function describeBuild(dir: string, prebuilt: boolean): EmulatorBuild {
  return {
    dir,
    library: path.join(dir, BUILD_FILES.library),
    veorun: path.join(dir, BUILD_FILES.veorun),
    includeDir: path.join(dir, "include"),
    kernelIncludeDir: path.join(dir, "include-ve"),
    mkVeorunStatic: path.join(dir, BUILD_FILES.mkVeorunStatic),
    prebuilt,
  };
}

const identityMemo = new Map<string, string>();

function* memoIdentity(cc: string): Steps<string> {
  const memo = identityMemo.get(cc);
  if (memo !== undefined) return memo;
  const identity = yield* compilerIdentity(cc);
  identityMemo.set(cc, identity);
  return identity;
}

// ---- the prebuilt emulator ----

/** What `prebuilt/<dir>/manifest.json` records. */
interface PrebuiltManifest {
  platform: string;
  /** hashSources(emulator/, RECIPE_VERSION) of the sources it was built from */
  sourceHash: string;
  /** glibc it was built against: it runs on that or newer */
  glibc: string;
  compiler: string;
  /** sha256 of each built file (BUILD_FILES), relative to the directory */
  files: Record<string, string>;
}

let glibcMemo: string | null | undefined;

/** The running glibc's version ("2.36"), or null (musl, or not Linux). */
function runtimeGlibc(): string | null {
  if (glibcMemo === undefined) {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    glibcMemo = report?.header?.glibcVersionRuntime ?? null;
  }
  return glibcMemo;
}

function versionAtLeast(have: string, need: string): boolean {
  const a = have.split(".").map(Number);
  const b = need.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

function usablePrebuilt(dir: string, sourceDir: string): EmulatorBuild | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  let manifest: PrebuiltManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as PrebuiltManifest;
  } catch {
    return undefined;
  }
  const glibc = runtimeGlibc();
  if (manifest.platform !== PREBUILT_PLATFORM || glibc === null || !versionAtLeast(glibc, manifest.glibc)) {
    return undefined;
  }
  if (manifest.sourceHash !== hashSources(sourceDir, RECIPE_VERSION)) return undefined;
  for (const rel of Object.values(BUILD_FILES)) {
    try {
      if (manifest.files[rel] !== sha256File(path.join(dir, rel))) return undefined;
    } catch {
      return undefined;
    }
  }
  return describeBuild(dir, true);
}

/**
 * Builds the emulator for the package (`npm pack`'s prepack): into `outDir` (replaced),
 * with libffi linked statically into veorun, and a manifest with the source hash and each
 * file's hash. Needs cc and libffi's static library.
 */
export function buildPrebuilt(outDir: string, options: { sourceDir?: string; cc?: string } = {}): string {
  const sourceDir = path.resolve(options.sourceDir ?? DEFAULT_SOURCE_DIR);
  const cc = options.cc ?? (process.env.CC || "cc");
  const glibc = runtimeGlibc();
  if (glibc === null || process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`the prebuilt emulator is made on ${PREBUILT_PLATFORM} only`);
  }
  const final = path.resolve(outDir);
  // Built beside its place and swapped in, so a program using the previous one never sees
  // a half-built directory.
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const target = fs.mkdtempSync(`${final}.tmp-`);
  const quiet = () => {};
  const identity = driveSync(compilerIdentity(cc), quiet);
  driveSync(logged(buildRecipe(target, sourceDir, cc, { staticFfi: true }), target), quiet);
  // A package keeps no symlinks: libveo.so (for `-lveo`) becomes a copy.
  const devLink = path.join(target, "lib", "libveo.so");
  fs.rmSync(devLink);
  fs.copyFileSync(path.join(target, BUILD_FILES.library), devLink);
  const files: Record<string, string> = {};
  for (const rel of Object.values(BUILD_FILES)) files[rel] = sha256File(path.join(target, rel));
  const manifest: PrebuiltManifest = {
    platform: PREBUILT_PLATFORM,
    sourceHash: hashSources(sourceDir, RECIPE_VERSION),
    glibc,
    compiler: identity,
    files,
  };
  fs.writeFileSync(path.join(target, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(target, final);
  fs.rmSync(old, { recursive: true, force: true });
  return final;
}

// ---- running one tool ----

type RunStep = Step & { type: "run" };

function toolFailure(
  s: RunStep,
  output: string,
  reason: string,
  exitCode: number | null,
  cause?: unknown,
): VeBuildError {
  return new VeBuildError(
    `emulator build failed: could not ${s.what} (${reason})\n$ ${s.argv.join(" ")}\n${output}`,
    { command: s.argv, exitCode, output },
    cause === undefined ? undefined : { cause },
  );
}

/** A tool run's reply, or why it failed: what the recipe is resumed with. */
type Outcome = { reply: Reply } | { error: unknown };

function resume<T>(steps: Steps<T>, outcome: Outcome): IteratorResult<Step, T> {
  return "error" in outcome ? steps.throw(outcome.error) : steps.next(outcome.reply);
}

function outcomeSync(s: RunStep): Outcome {
  try {
    return { reply: runSync(s) };
  } catch (error) {
    return { error };
  }
}

function outcomeAsync(s: RunStep): Promise<Outcome> {
  return runAsync(s).then(
    (reply) => ({ reply }),
    (error: unknown) => ({ error }),
  );
}

function runSync(s: RunStep): Reply {
  const res = spawnSync(s.argv[0], s.argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 });
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
  if (res.error) throw toolFailure(s, output, res.error.message, null, res.error);
  if (res.status !== 0) throw toolFailure(s, output, `exit code ${res.status ?? res.signal}`, res.status);
  return { stdout: res.stdout, output };
}

function runAsync(s: RunStep): Promise<Reply> {
  return new Promise((resolve, reject) => {
    execFile(s.argv[0], s.argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (!err) return resolve({ stdout, output });
      // execFile's error: `code` is the exit code, or an errno string when it did not start.
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number") reject(toolFailure(s, output, `exit code ${code}`, code));
      else reject(toolFailure(s, output, err.signal ? `signal ${err.signal}` : err.message, null, err));
    });
  });
}
