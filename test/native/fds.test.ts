/*
 * src/native/fds.ts: the window in which fds 0-2 are inheritable (and 1/2 redirected) around
 * VE process creation, and that it puts everything back.
 */
import * as fs from "node:fs";

import { describe, expect, it } from "vitest";

import { VeoProc } from "../../src/index.js";
import { closeFd, isCloseOnExec, openPipe, openStdioWindow } from "../../src/native/fds.js";

const flags = (): boolean[] => [0, 1, 2].map(isCloseOnExec);

describe("openStdioWindow", () => {
  it("clears close-on-exec on 0-2 while open and restores the flags after", () => {
    const before = flags();
    const close = openStdioWindow();
    expect(flags()).toEqual([false, false, false]);
    const inner = openStdioWindow();
    inner();
    expect(flags()).toEqual([false, false, false]); // the outer window is still open
    close();
    close(); // idempotent
    expect(flags()).toEqual(before);
  });

  it("points fd 1 at a target and puts the original back", () => {
    const [r, w] = openPipe();
    const before = flags();
    const original = fs.fstatSync(1).ino;
    const close = openStdioWindow({ 1: w });
    try {
      expect(fs.fstatSync(1).ino).toBe(fs.fstatSync(w).ino);
      fs.writeSync(1, "through the pipe");
    } finally {
      close();
    }
    expect(fs.fstatSync(1).ino).toBe(original);
    expect(flags()).toEqual(before);
    const buf = Buffer.alloc(64);
    const n = fs.readSync(r, buf);
    expect(buf.toString("utf8", 0, n)).toBe("through the pipe");
    closeFd(r);
    closeFd(w);
  });

  it("creating procs leaves the flags as they were", async () => {
    const before = flags();
    new VeoProc(0).destroy();
    (await VeoProc.create(0)).destroy();
    new VeoProc(0, { stdout: "pipe", stderr: "pipe" }).destroy();
    (await VeoProc.create(0, { stdout: "pipe" })).destroy();
    expect(flags()).toEqual(before);
  });
});
