/*
 * Facts `veo info` and `veo doctor` both report: the library in use, the compilers VeBuild
 * would run, the environment variables that choose binaries, and the versions of Node and
 * koffi. Each fact is gathered so that a failure becomes a message, never an exception.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

import { loadVeo, type VeoLibraryInfo } from "../index.js";
// Which compiler VeBuild would run has no public API: the toolchain module answers it.
import {
  chooseToolchain,
  getToolchain,
  resolveTool,
  type Lang,
  type ToolchainChoice,
} from "../vebuild/toolchain.js";

/** Environment variables that decide which library, helper, node or compiler is used. */
export const ENV_VARS: readonly (readonly [string, string])[] = [
  ["VEO_LIBRARY", "path of the libveo to load (skips discovery)"],
  ["VEO_EMULATOR", "0 disables the host emulator"],
  ["VEO_TS_CACHE_DIR", "where the emulator and kernels are built (default ~/.cache/veo-ts)"],
  ["XDG_CACHE_HOME", "parent of the default cache directory"],
  ["VEO_BUILD_CACHE", "VeBuild's cache directory, or 0 to build without one"],
  ["CC", "C compiler that builds the emulator"],
  ["VEORUN_BIN", "helper binary a proc starts"],
  ["VEO_EMU_NODES", "number of emulated VE nodes (default 4)"],
  ["VE_NODE_NUMBER", "node used for node -1"],
  ["_VENODELIST", "VE nodes this process may use"],
  ["VEO_BUILD_TOOLCHAIN", "nec or host: VeBuild's toolchain"],
  ["VEO_BUILD_NEC_BIN", "directory of ncc/nc++/nfort (default /opt/nec/ve/bin)"],
  ["VEO_BUILD_CC", "VeBuild's C compiler"],
  ["VEO_BUILD_CXX", "VeBuild's C++ compiler"],
  ["VEO_BUILD_FC", "VeBuild's Fortran compiler"],
  ["MK_VEORUN_STATIC", "the static-helper linker of the nec toolchain"],
];

/** The variables of ENV_VARS that are set, with their values. */
export function envSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name] of ENV_VARS) {
    const v = env[name];
    if (v !== undefined && v !== "") out[name] = v;
  }
  return out;
}

export type LibraryFact = { ok: true; info: VeoLibraryInfo } | { ok: false; error: string };

export function libraryFact(): LibraryFact {
  try {
    return { ok: true, info: loadVeo() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

export interface CompilerFact {
  lang: Lang;
  /** As configured: a bare name or a path. */
  name: string;
  path?: string;
  /** First line of `--version`. */
  version?: string;
  /** Why it cannot be used, and how to get one. */
  error?: string;
}

export interface CompilersFact {
  toolchain: ToolchainChoice;
  compilers: CompilerFact[];
  /** The toolchain itself is unusable (the host one needs the emulator built). */
  error?: string;
}

function firstLine(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, ["--version"], { timeout: 20_000 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`.trim().split("\n")[0] ?? "";
      resolve(err && text === "" ? `(--version failed: ${err.message})` : text);
    });
  });
}

const LANGS: readonly Lang[] = ["c", "c++", "fortran"];

export async function compilersFact(): Promise<CompilersFact> {
  let toolchain: ToolchainChoice;
  try {
    toolchain = chooseToolchain();
  } catch (e) {
    return { toolchain: { name: "host", reason: "" }, compilers: [], error: (e as Error).message };
  }
  let tc;
  try {
    tc = await getToolchain(toolchain.name);
  } catch (e) {
    return { toolchain, compilers: [], error: (e as Error).message };
  }
  const compilers = await Promise.all(
    LANGS.map(async (lang): Promise<CompilerFact> => {
      const name = tc.compiler[lang];
      try {
        const found = resolveTool(name, tc.searchDirs, `${lang} compiler`, tc.installHint(lang));
        return { lang, name, path: found.path, version: await firstLine(found.path) };
      } catch (e) {
        return { lang, name, error: (e as Error).message };
      }
    }),
  );
  return { toolchain, compilers };
}

/** koffi's version, read from its package.json (src/native alone imports koffi itself). */
export function koffiVersion(): string | undefined {
  try {
    const main = createRequire(import.meta.url).resolve("koffi");
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(main), "package.json"), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
