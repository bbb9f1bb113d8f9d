/*
 * The emulator's build recipe (emulator/ -> libveo.so.1, the veorun helper, its archive for
 * mk_veorun_static, headers), written once as a generator of steps: it yields each tool to
 * run (or a pause, or a line worth telling the user) and receives the tool's stdout, or an
 * exception thrown into it when the tool failed. emulator-build.ts drives the same generator
 * synchronously (spawnSync, for `new VeoProc()`) or asynchronously (spawn, for
 * `VeoProc.create` and VeBuild), so the two paths cannot drift apart.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Bumped whenever the recipe below changes in a way the source hash would not see. */
export const RECIPE_VERSION = "4";

export type Step =
  /** Run a tool (no shell) in `cwd`; the generator receives its stdout. */
  | { type: "run"; argv: string[]; what: string }
  /** Pause (waiting for another process's build). */
  | { type: "sleep"; ms: number }
  /** Something slow starts: worth one line on stderr if it takes a while. */
  | { type: "notice"; text: string };

/** What a driver answers a step with: a run's stdout, and everything it printed (for the log). */
export interface Reply {
  stdout: string;
  output: string;
}

export const NO_REPLY: Reply = { stdout: "", output: "" };

export type Steps<T> = Generator<Step, T, Reply>;

const WARN_FLAGS = ["-Wall", "-Wextra"];
const BASE_CFLAGS = ["-std=gnu11", "-O2", "-g", ...WARN_FLAGS];

/** Files of a build, relative to its directory. */
export const BUILD_FILES = {
  library: "lib/libveo.so.1",
  veorun: "libexec/veorun",
  archive: "lib/libveorun.a",
  mkVeorunStatic: "bin/mk_veorun_static",
} as const;

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

/** The content hash of the emulator sources (READMEs aside), salted. */
export function hashSources(sourceDir: string, salt: string): string {
  const h = createHash("sha256");
  h.update(salt);
  for (const rel of listFiles(sourceDir)) {
    if (rel.endsWith("README.md")) continue;
    h.update(`\0${rel}\0`);
    h.update(fs.readFileSync(path.join(sourceDir, rel)));
  }
  return h.digest("hex").slice(0, 16);
}

export function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** `cc --version` plus the target triple: a cache key must change with the compiler. */
export function* compilerIdentity(cc: string): Steps<string> {
  const version = (yield { type: "run", argv: [cc, "--version"], what: "query the C compiler" }).stdout;
  const machine = (yield { type: "run", argv: [cc, "-dumpmachine"], what: "query the C compiler" }).stdout;
  return `${version.trim()}\n${machine.trim()}`;
}

function* libffiFlags(): Steps<{ cflags: string[]; libs: string[] }> {
  const split = (s: string) => s.split(/\s+/).filter(Boolean);
  try {
    const cflags = (yield { type: "run", argv: ["pkg-config", "--cflags", "libffi"], what: "ask pkg-config" })
      .stdout;
    const libs = (yield { type: "run", argv: ["pkg-config", "--libs", "libffi"], what: "ask pkg-config" })
      .stdout;
    return { cflags: split(cflags), libs: split(libs) };
  } catch {
    // No pkg-config (or no libffi.pc): the usual place and name.
    return { cflags: [], libs: ["-lffi"] };
  }
}

function cFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface RecipeOptions {
  /** Link libffi into veorun statically (the prebuilt one: no libffi needed where it runs). */
  staticFfi?: boolean;
}

/**
 * Builds into `out` (an empty directory). Paths inside the build never refer to `out` by
 * name: it is renamed into place afterwards.
 */
export function* buildRecipe(out: string, src: string, cc: string, opts: RecipeOptions = {}): Steps<void> {
  const ffi = yield* libffiFlags();
  const include = path.join(src, "include");
  const common = path.join(src, "src", "common");
  const commonSrc = cFiles(common);
  const libSrc = cFiles(path.join(src, "src", "lib"));
  const helperSrc = cFiles(path.join(src, "src", "helper"));
  const incFlags = [`-I${include}`, `-I${common}`];

  for (const sub of ["lib", "libexec", "bin", "obj"]) fs.mkdirSync(path.join(out, sub));

  // libveo.so.1: the VH side.
  yield {
    type: "run",
    what: "build libveo.so.1",
    argv: [
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
      path.join(out, BUILD_FILES.library),
      "-ldl",
      "-lpthread",
    ],
  };
  fs.symlinkSync("libveo.so.1", path.join(out, "lib", "libveo.so"));

  // The helper's objects, kept as an archive for mk_veorun_static.
  const objDir = path.join(out, "obj");
  const objects: string[] = [];
  for (const file of [...commonSrc, ...helperSrc]) {
    const prefix = file.startsWith(common) ? "common_" : "helper_";
    const obj = path.join(objDir, prefix + path.basename(file, ".c") + ".o");
    // Hidden by default: with -rdynamic only the kernel API (marked visible) is exported,
    // so the helper's internals never clash with a kernel's symbols.
    yield {
      type: "run",
      what: `compile ${path.basename(file)}`,
      argv: [
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
    };
    objects.push(obj);
  }
  yield {
    type: "run",
    what: "archive the helper objects",
    argv: ["ar", "rcs", path.join(out, BUILD_FILES.archive), ...objects],
  };
  // mk_veorun_static links user helpers on the user's machine: always the shared libffi.
  const helperLibs = [...ffi.libs, "-ldl", "-lpthread"];
  fs.writeFileSync(path.join(out, "lib", "veorun-libs.txt"), helperLibs.join(" ") + "\n");
  const veorunLibs = opts.staticFfi
    ? [...ffi.libs.map((l) => (l === "-lffi" ? "-l:libffi.a" : l)), "-ldl", "-lpthread"]
    : helperLibs;
  yield {
    type: "run",
    what: "link veorun",
    argv: [cc, "-pthread", "-rdynamic", ...objects, "-o", path.join(out, BUILD_FILES.veorun), ...veorunLibs],
  };
  fs.rmSync(objDir, { recursive: true, force: true });

  copyTree(include, path.join(out, "include"));
  copyTree(path.join(src, "include-ve"), path.join(out, "include-ve"));
  const mk = path.join(src, "bin", "mk_veorun_static");
  if (fs.existsSync(mk)) {
    const dest = path.join(out, BUILD_FILES.mkVeorunStatic);
    fs.copyFileSync(mk, dest);
    fs.chmodSync(dest, 0o755);
  }
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  if (!fs.existsSync(from)) return;
  fs.cpSync(from, to, { recursive: true });
}
