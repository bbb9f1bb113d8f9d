/*
 * What a build will do, before it does anything: the tools resolved to absolute paths, the
 * files to write, every step's argv, and the cache key that hashes all of it (with each
 * tool's identity). Running the plan is builder.ts's job.
 */

import { VeBuildError } from "../errors.js";
import { CACHE_FORMAT, hashKey } from "./cache.js";
import type { BuildStep, ProgressListener } from "./progress.js";
import {
  SUFFIX,
  chooseToolchain,
  getToolchain,
  langName,
  linkerLang,
  resolveTool,
  toolIdentity,
  type Lang,
  type ToolchainName,
} from "./toolchain.js";

export interface SourceBlock {
  label: string;
  lang: Lang;
  source: string;
  /** Replaces the toolchain's default flags for this source (py-veo semantics). */
  flags?: readonly string[];
  /** Compiler name or path for this source, instead of the toolchain's. */
  compiler?: string;
}

export interface BuildRequest {
  kind: "so" | "veorun";
  /** Output name: `<label>.so` or `<label>.veorun`. */
  label: string;
  sources: readonly SourceBlock[];
  /** so: link flags replacing `-shared -pthread`; veorun: CFLAGS for mk_veorun_static. */
  flags?: readonly string[];
  libs: readonly string[];
  linker?: string;
  toolchain?: ToolchainName;
  /** Cache directory (`<root>/v1`), or undefined for no cache. */
  cacheDir: string | undefined;
  buildDir?: string;
  signal?: AbortSignal;
  listener?: ProgressListener;
}

export interface Step {
  step: BuildStep;
  label: string;
  argv: string[];
  env?: Record<string, string>;
  /** For compile steps: the source file, kept on failure. */
  sourceFile?: string;
}

export interface Plan {
  key: string;
  toolchain: ToolchainName;
  toolchainReason: string;
  output: string;
  files: { name: string; text: string }[];
  steps: Step[];
}

export async function makePlan(req: BuildRequest): Promise<Plan> {
  if (req.sources.length === 0) {
    throw new VeBuildError("nothing to build: add sources with setCSrc, setCppSrc or setFtnSrc first", {
      command: [],
      exitCode: null,
      output: "",
    });
  }
  const choice = chooseToolchain(req.toolchain);
  const tc = await getToolchain(choice.name);
  const find = (name: string, what: string, hint: string) =>
    resolveTool(name, tc.searchDirs, what, hint, process.env, tc.skipPathDir).path;

  const files: Plan["files"] = [];
  const steps: Step[] = [];
  const objects: string[] = [];
  const langs = new Set<Lang>();
  for (const src of req.sources) {
    langs.add(src.lang);
    const compiler = find(
      src.compiler ?? tc.compiler[src.lang],
      `${langName(src.lang)} compiler for "${src.label}"`,
      tc.installHint(src.lang),
    );
    const file = src.label + SUFFIX[src.lang];
    const obj = `${src.label}.o`;
    files.push({ name: file, text: src.source });
    objects.push(obj);
    steps.push({
      step: "compile",
      label: src.label,
      argv: [
        compiler,
        ...tc.requiredFlags,
        ...(src.flags ?? tc.defaultFlags[src.lang]),
        "-c",
        file,
        "-o",
        obj,
      ],
      sourceFile: file,
    });
  }

  let output: string;
  if (req.kind === "so") {
    output = `${req.label}.so`;
    const lang = linkerLang(langs);
    const linker = find(
      req.linker ?? tc.compiler[lang],
      req.linker ? "linker" : `linker (the ${langName(lang)} compiler)`,
      req.linker ? "pass an existing compiler as linker" : tc.installHint(lang),
    );
    steps.push({
      step: "link",
      label: req.label,
      argv: [
        linker,
        ...(req.flags ?? tc.soFlags),
        "-o",
        output,
        ...objects,
        ...req.libs,
        ...tc.mixedLinkLibs(lang, langs),
      ],
    });
  } else {
    output = `${req.label}.veorun`;
    const mk = find(
      tc.mkVeorunStatic,
      "mk_veorun_static",
      tc.name === "nec"
        ? "install AVEO (it ships /opt/nec/ve/libexec/mk_veorun_static) or set MK_VEORUN_STATIC"
        : "the emulator build should provide it; rebuild the emulator",
    );
    steps.push({
      step: "veorun",
      label: req.label,
      argv: [mk, output, ...objects, ...req.libs, ...tc.mixedLinkLibs("c", langs)],
      // py-veo passes flags as CFLAGS in the environment, only when flags are given.
      env: req.flags ? { CFLAGS: req.flags.join(" ") } : undefined,
    });
  }

  const identities: Record<string, string> = {};
  for (const s of steps) {
    const tool = s.argv[0];
    identities[tool] ??= await toolIdentity(tool, s.step === "veorun" ? "script" : "compiler");
  }
  const key = hashKey({
    format: CACHE_FORMAT,
    kind: req.kind,
    toolchain: tc.name,
    toolchainExtra: tc.keyExtra,
    files,
    steps: steps.map((s) => ({ argv: s.argv, env: s.env ?? null })),
    identities,
  });
  return { key, toolchain: tc.name, toolchainReason: choice.reason, output, files, steps };
}
