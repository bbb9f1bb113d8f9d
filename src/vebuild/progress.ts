/*
 * Build progress: every compile and link step reports when it starts and ends (with its
 * duration), tool output is streamed as it arrives, and a cache hit says so. `verbose: true`
 * prints these events to stderr; `onProgress` receives them as objects.
 */

import { formatCommand } from "./spawn.js";

export type BuildStep = "compile" | "link" | "veorun";

export type BuildEvent =
  | { type: "start"; step: BuildStep; label: string; command: readonly string[] }
  | { type: "output"; step: BuildStep; label: string; text: string }
  | {
      type: "end";
      step: BuildStep;
      label: string;
      command: readonly string[];
      ok: boolean;
      exitCode: number | null;
      durationMs: number;
    }
  /** A compiler listing (ncc -report-all's `<label>.L`), after its compile step. */
  | { type: "listing"; step: BuildStep; label: string; file: string; text: string }
  | { type: "cached"; label: string; path: string; warnings: string; durationMs: number }
  | { type: "done"; label: string; path: string; durationMs: number };

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
