/*
 * `veo reap`: kill emulator helpers left behind by programs that died. Only orphans are
 * touched (their host process is gone or is no longer their parent, so nothing can use them
 * again), only this user's, and each pid is checked again (same start time) right before
 * its signal, so a reused pid is never hit. SIGTERM first, SIGKILL after a grace period.
 * `--dry-run` only lists them.
 */
import { setTimeout as sleep } from "node:timers/promises";

import { listHelpers, startTimeOf, type Helper } from "./helpers.js";
import { EXIT, intOption, table, toJson, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "kill emulator helpers left behind by programs that died";

const USAGE = `usage: veo reap [--dry-run] [--pid <pid>]... [--grace <ms>] [--json]

Kills the veo-ts emulator's helper processes (veorun) whose host program died: those whose
host is gone or is no longer their parent. Helpers of running programs are never touched.

options:
  -n, --dry-run      list the orphans, kill nothing
      --pid <pid>    consider only this process (repeatable); still only if it is an orphan
      --grace <ms>   wait this long after SIGTERM before SIGKILL (default 1000)
      --json         print {orphans: [...], killed: [pids], failed: [{pid, error}]}
  -h, --help         this text

exit: 0 when no orphan is left (or --dry-run), 1 when one could not be killed, 2 bad usage.
`;

function same(h: Helper): boolean {
  return startTimeOf(h.pid) === h.startTime;
}

function signal(h: Helper, sig: NodeJS.Signals): string | undefined {
  if (!same(h)) return undefined;
  try {
    process.kill(h.pid, sig);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ESRCH" ? undefined : `${sig}: ${code ?? String(e)}`;
  }
}

const OPTIONS = {
  "dry-run": { type: "boolean", short: "n" },
  grace: { type: "string" },
  pid: { type: "string", multiple: true },
} as const;

async function reap({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const grace = intOption(o.grace, "grace", 1000, 60_000);
  const only = o.pid?.map((p) => intOption(p, "pid", 0));
  const orphans = listHelpers().filter((h) => h.orphan && (only === undefined || only.includes(h.pid)));
  const failed: { pid: number; error: string }[] = [];
  const killed: number[] = [];
  if (!o["dry-run"] && orphans.length > 0) {
    const termed = orphans.filter((h) => {
      const error = signal(h, "SIGTERM");
      if (error) failed.push({ pid: h.pid, error });
      return !error;
    });
    const deadline = Date.now() + grace;
    while (termed.some(same) && Date.now() < deadline) await sleep(50);
    for (const h of termed) {
      const error = signal(h, "SIGKILL");
      if (error) failed.push({ pid: h.pid, error });
    }
    await sleep(termed.some(same) ? 100 : 0);
    for (const h of termed) {
      if (!same(h)) killed.push(h.pid);
      else if (!failed.some((f) => f.pid === h.pid))
        failed.push({ pid: h.pid, error: "still running after SIGKILL" });
    }
  }
  if (o.json) {
    io.out(toJson({ dryRun: Boolean(o["dry-run"]), orphans, killed, failed }));
  } else if (orphans.length === 0) {
    io.out("no orphaned helpers\n");
  } else {
    const verb = o["dry-run"] ? "would kill" : "killed";
    io.out(
      table([
        ["PID", "HOST", "NODE", "STATE", "EXECUTABLE"],
        ...orphans.map((h) => [
          String(h.pid),
          String(h.hostPid),
          h.node === undefined ? "-" : String(h.node),
          o["dry-run"] ? verb : killed.includes(h.pid) ? verb : "FAILED",
          h.exe,
        ]),
      ]),
    );
    for (const f of failed) io.err(`veo reap: pid ${f.pid}: ${f.error}\n`);
  }
  return failed.length > 0 ? EXIT.failed : EXIT.ok;
}

export const reapCommand = defineCommand("reap", SUMMARY, USAGE, OPTIONS, reap);
