/*
 * The two toolchains VeBuild knows: `nec` (ncc, nc++, nfort and mk_veorun_static from the NEC
 * SDK, with py-veo's default flags) and `host` (cc, c++, gfortran for the emulator, whose
 * "VE" runs x86-64 code). Which one to use is decided from the same facts library discovery
 * uses, without loading anything; see chooseToolchain() and docs/vebuild.md.
 */

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { VeBuildError } from "../errors.js";
import { ensureEmulatorAsync, type EmulatorBuild } from "../native/emulator-build.js";
import { runTool } from "./spawn.js";

/** `nec`: the NEC SDK for a real VE; `host`: the host compilers for the emulator. */
export type ToolchainName = "nec" | "host";
/** A source language. */
export type Lang = "c" | "c++" | "fortran";

/** py-veo's SUFFIX table (`.f90`: free-form Fortran). */
export const SUFFIX: Readonly<Record<Lang, string>> = { c: ".c", "c++": ".cpp", fortran: ".f90" };

const LANG_NAME: Readonly<Record<Lang, string>> = { c: "C", "c++": "C++", fortran: "Fortran" };

/** Environment variable that overrides each language's compiler (in either toolchain). */
const COMPILER_ENV: Readonly<Record<Lang, string>> = {
  c: "VEO_BUILD_CC",
  "c++": "VEO_BUILD_CXX",
  fortran: "VEO_BUILD_FC",
};

const DEFAULT_NEC_BIN = "/opt/nec/ve/bin";

/** py-veo's FLAGS table, verbatim. */
const NEC_FLAGS: Readonly<Record<Lang, readonly string[]>> = {
  c: ["-O2", "-fpic", "-pthread", "-report-all", "-fdiag-vector=2"],
  "c++": ["-O2", "-fpic", "-pthread", "-finline", "-finline-functions", "-report-all", "-fdiag-vector=2"],
  fortran: ["-O2", "-fpic", "-pthread", "-report-all", "-fdiag-vector=2"],
};

const HOST_FLAGS: Readonly<Record<Lang, readonly string[]>> = {
  c: ["-O2", "-pthread"],
  "c++": ["-O2", "-pthread"],
  fortran: ["-O2", "-pthread"],
};

/** py-veo's GLOBAL_SO_FLAGS. */
const SO_FLAGS: readonly string[] = ["-shared", "-pthread"];

export interface Toolchain {
  name: ToolchainName;
  /** Compiler per language as configured: a bare name (searched) or a path. */
  compiler: Readonly<Record<Lang, string>>;
  /** Directories searched for a bare compiler name before PATH (nec: the SDK's bin dir). */
  searchDirs: readonly string[];
  /**
   * PATH directories never searched. nec: every `node_modules/.bin` (npm puts it first in
   * PATH for scripts, and an npm package's `ncc` is a JavaScript bundler, not NEC's compiler).
   */
  skipPathDir?: (dir: string) => boolean;
  /** Used when the caller gives no flags for a source. */
  defaultFlags: Readonly<Record<Lang, readonly string[]>>;
  /** Always passed before the caller's flags (host: -fPIC and the emulator's kernel headers). */
  requiredFlags: readonly string[];
  /** Used when the caller gives no link flags. */
  soFlags: readonly string[];
  /** Libraries appended when objects of one language are linked by another's driver. */
  mixedLinkLibs(linkerLang: Lang, langs: ReadonlySet<Lang>): string[];
  /** Path of mk_veorun_static for this toolchain. */
  mkVeorunStatic: string;
  /** What else the output depends on (the emulator build it targets), for the cache key. */
  keyExtra: string;
  /** How to get a missing compiler, for error messages. */
  installHint(lang: Lang): string;
}

/** Which toolchain chooseToolchain() picked, and why. */
export interface ToolchainChoice {
  /** The toolchain. */
  name: ToolchainName;
  /** Why, in words (for verbose output and `veo info`). */
  reason: string;
}

function necBinDir(env: NodeJS.ProcessEnv): string {
  return env.VEO_BUILD_NEC_BIN ? path.resolve(env.VEO_BUILD_NEC_BIN) : DEFAULT_NEC_BIN;
}

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const emulatorLibMemo = new Map<string, boolean>();

/** True when `lib` is the veo-ts emulator: it exports veo_emu_is_emulator. Read, not loaded. */
function isEmulatorLibrary(lib: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(lib);
  } catch {
    return false;
  }
  const memoKey = `${lib}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let result = emulatorLibMemo.get(memoKey);
  if (result === undefined) {
    try {
      result = fs.readFileSync(lib).includes("veo_emu_is_emulator");
    } catch {
      result = false;
    }
    emulatorLibMemo.set(memoKey, result);
  }
  return result;
}

function hasVeNodes(): boolean {
  try {
    return fs.readdirSync("/sys/class/ve").some((n) => /^ve\d+$/.test(n));
  } catch {
    return false;
  }
}

/**
 * The toolchain rule, in order:
 * 1. `explicit` (a build option or the VeBuild constructor's `toolchain`);
 * 2. `VEO_BUILD_TOOLCHAIN` (`nec` or `host`);
 * 3. `nec` when the NEC C compiler exists (`$VEO_BUILD_NEC_BIN/ncc`, default
 *    /opt/nec/ve/bin/ncc) and either `VEO_LIBRARY` names a library that is not the veo-ts
 *    emulator, or `VEO_LIBRARY` is unset and VE nodes exist (/sys/class/ve/ve*);
 * 4. otherwise `host`.
 */
export function chooseToolchain(
  explicit?: ToolchainName,
  env: NodeJS.ProcessEnv = process.env,
): ToolchainChoice {
  if (explicit !== undefined) {
    checkToolchainName(explicit, "toolchain");
    return { name: explicit, reason: "chosen by the toolchain option" };
  }
  const fromEnv = env.VEO_BUILD_TOOLCHAIN;
  if (fromEnv) {
    checkToolchainName(fromEnv, "VEO_BUILD_TOOLCHAIN");
    return { name: fromEnv, reason: `VEO_BUILD_TOOLCHAIN=${fromEnv}` };
  }
  const ncc = path.join(necBinDir(env), "ncc");
  const haveNcc = isExecutableFile(ncc);
  const lib = env.VEO_LIBRARY;
  if (lib) {
    if (isEmulatorLibrary(lib)) {
      return { name: "host", reason: `VEO_LIBRARY=${lib} is the veo-ts emulator` };
    }
    if (haveNcc) return { name: "nec", reason: `VEO_LIBRARY=${lib} is not the emulator and ${ncc} exists` };
    return { name: "host", reason: `VEO_LIBRARY=${lib} is not the emulator, but ${ncc} does not exist` };
  }
  if (hasVeNodes()) {
    if (haveNcc) return { name: "nec", reason: `VE nodes exist and ${ncc} exists` };
    return { name: "host", reason: `VE nodes exist, but ${ncc} does not exist` };
  }
  return { name: "host", reason: "no VE nodes and no VEO_LIBRARY: the emulator is in use" };
}

export function checkToolchainName(name: unknown, what: string): asserts name is ToolchainName {
  if (name !== "nec" && name !== "host") {
    throw new TypeError(`${what} must be "nec" or "host", got ${JSON.stringify(name)}`);
  }
}

/** Each language's compiler: its COMPILER_ENV variable if set, else the toolchain's default. */
function compilers(env: NodeJS.ProcessEnv, defaults: Readonly<Record<Lang, string>>): Record<Lang, string> {
  return {
    c: env[COMPILER_ENV.c] || defaults.c,
    "c++": env[COMPILER_ENV["c++"]] || defaults["c++"],
    fortran: env[COMPILER_ENV.fortran] || defaults.fortran,
  };
}

function necToolchain(env: NodeJS.ProcessEnv): Toolchain {
  const bin = necBinDir(env);
  return {
    name: "nec",
    compiler: compilers(env, { c: "ncc", "c++": "nc++", fortran: "nfort" }),
    searchDirs: [bin],
    skipPathDir: isNodeModulesBin,
    defaultFlags: NEC_FLAGS,
    requiredFlags: [],
    soFlags: SO_FLAGS,
    mixedLinkLibs: () => [],
    mkVeorunStatic: env.MK_VEORUN_STATIC || path.join(path.dirname(bin), "libexec", "mk_veorun_static"),
    keyExtra: "",
    installHint: (lang) =>
      `install the NEC SDK's ${LANG_NAME[lang]} compiler (it lives in ${DEFAULT_NEC_BIN}), ` +
      `set VEO_BUILD_NEC_BIN to the directory holding ncc/nc++/nfort, ` +
      `set ${COMPILER_ENV[lang]} to the compiler, ` +
      `or build for the host emulator with toolchain "host" (VEO_BUILD_TOOLCHAIN=host)`,
  };
}

const HOST_PACKAGE: Readonly<Record<Lang, string>> = { c: "gcc", "c++": "g++", fortran: "gfortran" };

let emulatorMemo: EmulatorBuild | undefined;

/** The emulator build kernels are compiled against (built on first use, then memoised). */
async function emulatorForKernels(): Promise<EmulatorBuild> {
  emulatorMemo ??= await ensureEmulatorAsync();
  return emulatorMemo;
}

/**
 * Internal (tests): use this emulator build instead of ensureEmulatorAsync()'s, or go back to
 * it with undefined. Lets unit tests of the host toolchain run without building the emulator.
 */
export function setEmulatorForKernels(build: EmulatorBuild | undefined): void {
  emulatorMemo = build;
}

async function hostToolchain(env: NodeJS.ProcessEnv): Promise<Toolchain> {
  const emu = await emulatorForKernels();
  return {
    name: "host",
    compiler: compilers(env, { c: "cc", "c++": "c++", fortran: "gfortran" }),
    searchDirs: [],
    defaultFlags: HOST_FLAGS,
    requiredFlags: ["-fPIC", `-I${emu.kernelIncludeDir}`],
    soFlags: SO_FLAGS,
    // Objects linked by another language's driver need their runtime: Fortran's with the
    // C or C++ driver, C++'s with the C driver (mk_veorun_static links with cc).
    mixedLinkLibs: (linkerLang, langs) => [
      ...(linkerLang === "c" && langs.has("c++") ? ["-lstdc++"] : []),
      ...(linkerLang !== "fortran" && langs.has("fortran") ? ["-lgfortran"] : []),
    ],
    mkVeorunStatic: emu.mkVeorunStatic,
    // The emulator build dir is content-addressed: a changed emulator changes the key.
    keyExtra: emu.dir,
    installHint: (lang) =>
      `install it (Debian/Ubuntu: apt-get install ${HOST_PACKAGE[lang]}) ` +
      `or set ${COMPILER_ENV[lang]} to a compiler`,
  };
}

export async function getToolchain(
  name: ToolchainName,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Toolchain> {
  return name === "nec" ? necToolchain(env) : hostToolchain(env);
}

/** True for an npm bin directory (`.../node_modules/.bin`). */
export function isNodeModulesBin(dir: string): boolean {
  return /(^|\/)node_modules\/\.bin\/?$/.test(dir);
}

/**
 * Finds an executable: a name with a "/" is taken as a path (relative to the cwd); a bare
 * name is looked for in `searchDirs`, then in PATH (less the dirs `skipPathDir` rejects).
 * Throws VeBuildError saying where it looked and how to get one.
 */
export function resolveTool(
  name: string,
  searchDirs: readonly string[],
  what: string,
  hint: string,
  env: NodeJS.ProcessEnv = process.env,
  skipPathDir: (dir: string) => boolean = () => false,
): { path: string } {
  const looked: string[] = [];
  if (name.includes("/")) {
    const p = path.resolve(name);
    if (isExecutableFile(p)) return { path: p };
    looked.push(p);
  } else {
    const pathDirs = (env.PATH ?? "").split(":").filter((d) => d !== "" && !skipPathDir(d));
    for (const dir of [...searchDirs, ...pathDirs]) {
      const p = path.resolve(dir, name);
      if (isExecutableFile(p)) return { path: p };
      looked.push(p);
    }
  }
  throw new VeBuildError(
    `${what} ${JSON.stringify(name)} not found (looked for: ${looked.join(", ") || "nothing: PATH is empty"}); ${hint}`,
    { command: [name], exitCode: null, output: "" },
  );
}

const versionMemo = new Map<string, Promise<string>>();

/**
 * What the cache key records about a tool: its path plus either its `--version` output
 * (compilers) or its content hash (scripts such as mk_veorun_static). Memoised per file
 * state (inode, size, mtime), so replacing a compiler is noticed in a long-running process.
 */
export async function toolIdentity(toolPath: string, kind: "compiler" | "script"): Promise<string> {
  const st = await fsp.stat(toolPath);
  const memoKey = `${kind}\0${toolPath}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let p = versionMemo.get(memoKey);
  if (!p) {
    p = kind === "script" ? hashFile(toolPath) : compilerVersion(toolPath);
    versionMemo.set(memoKey, p);
    p.catch(() => versionMemo.delete(memoKey));
  }
  return `${toolPath}\n${await p}`;
}

async function compilerVersion(toolPath: string): Promise<string> {
  const run = await runTool([toolPath, "--version"], {
    cwd: path.dirname(toolPath),
    timeoutMs: 20_000,
  });
  return `exit=${run.exitCode}\n${run.output.trim()}`;
}

async function hashFile(p: string): Promise<string> {
  return createHash("sha256")
    .update(await fsp.readFile(p))
    .digest("hex");
}

/** The linker py-veo picks: C++ if any C++ source, else Fortran if any Fortran, else C. */
export function linkerLang(langs: ReadonlySet<Lang>): Lang {
  if (langs.has("c++")) return "c++";
  if (langs.has("fortran")) return "fortran";
  return "c";
}

export function langName(lang: Lang): string {
  return LANG_NAME[lang];
}
