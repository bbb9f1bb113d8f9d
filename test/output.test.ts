/*
 * Kernel output (src/proc-create.ts, src/native/fds.ts): the VE process inherits the host's
 * stdout/stderr as a C program's would, and `stdout: "pipe"` / `stderr: "pipe"` give
 * readable streams instead.
 */
import type { Readable } from "node:stream";

import { describe, expect, it } from "vitest";

import { VeoProc } from "../src/index.js";
import { runChild } from "./support/child.js";
import { kernel } from "./support/kernels.js";

const lifetime = kernel("lifetime");

/** Reads `stream` until `text` appeared (or 20 s passed); returns what was read. */
function readUntil(stream: Readable, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const done = (): void => {
      clearTimeout(timer);
      stream.off("data", onData);
      resolve(got);
    };
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.includes(text)) done();
    };
    const timer = setTimeout(done, 20_000);
    stream.on("data", onData);
  });
}

describe("inherited output", () => {
  it.each([
    ["new VeoProc", "new VeoProc(0)"],
    ["VeoProc.create", "await VeoProc.create(0)"],
  ])("a kernel's printf reaches the host's stdout and stderr (%s)", async (_n, make) => {
    const r = await runChild(
      `
      import { VeoProc } from "SRC";
      import { kernel } from "KERNELS";
      const p = ${make};
      const lib = p.loadLibrary(kernel("lifetime"));
      const ctx = p.openContext();
      await lib.declare("int say(long n)")(ctx, 42);
      await lib.declare("int say_err(long n)")(ctx, 5);
      console.log("fd", await lib.declare("int open_null(void)")(ctx));
      p.destroy();
      `,
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("kernel says 42\n");
    expect(r.stderr).toContain("kernel warns 5\n");
    // 0-2 are taken, so a file the kernel opens is not its stdout.
    expect(Number(/fd (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThan(2);
  });
});

describe('stdout/stderr: "pipe"', () => {
  it("gives readable streams of the kernel's output", async () => {
    const p = new VeoProc(0, { stdout: "pipe", stderr: "pipe" });
    try {
      expect(p.stdout).not.toBeNull();
      const lib = p.loadLibrary(lifetime);
      const ctx = p.openContext();
      const out = readUntil(p.stdout as Readable, "kernel says 7\n");
      const err = readUntil(p.stderr as Readable, "kernel warns 8\n");
      await lib.declare("int say(long n)")(ctx, 7);
      await lib.declare("int say_err(long n)")(ctx, 8);
      expect(await out).toBe("kernel says 7\n");
      expect(await err).toBe("kernel warns 8\n");
    } finally {
      p.destroy();
    }
  });

  it("VeoProc.create pipes too; inherited streams are null", async () => {
    const p = await VeoProc.create(0, { stdout: "pipe" });
    const q = new VeoProc(0);
    try {
      expect(p.stderr).toBeNull();
      expect(q.stdout).toBeNull();
      const out = readUntil(p.stdout as Readable, "kernel says 9\n");
      await p.loadLibrary(lifetime).declare("int say(long n)")(p.openContext(), 9);
      expect(await out).toBe("kernel says 9\n");
    } finally {
      p.destroy();
      q.destroy();
    }
  });

  it("the stream ends when the VE process is gone", async () => {
    const p = new VeoProc(0, { stdout: "pipe" });
    const ended = new Promise<void>((resolve) => (p.stdout as Readable).on("end", resolve).resume());
    p.destroy();
    const keep = setTimeout(() => {}, 20_000);
    await ended;
    clearTimeout(keep);
  });

  it("checks the option", () => {
    expect(() => new VeoProc(0, { stdout: "file" as never })).toThrow(
      /options\.stdout must be "inherit" or "pipe"/,
    );
    expect(() => new VeoProc(0, { stderr: 1 as never })).toThrow(TypeError);
  });

  it("what the host writes while VeoProc.create pipes is not lost into the pipe", async () => {
    const r = await runChild(
      `
      import { VeoProc } from "SRC";
      import { kernel } from "KERNELS";
      const made = VeoProc.create(0, { stdout: "pipe", stderr: "pipe" });
      console.log("host line during create");
      console.error("host error line during create");
      const p = await made;
      let piped = "";
      p.stdout.on("data", (d) => (piped += d));
      await p.loadLibrary(kernel("lifetime")).declare("int say(long n)")(p.openContext(), 3);
      await new Promise((r) => setTimeout(r, 200));
      console.log("host line after; piped=" + JSON.stringify(piped));
      p.destroy();
      `,
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("host line during create\n");
    expect(r.stderr).toContain("host error line during create\n");
    expect(r.stdout).toContain('piped="kernel says 3\\n"');
    expect(r.stdout).not.toMatch(/^kernel says 3/m);
  });
});
