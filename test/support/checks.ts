/*
 * Checks several suites share: whether a helper process is gone, and that calls throw
 * VeoUnsupported naming the missing function.
 */
import * as fs from "node:fs";

import { expect } from "vitest";

import { VeoError, VeoUnsupported } from "../../src/index.js";

/** Whether a process with this pid still exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Waits (up to `ms`) for `pid` to be gone; true if it is. */
export async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

/**
 * Each call must throw VeoUnsupported for `function`, introduced in API `since`; `reason`
 * is what the message must say about why it is missing.
 */
export function expectUnsupported(
  cases: ReadonlyArray<readonly [call: () => unknown, fn: string, since: number]>,
  reason: (fn: string, since: number) => RegExp,
): void {
  for (const [call, name, since] of cases) {
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err, name).toBeInstanceOf(VeoUnsupported);
    expect(err).toBeInstanceOf(VeoError);
    expect(err).toMatchObject({ code: "VEO_UNSUPPORTED", function: name, sinceApi: since });
    expect((err as Error).message).toMatch(reason(name, since));
  }
}
