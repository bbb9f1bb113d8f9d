/*
 * File descriptors around VE process creation. libveo starts the VE process with fork+exec,
 * so the process inherits exactly the host's descriptors that are not close-on-exec; Node
 * marks 0-2 close-on-exec, which would leave a kernel's printf nowhere to go. These libc
 * calls (through koffi; this folder is its only importer) open a window in which 0-2 are
 * inheritable, optionally with 1 and/or 2 pointing at a pipe, and close it again.
 */
import { libc } from "./libc.js";

const F_DUPFD_CLOEXEC = 1030;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const O_CLOEXEC = 0o2000000;

/** A pipe, both ends close-on-exec: [read end, write end]. */
export function openPipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  return [fds[0], fds[1]];
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/** Where the VE process's stdout (1) and stderr (2) go while a window is open. */
export interface OutputTargets {
  1?: number;
  2?: number;
}

/** Restores what a window changed; call once. */
export type CloseWindow = () => void;

/** Open windows, and the fds among 0-2 whose close-on-exec flag the first one cleared. */
let openWindows = 0;
let cleared: number[] = [];

/**
 * Makes 0-2 inheritable until the returned function is called: clears FD_CLOEXEC where it is
 * set, and points 1/2 at `targets` (the originals are kept in close-on-exec copies and put
 * back). Windows may overlap (the flags come back when the last one closes); windows with
 * targets must not (the caller serialises them).
 */
export function openStdioWindow(targets: OutputTargets = {}): CloseWindow {
  const lc = libc();
  const saved: Array<[fd: number, copy: number, cloexec: boolean]> = [];
  try {
    for (const fd of [1, 2] as const) {
      const target = targets[fd];
      if (target === undefined) continue;
      const copy = lc.fcntl(fd, F_DUPFD_CLOEXEC, "int", 3);
      if (copy < 0) throw new Error(`could not save fd ${fd}`);
      saved.push([fd, copy, isCloseOnExec(fd)]);
      // dup2 leaves the new fd 1/2 without close-on-exec: inheritable, as wanted.
      if (lc.dup2(target, fd) < 0) throw new Error(`could not redirect fd ${fd}`);
    }
  } catch (err) {
    putBack(saved);
    throw err;
  }
  if (openWindows++ === 0) {
    cleared = [];
    for (const fd of [0, 1, 2]) {
      const flags = lc.fcntl(fd, F_GETFD, "int", 0);
      if (flags >= 0 && (flags & FD_CLOEXEC) !== 0) {
        lc.fcntl(fd, F_SETFD, "int", flags & ~FD_CLOEXEC);
        cleared.push(fd);
      }
    }
  }
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    putBack(saved);
    if (--openWindows === 0) {
      for (const fd of cleared) setCloseOnExec(fd, true);
      cleared = [];
    }
  };
}

function putBack(saved: Array<[number, number, boolean]>): void {
  const lc = libc();
  for (const [fd, copy, cloexec] of saved) {
    lc.dup2(copy, fd);
    lc.close(copy);
    // dup2 dropped the flag; while other windows are open, 0-2 stay inheritable.
    if (cloexec && openWindows === 0) setCloseOnExec(fd, true);
    else if (cloexec && !cleared.includes(fd)) cleared.push(fd);
  }
}

function setCloseOnExec(fd: number, on: boolean): void {
  const lc = libc();
  const flags = lc.fcntl(fd, F_GETFD, "int", 0);
  if (flags >= 0) lc.fcntl(fd, F_SETFD, "int", on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/** True when `fd` is close-on-exec (for tests and `veo doctor`). */
export function isCloseOnExec(fd: number): boolean {
  const flags = libc().fcntl(fd, F_GETFD, "int", 0);
  return flags >= 0 && (flags & FD_CLOEXEC) !== 0;
}
