/*
 * Build progress: every compile and link step reports when it starts and ends (with its
 * duration), tool output is streamed as it arrives, and a cache hit says so. `verbose: true`
 * prints these events to stderr; `onProgress` receives them as objects. Without `verbose`,
 * compiler warnings get one summary line (reportWarnings).
 */

import * as path from "node:path";
import { formatCommand } from "./spawn.js";

/** A step of a build: compiling one source, linking the library, making a static helper. */
export type BuildStep = "compile" | "link" | "veorun";

/** A progress event of a build (see `onProgress`); `type` says which. */
export type BuildEvent =
  | {
      /** A step starts. */
      type: "start";
      /** Which step. */
      step: BuildStep;
      /** The source's label (compile) or the output's (link, veorun). */
      label: string;
      /** The tool's argv. */
      command: readonly string[];
    }
  | {
      /** The running tool printed something. */
      type: "output";
      /** Which step. */
      step: BuildStep;
      /** The source's or output's label. */
      label: string;
      /** What it printed (stdout and stderr, as received). */
      text: string;
    }
  | {
      /** A step ended. */
      type: "end";
      /** Which step. */
      step: BuildStep;
      /** The source's or output's label. */
      label: string;
      /** The tool's argv. */
      command: readonly string[];
      /** True when it exited 0. */
      ok: boolean;
      /** Its exit code, or null when killed by a signal. */
      exitCode: number | null;
      /** How long it ran. */
      durationMs: number;
    }
  | {
      /** A compiler listing (ncc -report-all's `<label>.L`), after its compile step. */
      type: "listing";
      /** Always "compile". */
      step: BuildStep;
      /** The source's label. */
      label: string;
      /** The listing's file name. */
      file: string;
      /** Its text. */
      text: string;
    }
  | {
      /** The output came from the cache: nothing was compiled. */
      type: "cached";
      /** The output's label. */
      label: string;
      /** The output's path. */
      path: string;
      /** What the tools printed when it was built. */
      warnings: string;
      /** How long the lookup took. */
      durationMs: number;
    }
  | {
      /** The build finished. */
      type: "done";
      /** The output's label. */
      label: string;
      /** The output's path. */
      path: string;
      /** How long the whole build took. */
      durationMs: number;
    };

/** Receives a build's progress events. */
export type ProgressListener = (event: BuildEvent) => void;

function ms(d: number): string {
  return d < 10 ? `${d.toFixed(1)} ms` : `${Math.round(d)} ms`;
}

/** The verbose reporter: one line per step start and end, tool output indented under it. */
export function stderrReporter(
  write: (s: string) => void = (s) => void process.stderr.write(s),
): ProgressListener {
  let pending = "";
  const flush = () => {
    if (pending !== "") {
      write(`  | ${pending}\n`);
      pending = "";
    }
  };
  return (e) => {
    switch (e.type) {
      case "start":
        write(`vebuild: ${e.step} ${e.label}: ${formatCommand(e.command)}\n`);
        break;
      case "output": {
        const lines = (pending + e.text).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) write(`  | ${line}\n`);
        break;
      }
      case "end":
        flush();
        write(
          `vebuild: ${e.step} ${e.label}: ${e.ok ? "ok" : `failed (exit ${e.exitCode ?? "signal"})`} in ${ms(e.durationMs)}\n`,
        );
        break;
      case "listing":
        write(
          `vebuild: listing ${e.file}\n---------\n${e.text.endsWith("\n") ? e.text : `${e.text}\n`}---------\n`,
        );
        break;
      case "cached":
        write(`vebuild: ${e.label}: cached, no compile (${ms(e.durationMs)}): ${e.path}\n`);
        if (e.warnings.trim() !== "") {
          for (const line of e.warnings.trimEnd().split("\n")) write(`  | ${line}\n`);
        }
        break;
      case "done":
        write(`vebuild: ${e.label}: built in ${ms(e.durationMs)}: ${e.path}\n`);
        break;
    }
  };
}

/** Combines the verbose reporter and a user listener into one (or none). */
export function makeListener(
  verbose: boolean | undefined,
  onProgress: ProgressListener | undefined,
): ProgressListener | undefined {
  const printer = verbose ? stderrReporter() : undefined;
  if (printer && onProgress) {
    return (e) => {
      printer(e);
      onProgress(e);
    };
  }
  return printer ?? onProgress;
}

const reported = new Set<string>();

/**
 * The default for warnings: one line on stderr per build output and process (a cached build
 * replays its warnings, so without this the same line would come back on every run). Only
 * warnings count (gcc's `warning:`, ncc's `warn(...)`); other chatter, such as
 * mk_veorun_static's "created ..." or vectorization remarks, stays in `lastBuild.warnings`.
 */
export function reportWarnings(
  build: { key: string; path: string; warnings: string },
  write: (s: string) => void = (s) => void process.stderr.write(s),
): void {
  const flagged = build.warnings.split("\n").filter((l) => /\bwarn(ing)?\b/i.test(l));
  if (flagged.length === 0 || reported.has(build.key)) return;
  reported.add(build.key);
  const count = `${flagged.length} warning${flagged.length === 1 ? "" : "s"}`;
  write(
    `vebuild: ${path.basename(build.path)}: ${count}, first: ${flagged[0].trim()} ` +
      "(full text: verbose: true, or lastBuild.warnings)\n",
  );
}
