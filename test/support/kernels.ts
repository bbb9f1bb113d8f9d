/*
 * Compiles the test kernels (test/kernels/*.c, *.f90, plus a generated many-argument kernel)
 * with the host compilers into a content-addressed temp directory, once per content: test
 * files running in parallel, and later test runs, share the result (build in a temp dir,
 * rename into place). fixtureDir/fixtureTemp/publishFixture do the same for other fixtures
 * (the emulator conformance programs).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { ensureEmulator } from "../../src/native/emulator-build.js";
import { compilerCommand } from "./compilers.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KERNELS = path.resolve(HERE, "../kernels");
const ROOT = path.join(os.tmpdir(), `veo-ts-test-kernels-${process.getuid?.() ?? "u"}`);

/** How many arguments the generated `sum_wide` kernel takes. */
export const WIDE_ARGS = 256;

function wideSource(n: number): string {
  const params = Array.from({ length: n }, (_, i) => `long a${i}`).join(", ");
  const body = Array.from({ length: n }, (_, i) => `a${i} * ${i + 1}`).join(" + ");
  return `long sum_wide(${params}) { return ${body}; }\n`;
}

/** Runs `argv` without a shell; throws with its output when it fails. */
function run(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${argv.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error ?? ""}`);
}

/** `<ROOT>/<name>-<hash of key>`: where the fixture made for `key` lives once made. */
export function fixtureDir(name: string, key: string): string {
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return path.join(ROOT, `${name}-${hash}`);
}

/** A new temporary directory to make fixture `name` in (then `publishFixture` it). */
export function fixtureTemp(name: string): string {
  fs.mkdirSync(ROOT, { recursive: true });
  return fs.mkdtempSync(path.join(ROOT, `.tmp-${name}-`));
}

/**
 * Renames the finished `tmp` into place as `dir`; when another worker (or test run) got
 * there first, theirs is as good: `tmp` is removed.
 */
export function publishFixture(tmp: string, dir: string): void {
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(dir)) throw err;
  }
}

/**
 * `<ROOT>/<name>-<hash of key>/<file>`, made once per key by `make(tmp)` in a temporary
 * directory that is then renamed into place.
 */
function buildOnce(name: string, key: string, file: string, make: (tmp: string) => void): string {
  const dir = fixtureDir(name, key);
  const out = path.join(dir, file);
  if (fs.existsSync(out)) return out;
  const tmp = fixtureTemp(name);
  try {
    make(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(out)) throw err; // else another worker won the race: theirs is as good
    return out;
  }
  publishFixture(tmp, dir);
  return out;
}

function build(name: string, source: string, ext: "c" | "f90"): string {
  const includeDir = ensureEmulator().kernelIncludeDir;
  const compiler = ext === "c" ? process.env.CC || "cc" : compilerCommand("gfortran");
  return buildOnce(name, `${compiler}\n${includeDir}\n${ext}\n${source}`, `lib${name}.so`, (tmp) => {
    const src = path.join(tmp, `${name}.${ext}`);
    fs.writeFileSync(src, source);
    const args = ["-fPIC", "-shared", "-O2", "-o", path.join(tmp, `lib${name}.so`), src];
    if (ext === "c") args.unshift("-std=gnu11", `-I${includeDir}`);
    run([compiler, ...args]);
  });
}

const built = new Map<string, string>();

/** A static helper (mk_veorun_static) with the examples kernels linked in. */
export function staticHelper(): string {
  const cached = built.get("static");
  if (cached) return cached;
  const emu = ensureEmulator();
  const source = fs.readFileSync(path.join(KERNELS, "examples.c"), "utf8");
  const out = buildOnce("static", `${emu.mkVeorunStatic}\n${source}`, "veorun_examples", (tmp) => {
    const src = path.join(tmp, "examples.c");
    fs.writeFileSync(src, source);
    const obj = path.join(tmp, "examples.o");
    run([process.env.CC || "cc", "-std=gnu11", "-fPIC", "-O2", "-c", src, "-o", obj]);
    run([emu.mkVeorunStatic, "-o", path.join(tmp, "veorun_examples"), obj]);
  });
  built.set("static", out);
  return out;
}

/**
 * A host library that stands in for VEO 1.x: it reports API version 4 and forwards every
 * function to the emulator it links against, so the binding only binds what VEO 1.x has.
 */
export function veo1Shim(): string {
  const cached = built.get("veo1");
  if (cached) return cached;
  const emu = ensureEmulator();
  const libDir = path.dirname(emu.library);
  const source = `/* veo1 shim for ${emu.library} */\nint veo_api_version(void) { return 4; }\n`;
  const so = buildOnce("veo1", `2\n${source}`, "libveo.so", (tmp) => {
    fs.writeFileSync(path.join(tmp, "shim.c"), source);
    // --no-as-needed: the shim calls nothing itself but must pull the emulator in.
    run([
      process.env.CC || "cc",
      "-fPIC",
      "-shared",
      "-o",
      path.join(tmp, "libveo.so"),
      path.join(tmp, "shim.c"),
      "-Wl,--no-as-needed",
      `-L${libDir}`,
      "-l:libveo.so.1",
      `-Wl,-rpath,${libDir}`,
    ]);
  });
  built.set("veo1", so);
  return so;
}

/**
 * A copy of the emulator's libveo.so.1 built from the same sources with a linker version
 * script that makes `hidden` local, as a library lacking those functions would be. It sits
 * in its own lib/ with the real build's libexec/ beside it (where it looks for veorun).
 */
export function partialEmulator(hidden: readonly string[]): string {
  const key = `partial:${hidden.join(",")}`;
  const cached = built.get(key);
  if (cached) return cached;
  const emu = ensureEmulator();
  const src = path.resolve(HERE, "../../emulator");
  const files = (dir: string): string[] =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".c"))
      .sort()
      .map((f) => path.join(dir, f));
  const common = path.join(src, "src", "common");
  const sources = [...files(common), ...files(path.join(src, "src", "lib"))];
  const digest = sources.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  const so = buildOnce("partial", `${key}\n${emu.library}\n${digest}`, "lib/libveo.so.1", (tmp) => {
    const script = path.join(tmp, "hide.map");
    fs.writeFileSync(script, `{\n  global: *;\n  local: ${hidden.map((h) => `${h};`).join(" ")}\n};\n`);
    fs.mkdirSync(path.join(tmp, "lib"));
    fs.symlinkSync(path.join(path.dirname(emu.library), "..", "libexec"), path.join(tmp, "libexec"));
    run([
      process.env.CC || "cc",
      "-std=gnu11",
      "-O1",
      "-fPIC",
      "-shared",
      "-fvisibility=hidden",
      "-pthread",
      `-I${path.join(src, "include")}`,
      `-I${common}`,
      ...sources,
      `-Wl,--version-script=${script}`,
      "-o",
      path.join(tmp, "lib", "libveo.so.1"),
      "-ldl",
      "-lpthread",
    ]);
  });
  built.set(key, so);
  return so;
}

export type KernelName = "basic" | "examples" | "fortran" | "lifetime" | "wide" | "aveo";

/** Absolute path of a compiled test kernel library. */
export function kernel(name: KernelName): string {
  let so = built.get(name);
  if (so) return so;
  if (name === "wide") so = build("wide", wideSource(WIDE_ARGS), "c");
  else if (name === "fortran")
    so = build("fortran", fs.readFileSync(path.join(KERNELS, "fortran.f90"), "utf8"), "f90");
  else so = build(name, fs.readFileSync(path.join(KERNELS, `${name}.c`), "utf8"), "c");
  built.set(name, so);
  return so;
}
