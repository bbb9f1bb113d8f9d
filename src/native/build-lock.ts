/*
 * A lock file that lets one process build the emulator while others wait, instead of
 * three programs started together each compiling it. Created with O_EXCL (atomic on local
 * filesystems), holding the owner's pid, host and start time. A lock is stale, and broken,
 * when its owner is a dead process on this host, or when it is older than any build takes
 * (the owner lives elsewhere or hung). The lock saves work; correctness never depends on it:
 * every build goes to a private directory that is renamed into place, so a broken lock, a
 * double break or a waiter that gives up only costs a second compile.
 *
 * No npm lock package: proper-lockfile's synchronous lock cannot wait (it has no retries),
 * and `new VeoProc()` must wait synchronously; the 60 lines here serve both paths.
 */
import * as fs from "node:fs";
import * as os from "node:os";

import type { Steps } from "./emulator-recipe.js";

/** Older than this, a lock is stale whoever holds it (a build takes seconds). */
export const LOCK_STALE_MS = 10 * 60_000;
/** A waiter gives up after this and builds itself (still correct, see above). */
export const LOCK_WAIT_MS = 3 * 60_000;
const POLL_MS = 100;

interface Owner {
  pid: number;
  host: string;
  started: number;
}

export interface HeldLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(file: string): { owner?: Owner; mtimeMs: number } | undefined {
  try {
    const mtimeMs = fs.statSync(file).mtimeMs;
    try {
      return { owner: JSON.parse(fs.readFileSync(file, "utf8")) as Owner, mtimeMs };
    } catch {
      return { mtimeMs }; // being written, or garbage
    }
  } catch {
    return undefined; // gone
  }
}

/** Why the lock at `file` can be broken, or undefined while its owner may still be building. */
function staleness(owner: Owner | undefined, mtimeMs: number): string | undefined {
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return "older than a build takes";
  if (owner === undefined) return Date.now() - mtimeMs > 5_000 ? "unreadable" : undefined;
  if (owner.host === os.hostname() && !alive(owner.pid)) return `process ${owner.pid} is gone`;
  return undefined;
}

/** Takes the lock, or returns "busy" with the owner; "self" when this process holds it. */
function tryLock(file: string): HeldLock | "busy" | "self" {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, "wx", 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        // Cannot create a lock here at all: build without one (the rename keeps it safe).
        return { release() {} };
      }
      const seen = readOwner(file);
      if (seen === undefined) continue;
      if (seen.owner?.pid === process.pid && seen.owner.host === os.hostname()) return "self";
      if (staleness(seen.owner, seen.mtimeMs) === undefined) return "busy";
      fs.rmSync(file, { force: true });
      continue;
    }
    const owner: Owner = { pid: process.pid, host: os.hostname(), started: Date.now() };
    fs.writeSync(fd, JSON.stringify(owner));
    fs.closeSync(fd);
    return {
      release() {
        const now = readOwner(file)?.owner;
        if (now?.pid === owner.pid && now.started === owner.started) fs.rmSync(file, { force: true });
      },
    };
  }
  return "busy";
}

/**
 * Waits (yielding sleeps) until the lock is ours or `done()` says the work is there.
 * Resolves to the lock, or undefined when there is nothing left to do. An asynchronous build
 * of this same process holding the lock is not waited for (a synchronous caller would block
 * it forever): the caller then builds alongside.
 */
export function* acquireLock(file: string, done: () => boolean): Steps<HeldLock | undefined> {
  const started = Date.now();
  let told = false;
  for (;;) {
    const got = tryLock(file);
    if (got === "self") return { release() {} };
    if (got !== "busy") return got;
    if (done()) return undefined;
    if (Date.now() - started > LOCK_WAIT_MS) return { release() {} };
    if (!told) {
      told = true;
      yield { type: "notice", text: `waiting for another process that is building it (lock ${file})` };
    }
    yield { type: "sleep", ms: POLL_MS };
  }
}
