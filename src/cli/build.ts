/*
 * `veo build`: VeBuild from the shell. Source files in (the language from each file's
 * extension, the label from its name), the absolute path of the built .so (or veorun) on
 * stdout, each compile and link step with its duration on stderr.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";

import { VeBuild } from "../index.js";
// The same step-by-step progress lines VeBuild prints with `verbose`, but to `io.err`.
import { stderrReporter } from "../vebuild/progress.js";
import { BY_EXTENSION } from "../vebuild/source-file.js";
import { EXIT, processIo, toJson, UsageError, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "compile C/C++/Fortran files into a VE library (or helper)";

const USAGE = `usage: veo build [options] <source>...

Builds C (.c), C++ (.cpp .cc .cxx .C) and Fortran (.f90 .f95 .f03 .f .F90) sources into one
shared library (or, with --veorun, a static VE helper) and prints its absolute path.
Each file's label is its name without the extension.

options:
  -o, --build-dir <dir>   put the output (and copies of the sources) in <dir>
  -l, --label <name>      output name (default: the first source's label)
      --veorun            build a static helper with mk_veorun_static instead of a .so
      --toolchain <t>     nec or host (default: matches the library in use)
      --flags <flags>     compile flags, replacing the toolchain's defaults
      --link-flags <f>    link flags (so: replace -shared -pthread; veorun: CFLAGS)
      --lib <arg>         extra link argument after the objects (repeatable), e.g. --lib=-lm
      --no-cache          compile even if the cache has this build
  -q, --quiet             print only the path (no progress on stderr)
      --json              print {path, cached, toolchain, toolchainReason, warnings, commands, durationMs}
  -h, --help              this text

A value that starts with "-" is given with "=": --flags="-O3 -fpic", --lib=-lm.

exit: 0 built, 1 the build failed (the compiler's message on stderr), 2 bad usage.
`;

/** Adds each file to `bld` as a source of the language its extension names. */
export async function addSourceFiles(bld: VeBuild, files: readonly string[], flags?: string): Promise<void> {
  for (const file of files) {
    const ext = path.extname(file);
    const lang = BY_EXTENSION[ext];
    if (!lang) throw new TypeError(`${file}: unknown source type "${ext}" (expected .c, .cpp, .f90, ...)`);
    const text = await fsp.readFile(file, "utf8");
    const label = path.basename(file, ext);
    const opts = { flags };
    if (lang === "c") bld.setCSrc(label, text, opts);
    else if (lang === "c++") bld.setCppSrc(label, text, opts);
    else bld.setFtnSrc(label, text, opts);
  }
}

/** True when `file` is a source veo build compiles (by extension). */
export function isSourceFile(file: string): boolean {
  return BY_EXTENSION[path.extname(file)] !== undefined;
}

/** Ctrl-C aborts the build (the compiler is killed) instead of leaving it running. */
export async function withSigint<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => ac.abort(new Error("interrupted"));
  process.once("SIGINT", onSigint);
  try {
    return await body(ac.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

const OPTIONS = {
  "build-dir": { type: "string", short: "o" },
  label: { type: "string", short: "l" },
  veorun: { type: "boolean" },
  toolchain: { type: "string" },
  flags: { type: "string" },
  "link-flags": { type: "string" },
  lib: { type: "string", multiple: true },
  "no-cache": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
} as const;

async function build({ values: o, positionals: files }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  if (files.length === 0) throw new UsageError("no source files");
  const toolchain = o.toolchain;
  if (toolchain !== undefined && toolchain !== "nec" && toolchain !== "host") {
    throw new UsageError(`--toolchain must be "nec" or "host", got ${JSON.stringify(toolchain)}`);
  }
  const bld = new VeBuild({
    toolchain,
    buildDir: o["build-dir"],
    cache: !o["no-cache"],
  });
  await addSourceFiles(bld, files, o.flags);
  const out = await withSigint((signal) => {
    const opts = {
      label: o.label,
      flags: o["link-flags"],
      libs: o.lib,
      onProgress: o.quiet ? undefined : stderrReporter(io.err),
      signal,
    };
    return o.veorun ? bld.buildVeorun(opts) : bld.buildSo(opts);
  });
  if (o.json) {
    const b = bld.lastBuild;
    io.out(
      toJson({
        path: out,
        cached: b?.cached,
        toolchain: b?.toolchain,
        toolchainReason: b?.toolchainReason,
        warnings: b?.warnings,
        commands: b?.commands,
        durationMs: b?.durationMs,
      }),
    );
  } else {
    io.out(`${out}\n`);
  }
  return EXIT.ok;
}

export const buildCliCommand = defineCommand("build", SUMMARY, USAGE, OPTIONS, build);

/** Runs `veo build` with `args` (the words after "build"); resolves to the exit code. */
export function buildCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  return buildCliCommand.run(args, io);
}
