/*
 * Finding emulator helpers (`veorun` processes) through /proc: a helper is a process whose
 * initial environment carries VEO_EMU_HOST_PID (the emulator sets it, with VE_NODE_NUMBER,
 * when it starts one). A helper is an orphan when that host is gone or is no longer its
 * parent: nothing can ever talk to it again. `veo reap`, `veo doctor` and `veo smi` use this.
 */
import * as fs from "node:fs";

export interface Helper {
  pid: number;
  /** The process that started it (VEO_EMU_HOST_PID). */
  hostPid: number;
  /** Its current parent. */
  ppid: number;
  /** VE_NODE_NUMBER it was started with, if any. */
  node: number | undefined;
  /** Executable path (or the command name when /proc/<pid>/exe is unreadable). */
  exe: string;
  /** Field 22 of /proc/<pid>/stat: tells a pid apart from a later process that reuses it. */
  startTime: string;
  /** True when its host is gone or no longer its parent. */
  orphan: boolean;
}

function readText(p: string, encoding: BufferEncoding = "utf8"): string | undefined {
  try {
    return fs.readFileSync(p, encoding);
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when the process is gone (or a zombie). */
export function startTimeOf(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[0] === "Z" ? undefined : rest[19];
}

function alive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

/** One /proc entry as a Helper, or undefined when it is not one (or is not readable). */
export function readHelper(pid: number, uid = process.getuid?.()): Helper | undefined {
  const status = readText(`/proc/${pid}/status`);
  const environ = readText(`/proc/${pid}/environ`, "latin1");
  if (status === undefined || environ === undefined) return undefined;
  const owner = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  if (uid !== undefined && owner !== String(uid)) return undefined;
  const env = new Map<string, string>();
  for (const entry of environ.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const host = env.get("VEO_EMU_HOST_PID");
  if (host === undefined || !/^\d+$/.test(host)) return undefined;
  const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "?";
  let exe = name;
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    /* keep the name */
  }
  const startTime = startTimeOf(pid);
  if (startTime === undefined) return undefined;
  const hostPid = Number(host);
  const nodeText = env.get("VE_NODE_NUMBER");
  return {
    pid,
    hostPid,
    ppid,
    node: nodeText !== undefined && /^\d+$/.test(nodeText) ? Number(nodeText) : undefined,
    exe,
    startTime,
    orphan: ppid !== hostPid || !alive(hostPid),
  };
}

/** Every emulator helper owned by this user, in pid order. */
export function listHelpers(): Helper[] {
  let pids: number[];
  try {
    pids = fs
      .readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
  const self = process.pid;
  return pids
    .filter((pid) => pid !== self)
    .map((pid) => readHelper(pid))
    .filter((h): h is Helper => h !== undefined)
    .sort((a, b) => a.pid - b.pid);
}
