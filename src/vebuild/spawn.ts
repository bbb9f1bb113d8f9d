/*
 * Running one build tool: an argv array (never a shell), its stdout and stderr collected as
 * one interleaved text and optionally streamed, an AbortSignal that kills it. The event loop
 * is never blocked: everything here is child_process.spawn and events.
 */

import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { VeBuildError } from "../errors.js";
import { ownBag } from "./args.js";

export interface ToolRun {
  /** Exit code, or null when the tool was killed by a signal. */
  exitCode: number | null;
  /** The signal that killed the tool, if any. */
  signal: NodeJS.Signals | null;
  /** Everything the tool wrote to stdout and stderr, interleaved as received. */
  output: string;
  durationMs: number;
}

export interface RunOptions {
  cwd: string;
  /** Variables added to (or, with a value of undefined, removed from) process.env. */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Called with each piece of output as it arrives (for streaming in verbose mode). */
  onOutput?: (text: string) => void;
  /** Kill the tool after this many ms (used for `--version` probes). */
  timeoutMs?: number;
}

/** An AbortError carrying the signal's reason, the way Node's own APIs reject. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error("The build was aborted", { cause: reason });
  err.name = "AbortError";
  return err;
}

/**
 * Runs argv[0] with argv[1..] and resolves with its exit status and output, whatever the
 * exit code. Rejects with VeBuildError when the tool cannot be started, and with an
 * AbortError when `signal` fires (after the tool has been killed and has exited).
 */
export function runTool(argv: readonly string[], options: RunOptions): Promise<ToolRun> {
  const opts = ownBag(options); // never an inherited timeout, cwd or env
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError("runTool: argv must not be empty");

  let env: NodeJS.ProcessEnv = process.env;
  if (opts.env) {
    env = { ...process.env };
    for (const [k, v] of Object.entries(opts.env)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }

  return new Promise<ToolRun>((resolve, reject) => {
    const started = performance.now();
    let output = "";
    let aborted = false;
    let timedOut = false;
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env,
      shell: false,
      stdio: ["ignore", "pipe", "pipe"],
    });

    const collect = (stream: NodeJS.ReadableStream) => {
      const decoder = new StringDecoder("utf8");
      stream.on("data", (chunk: Buffer) => {
        const text = decoder.write(chunk);
        if (text === "") return;
        output += text;
        opts.onOutput?.(text);
      });
      stream.on("end", () => {
        const rest = decoder.end();
        if (rest !== "") {
          output += rest;
          opts.onOutput?.(rest);
        }
      });
    };
    collect(child.stdout);
    collect(child.stderr);

    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      child.kill("SIGTERM");
      // A tool that ignores SIGTERM still goes away.
      killTimer = setTimeout(() => child.kill("SIGKILL"), 2000);
      killTimer.unref();
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let timeout: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timeout = setTimeout(() => {
        timedOut = true;
        kill();
      }, opts.timeoutMs);
    }

    const finish = () => {
      signal?.removeEventListener("abort", onAbort);
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
    };

    child.on("error", (err: NodeJS.ErrnoException) => {
      finish();
      if (aborted && signal) return reject(abortError(signal));
      const why =
        err.code === "ENOENT"
          ? "not found"
          : err.code === "EACCES"
            ? "not executable (permission denied)"
            : err.message;
      reject(
        new VeBuildError(
          `cannot start ${file}: ${why}`,
          {
            command: argv,
            exitCode: null,
            output,
          },
          { cause: err },
        ),
      );
    });
    child.on("close", (code, sig) => {
      finish();
      if (aborted && signal) return reject(abortError(signal));
      if (timedOut) output += `\n[veo-ts: killed after ${opts.timeoutMs} ms]\n`;
      resolve({ exitCode: code, signal: sig, output, durationMs: performance.now() - started });
    });
  });
}

/** The argv as one line a person can paste into a shell (POSIX quoting where needed). */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

function shellQuote(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
