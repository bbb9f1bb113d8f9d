/*
 * Proc lifetime bookkeeping: which procs are alive, the exit hook that destroys them when
 * Node (or a worker) exits, the thread-exit command that kills a terminated worker's VE
 * processes, and a FinalizationRegistry as the safety net for a proc dropped without
 * destroy(). VeoProc registers itself here on creation and unregisters in destroy(). Also:
 * what proc.lost says (VeoProcLost), the teardown grace period, and the host process behind
 * a VE process (found in /proc, killed only while it is still our child).
 */
import * as fs from "node:fs";

import { isMainThread } from "node:worker_threads";

import type { ProcHandle, VeoApi } from "./native/api.js";
import { onThreadExit } from "./native/thread-exit.js";

/** What must happen to a proc's native handle if its VeoProc is never destroyed. */
export interface Teardown {
  api: VeoApi;
  handle: ProcHandle;
  done: boolean;
  ref?: WeakRef<Destroyable>;
  /** The VE process's host process, when known (a worker kills it at thread exit). */
  helper?: Helper;
}

/** The part of a VeoProc this module needs. */
export interface Destroyable {
  destroy(): void;
}

const finalizer = new FinalizationRegistry<Teardown>((t) => {
  if (t.ref) forget(t);
  if (t.done) return;
  t.done = true;
  try {
    t.api.veo_proc_destroy(t.handle);
  } catch {
    /* best effort */
  }
});

const live = new Set<WeakRef<Destroyable>>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    exitDeadline = performance.now() + killGraceMs(undefined);
    for (const ref of [...live]) {
      try {
        ref.deref()?.destroy();
      } catch {
        /* exiting anyway */
      }
    }
  });
}

/** Starts tracking `proc`: destroyed at exit, its handle destroyed if it is collected alive. */
export function trackProc(proc: Destroyable, api: VeoApi, handle: ProcHandle, helper?: Helper): Teardown {
  const teardown: Teardown = { api, handle, done: false, helper };
  finalizer.register(proc, teardown, teardown);
  teardown.ref = new WeakRef(proc);
  live.add(teardown.ref);
  installExitHook();
  // The emulator destroys a worker's procs itself when the worker's thread exits (helper,
  // shared memory, threads); the command below only kills the VE processes.
  if (!isMainThread) api.veo_emu_proc_tie_thread?.(handle);
  if (helper !== undefined) updateThreadExit(teardown, true);
  return teardown;
}

/** Stops tracking: the caller destroys the handle itself, now. */
export function untrackProc(teardown: Teardown): void {
  if (teardown.ref) forget(teardown);
  finalizer.unregister(teardown);
  teardown.done = true;
}

function forget(teardown: Teardown): void {
  if (teardown.ref) live.delete(teardown.ref);
  if (teardown.helper !== undefined) updateThreadExit(teardown, false);
}

/*
 * A worker thread ended by worker.terminate() runs none of its JavaScript, exit hook
 * included; its thread still exits, and then kills the VE processes it still has (see
 * native/thread-exit.ts). The command checks each pid's start time and parent first, so a
 * reused pid is never hit.
 */
const threadHelpers = new Set<Teardown>();

function updateThreadExit(teardown: Teardown, add: boolean): void {
  if (isMainThread) return;
  if (add) threadHelpers.add(teardown);
  else if (!threadHelpers.delete(teardown)) return;
  try {
    onThreadExit(threadHelpers.size === 0 ? undefined : killCommand([...threadHelpers]));
  } catch {
    /* without it a terminated worker's VE processes live until the process exits */
  }
}

function killCommand(teardowns: Teardown[]): string {
  const list = teardowns.map((t) => `${t.helper?.pid}:${t.helper?.startTime}`).join(" ");
  return (
    `for e in ${list}; do p=\${e%%:*}; set -- $(sed 's/.*) //' /proc/$p/stat); ` +
    `[ "\${20}" = "\${e#*:}" ] && [ "$2" = "${process.pid}" ] && { [ "$3" = "$p" ] && kill -9 -- "-$p"; kill -9 "$p"; }; ` +
    "done 2>/dev/null"
  );
}

/** Why and how a VE process ended (what `proc.lost` resolves with), as WebGPU's device.lost. */
export interface VeoProcLost {
  /**
   * "destroyed": destroy() (or exit) ended it; "fault": a kernel died of a signal (`signal`);
   * "signaled": the VE process was killed by `signal`; "exited": it exited (`exitCode` when
   * known).
   */
  reason: "destroyed" | "exited" | "signaled" | "fault";
  /** A sentence saying what happened. */
  message: string;
  /** The VE process's exit status ("exited"), when known. */
  exitCode?: number;
  /** The signal number ("fault": the kernel's; "signaled": the one that killed the process). */
  signal?: number;
}

/** The teardown grace period when neither the option nor VEO_KILL_GRACE_MS says otherwise. */
export const DEFAULT_KILL_GRACE_MS = 1000;

/** The grace period a busy VE process gets at destroy/close/exit before it is killed. */
export function killGraceMs(option: number | undefined): number {
  if (option !== undefined) return option;
  const env = Number(process.env.VEO_KILL_GRACE_MS);
  return process.env.VEO_KILL_GRACE_MS !== undefined && Number.isFinite(env) && env >= 0
    ? env
    : DEFAULT_KILL_GRACE_MS;
}

/**
 * At exit every proc shares one grace period (the whole exit waits at most that long); the
 * deadline is set while the exit hook destroys them.
 */
let exitDeadline: number | undefined;

/** The time (performance.now()) by which a teardown starting now must be done. */
export function teardownDeadline(graceMs: number): number {
  const own = performance.now() + graceMs;
  return exitDeadline === undefined ? own : Math.min(own, exitDeadline);
}

/** What /proc says about a host process. */
export interface HostProcess {
  /** "R", "S", "Z" (zombie), ... or "gone". */
  state: string;
  ppid: number;
  pgrp: number;
  startTime: string;
  /** The wait status, readable while a zombie (Linux >= 3.5), else undefined. */
  waitStatus: number | undefined;
}

/** Reads /proc/<pid>/stat; undefined when the process does not exist. */
export function hostProcess(pid: number): HostProcess | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // Fields after "(comm) ", from field 3 (state) on; comm may hold spaces and parentheses.
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .trim()
    .split(" ");
  const status = f.length > 49 ? Number(f[49]) : NaN;
  return {
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    startTime: f[19],
    waitStatus: f[0] === "Z" && Number.isInteger(status) ? status : undefined,
  };
}

/**
 * The host process behind a VE process, once seen: its pid and start time (so that a reused
 * pid is never taken for it). Only our own children count: libveo forks the VE process.
 */
export interface Helper {
  pid: number;
  startTime: string;
}

export function helperOf(pid: number | undefined): Helper | undefined {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1) return undefined;
  const p = hostProcess(pid);
  if (!p || p.ppid !== process.pid) return undefined;
  return { pid, startTime: p.startTime };
}

/** Is the helper still running (not exited, not a zombie, not replaced by another process)? */
export function helperRunning(h: Helper): boolean {
  const p = hostProcess(h.pid);
  return p !== undefined && p.startTime === h.startTime && p.state !== "Z" && p.state !== "X";
}

/** How the helper ended, from its zombie's wait status when still readable. */
export function helperEnd(h: Helper): Pick<VeoProcLost, "exitCode" | "signal"> {
  const p = hostProcess(h.pid);
  if (!p || p.startTime !== h.startTime || p.waitStatus === undefined) return {};
  const st = p.waitStatus;
  return (st & 0x7f) !== 0 ? { signal: st & 0x7f } : { exitCode: (st >> 8) & 0xff };
}

/**
 * Kills the helper with SIGKILL: its whole process group when it leads one (its own children
 * go too), else the process. Never anything that is not still our child.
 */
export function killHelper(h: Helper): boolean {
  const p = hostProcess(h.pid);
  if (!p || p.startTime !== h.startTime || p.ppid !== process.pid || p.state === "Z") return false;
  try {
    process.kill(p.pgrp === h.pid ? -h.pid : h.pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}
