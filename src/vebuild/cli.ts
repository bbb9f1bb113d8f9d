/*
 * `veo build`: VeBuild from the command line. Source files in, the absolute path of the
 * built .so (or veorun) on stdout, each compile and link step with its duration on stderr.
 * No `veo` command is installed yet (the usage text names the one it is meant for); run it as:
 *   npx tsx src/vebuild/cli.ts kernel.c other.cpp -o _ve_build --label mylib
 */

import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { VeoError } from "../errors.js";
import { stderrReporter } from "./progress.js";
import { VeBuild } from "./vebuild.js";
import { BY_EXTENSION } from "./source-file.js";
import { checkToolchainName } from "./toolchain.js";

const BUILD_USAGE = `usage: veo build [options] <source>...

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
  -q, --quiet             print only the path
  -h, --help              this text

A value that starts with "-" is given with "=": --flags="-O3 -fpic", --lib=-lm.
`;

/** Runs `veo build` with `args` (after "build"); resolves to the process exit code. */
export async function buildCommand(
  args: readonly string[],
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        "build-dir": { type: "string", short: "o" },
        label: { type: "string", short: "l" },
        veorun: { type: "boolean" },
        toolchain: { type: "string" },
        flags: { type: "string" },
        "link-flags": { type: "string" },
        lib: { type: "string", multiple: true },
        "no-cache": { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`veo build: ${(e as Error).message}\n\n${BUILD_USAGE}`);
    return 2;
  }
  const { values: o, positionals: files } = parsed;
  if (o.help) {
    io.out(BUILD_USAGE);
    return 0;
  }
  if (files.length === 0) {
    io.err(`veo build: no source files\n\n${BUILD_USAGE}`);
    return 2;
  }
  const ac = new AbortController();
  const onSigint = () => ac.abort(new Error("interrupted"));
  process.once("SIGINT", onSigint);
  try {
    if (o.toolchain !== undefined) checkToolchainName(o.toolchain, "--toolchain");
    const bld = new VeBuild({ toolchain: o.toolchain, buildDir: o["build-dir"], cache: !o["no-cache"] });
    for (const file of files) {
      const ext = path.extname(file);
      const lang = BY_EXTENSION[ext];
      if (!lang) throw new TypeError(`${file}: unknown source type "${ext}" (expected .c, .cpp, .f90, ...)`);
      const text = await fsp.readFile(file, "utf8");
      const label = path.basename(file, ext);
      const opts = { flags: o.flags };
      if (lang === "c") bld.setCSrc(label, text, opts);
      else if (lang === "c++") bld.setCppSrc(label, text, opts);
      else bld.setFtnSrc(label, text, opts);
    }
    const buildOpts = {
      label: o.label,
      flags: o["link-flags"],
      libs: o.lib,
      onProgress: o.quiet ? undefined : stderrReporter(io.err),
      signal: ac.signal,
    };
    const out = o.veorun ? await bld.buildVeorun(buildOpts) : await bld.buildSo(buildOpts);
    io.out(`${out}\n`);
    return 0;
  } catch (e) {
    if (e instanceof VeoError || e instanceof TypeError) io.err(`veo build: ${e.message}\n`);
    else io.err(`veo build: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

// Run directly: `tsx src/vebuild/cli.ts ...`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void buildCommand(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
