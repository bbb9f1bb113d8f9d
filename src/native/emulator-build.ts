/*
 * Builds the host emulator (emulator/ -> libveo.so.1 + the veorun helper) into a per-user
 * cache, once per content hash of its sources and the compiler's identity. Synchronous, so
 * library discovery can call it from a constructor. Never imports koffi: this file only runs
 * the C compiler. A build goes to a temporary directory that is renamed into place, so
 * concurrent first uses (parallel test workers, two programs) are safe.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { VeBuildError } from "../errors.js";

export interface EmulatorBuild {
  /** `<cache>/emulator/<hash>` */
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
}

export interface EnsureEmulatorOptions {
  /** The emulator source tree (default: the package's `emulator/`). */
  sourceDir?: string;
  /** Cache root (default: `VEO_TS_CACHE_DIR`, `$XDG_CACHE_HOME/veo-ts`, `~/.cache/veo-ts`). */
  cacheDir?: string;
  /** C compiler (default: `CC`, else `cc`). */
  cc?: string;
}

/** Bumped whenever the build recipe below changes in a way the hash would not see. */
const RECIPE_VERSION = "3";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_SOURCE_DIR = path.resolve(HERE, "../../emulator");

const WARN_FLAGS = ["-Wall", "-Wextra"];
const BASE_CFLAGS = ["-std=gnu11", "-O2", "-g", ...WARN_FLAGS];

/** Root of the per-user cache. */
export function emulatorCacheRoot(): string {
  const explicit = process.env.VEO_TS_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return path.join(path.resolve(xdg), "veo-ts");
  return path.join(os.homedir(), ".cache", "veo-ts");
}

/**
 * Returns the emulator build for the current sources, building it first if the cache does
 * not hold it. Throws VeBuildError (with the compiler's output) when a step fails.
 */
export function ensureEmulator(options: EnsureEmulatorOptions = {}): EmulatorBuild {
  const sourceDir = path.resolve(options.sourceDir ?? DEFAULT_SOURCE_DIR);
  const cacheRoot = path.resolve(options.cacheDir ?? emulatorCacheRoot());
  const cc = options.cc ?? (process.env.CC || "cc");

  const identity = compilerIdentity(cc);
  const hash = hashSources(sourceDir, `${cc}\n${identity}\n${RECIPE_VERSION}`);
  const parent = path.join(cacheRoot, "emulator");
  const dir = path.join(parent, hash);
  const result = describeBuild(dir);
  if (isComplete(result)) return result;

  fs.mkdirSync(parent, { recursive: true });
  removeStaleTemps(parent);
  const tmp = fs.mkdtempSync(path.join(parent, `.tmp-${hash}-`));
  try {
    buildInto(tmp, sourceDir, cc);
    for (let attempt = 0; ; attempt++) {
      try {
        fs.renameSync(tmp, dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        // Someone else finished the same build first: theirs is as good as ours. A damaged
        // entry (files deleted by hand) is replaced.
        if (isComplete(result) || attempt > 0) break;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return result;
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
  return [b.library, b.veorun, b.mkVeorunStatic, path.join(b.dir, "lib", "libveorun.a")].every((f) =>
    fs.existsSync(f),
  );
}

function describeBuild(dir: string): EmulatorBuild {
  return {
    dir,
    library: path.join(dir, "lib", "libveo.so.1"),
    veorun: path.join(dir, "libexec", "veorun"),
    includeDir: path.join(dir, "include"),
    kernelIncludeDir: path.join(dir, "include-ve"),
    mkVeorunStatic: path.join(dir, "bin", "mk_veorun_static"),
  };
}

const identityMemo = new Map<string, string>();

/** `cc --version` plus the target triple; the cache key must change with the compiler. */
function compilerIdentity(cc: string): string {
  const memo = identityMemo.get(cc);
  if (memo !== undefined) return memo;
  const version = runTool([cc, "--version"], process.cwd(), "query the C compiler");
  const machine = runTool([cc, "-dumpmachine"], process.cwd(), "query the C compiler");
  const identity = `${version.trim()}\n${machine.trim()}`;
  identityMemo.set(cc, identity);
  return identity;
}

/** Lists every regular file under `dir` (relative paths, sorted). */
function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

function hashSources(sourceDir: string, salt: string): string {
  const h = createHash("sha256");
  h.update(salt);
  for (const rel of listFiles(sourceDir)) {
    if (rel.endsWith("README.md")) continue;
    h.update(`\0${rel}\0`);
    h.update(fs.readFileSync(path.join(sourceDir, rel)));
  }
  return h.digest("hex").slice(0, 16);
}

function libffiFlags(): { cflags: string[]; libs: string[] } {
  const cflags = spawnSync("pkg-config", ["--cflags", "libffi"], { encoding: "utf8" });
  const libs = spawnSync("pkg-config", ["--libs", "libffi"], { encoding: "utf8" });
  if (cflags.status === 0 && libs.status === 0) {
    const split = (s: string) => s.split(/\s+/).filter(Boolean);
    return { cflags: split(cflags.stdout), libs: split(libs.stdout) };
  }
  return { cflags: [], libs: ["-lffi"] };
}

function cFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The whole recipe. Paths inside the build never refer to `out` by name: it is renamed. */
function buildInto(out: string, src: string, cc: string): void {
  const ffi = libffiFlags();
  const include = path.join(src, "include");
  const common = path.join(src, "src", "common");
  const commonSrc = cFiles(common);
  const libSrc = cFiles(path.join(src, "src", "lib"));
  const helperSrc = cFiles(path.join(src, "src", "helper"));
  const incFlags = [`-I${include}`, `-I${common}`];

  for (const sub of ["lib", "libexec", "bin", "obj"]) fs.mkdirSync(path.join(out, sub));
  // Every command and its output (warnings included), kept in the build for inspection.
  const log: string[] = [];

  // libveo.so.1: the VH side.
  const library = path.join(out, "lib", "libveo.so.1");
  runTool(
    [
      cc,
      ...BASE_CFLAGS,
      "-fPIC",
      "-shared",
      "-fvisibility=hidden",
      "-pthread",
      ...incFlags,
      ...commonSrc,
      ...libSrc,
      "-Wl,-soname,libveo.so.1",
      "-o",
      library,
      "-ldl",
      "-lpthread",
    ],
    out,
    "build libveo.so.1",
    log,
  );
  fs.symlinkSync("libveo.so.1", path.join(out, "lib", "libveo.so"));

  // The helper's objects, kept as an archive for mk_veorun_static.
  const objDir = path.join(out, "obj");
  const objects: string[] = [];
  for (const file of [...commonSrc, ...helperSrc]) {
    const prefix = file.startsWith(common) ? "common_" : "helper_";
    const obj = path.join(objDir, prefix + path.basename(file, ".c") + ".o");
    // Hidden by default: with -rdynamic only the kernel API (marked visible) is exported,
    // so the helper's internals never clash with a kernel's symbols.
    runTool(
      [
        cc,
        ...BASE_CFLAGS,
        "-fvisibility=hidden",
        "-pthread",
        ...incFlags,
        ...ffi.cflags,
        "-c",
        file,
        "-o",
        obj,
      ],
      out,
      `compile ${path.basename(file)}`,
      log,
    );
    objects.push(obj);
  }
  const archive = path.join(out, "lib", "libveorun.a");
  runTool(["ar", "rcs", archive, ...objects], out, "archive the helper objects", log);
  const helperLibs = [...ffi.libs, "-ldl", "-lpthread"];
  fs.writeFileSync(path.join(out, "lib", "veorun-libs.txt"), helperLibs.join(" ") + "\n");

  runTool(
    [cc, "-pthread", "-rdynamic", ...objects, "-o", path.join(out, "libexec", "veorun"), ...helperLibs],
    out,
    "link veorun",
    log,
  );
  fs.rmSync(objDir, { recursive: true, force: true });
  fs.writeFileSync(path.join(out, "build.log"), log.join("\n"));

  copyTree(include, path.join(out, "include"));
  copyTree(path.join(src, "include-ve"), path.join(out, "include-ve"));
  const mk = path.join(src, "bin", "mk_veorun_static");
  if (fs.existsSync(mk)) {
    const dest = path.join(out, "bin", "mk_veorun_static");
    fs.copyFileSync(mk, dest);
    fs.chmodSync(dest, 0o755);
  }
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  if (!fs.existsSync(from)) return;
  fs.cpSync(from, to, { recursive: true });
}

/** Runs a tool without a shell; returns stdout, or throws VeBuildError with all output. */
function runTool(argv: string[], cwd: string, what: string, log?: string[]): string {
  const res = spawnSync(argv[0], argv.slice(1), { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  log?.push(`$ ${argv.join(" ")}\n${res.stdout ?? ""}${res.stderr ?? ""}`);
  if (res.error || res.status !== 0) {
    const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
    const reason = res.error ? res.error.message : `exit code ${res.status ?? res.signal}`;
    throw new VeBuildError(
      `emulator build failed: could not ${what} (${reason})\n$ ${argv.join(" ")}\n${output}`,
      { command: argv, exitCode: res.error ? null : res.status, output },
      res.error ? { cause: res.error } : undefined,
    );
  }
  return res.stdout;
}
