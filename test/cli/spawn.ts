/*
 * Running `veo` (or a REPL) as a child process, the way users do: from src/cli/main.ts as
 * TypeScript (through the tests' light loader, test/support/ts-loader.ts), with a hard
 * timeout (the child is killed, never left behind) and its exit code, stdout and stderr
 * collected. `session` feeds a REPL one line at a time, each line
 * after the previous one's prompt came back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { nodeArgs } from "../support/children.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const MAIN = path.join(ROOT, "src/cli/main.ts");
export const TSX = path.join(ROOT, "node_modules/.bin/tsx");

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

function childEnv(extra: SpawnOptions["env"] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", NODE_NO_WARNINGS: "1" };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawns `file args`, collects its output, kills it (whole group) after `timeoutMs`. */
export function runProcess(file: string, args: readonly string[], opts: SpawnOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      cwd: opts.cwd ?? ROOT,
      env: childEnv(opts.env),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => killGroup(child), opts.timeoutMs ?? 90_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `veo args...` from the sources, as `npm run veo` runs it. */
export function veo(args: readonly string[], opts: SpawnOptions = {}): Promise<Ran> {
  return runProcess(process.execPath, nodeArgs(MAIN, args), opts);
}

/** `veo args --json`, parsed; fails the test with the output when it is not JSON. */
export async function veoJson<T = Record<string, unknown>>(
  args: readonly string[],
  opts: SpawnOptions = {},
): Promise<{ ran: Ran; json: T }> {
  const ran = await veo([...args, "--json"], opts);
  try {
    return { ran, json: JSON.parse(ran.stdout) as T };
  } catch {
    throw new Error(`not JSON (exit ${ran.code}):\n${ran.stdout}\n--- stderr:\n${ran.stderr}`);
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

export interface Step {
  input: string;
  /** What the REPL printed between this line and the next prompt. */
  output: string;
}

/**
 * A REPL session: starts `file args`, waits for `prompt`, then sends each line and waits
 * for the prompt to come back before the next. Ends with `.exit`; the child must exit by
 * itself (it is killed after the timeout, and the test fails). Returns each line's output.
 */
export async function session(
  file: string,
  args: readonly string[],
  lines: readonly string[],
  opts: SpawnOptions & { prompt: RegExp; lineTimeoutMs?: number; onSpawn?: (pid: number) => void },
): Promise<{ steps: Step[]; all: string; exit: { code: number | null; signal: NodeJS.Signals | null } }> {
  const child = spawn(file, [...args], {
    cwd: opts.cwd ?? ROOT,
    env: childEnv(opts.env),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  let buf = "";
  let all = "";
  let wake: (() => void) | undefined;
  const onData = (s: string) => {
    buf += s;
    all += s;
    wake?.();
  };
  child.stdout.setEncoding("utf8").on("data", onData);
  child.stderr.setEncoding("utf8").on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  let exitedNow = false;
  void exited.then(() => {
    exitedNow = true;
    wake?.();
  });

  const untilPrompt = async (what: string): Promise<string> => {
    const deadline = Date.now() + (opts.lineTimeoutMs ?? 60_000);
    for (;;) {
      const m = opts.prompt.exec(buf);
      if (m) {
        const out = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        return out;
      }
      if (exitedNow) throw new Error(`the REPL exited while waiting for ${what}; output so far:\n${all}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no prompt after ${what}; output so far:\n${all}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  const steps: Step[] = [];
  try {
    await untilPrompt("start");
    for (const input of lines) {
      child.stdin.write(`${input}\n`);
      steps.push({ input, output: await untilPrompt(JSON.stringify(input)) });
    }
    child.stdin.write(".exit\n");
    child.stdin.end();
    const timer = setTimeout(() => killGroup(child), 30_000);
    const exit = await exited;
    clearTimeout(timer);
    return { steps, all, exit };
  } catch (e) {
    killGroup(child);
    await exited;
    throw e;
  }
}

/** A fresh temp directory (removed by the caller). */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `veo-cli-${name}-`));
}
