/*
 * VeoLibrary at the boundary: unloading while one of its kernels runs is refused with
 * VeoBusyError (the proc survives), and C strings with an embedded NUL are TypeErrors.
 */
import { describe, expect, it } from "vitest";

import { VeoBusyError, VeoError } from "../src/index.js";
import { kernel } from "./support/kernels.js";
import { fileKernelProc, openKernelProc } from "./support/fixture.js";

const { proc, lib, ctx } = fileKernelProc();

describe("unload with requests in flight", () => {
  it("throws VeoBusyError while a kernel runs, and works once it finished", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const sleep = l.declare("int do_sleep(int ms)");
      const req = sleep(c, 300);
      expect(() => l.unload()).toThrow(VeoBusyError);
      expect(() => l.unload()).toThrow(
        /^Cannot unload .*libbasic\.so: VeoCtxt\(node 0\) still runs requests \(newest: do_sleep/,
      );
      expect(() => p.unloadLibrary(l)).toThrow(VeoBusyError);
      try {
        l.unload();
      } catch (err) {
        expect(err).toBeInstanceOf(VeoError);
        expect((err as VeoError).code).toBe("VEO_BUSY");
      }
      expect(l.closed).toBe(false);
      expect(await req).toBe(300);
      expect(await l.declare("int add_one(int x)")(c, 1)).toBe(2);
      l.unload();
      expect(l.closed).toBe(true);
      expect(p.dead).toBe(false);
      // The proc lives on: load again and call.
      const l2 = p.loadLibrary(kernel("basic"));
      expect(await l2.declare("int add_one(int x)")(c, 2)).toBe(3);
    } finally {
      p.destroy();
    }
  });

  it("a finished request nobody collected does not block the unload, and keeps its result", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const req = l.declare("int add_one(int x)")(c, 41);
      c.sync();
      l.unload();
      expect(await req).toBe(42);
    } finally {
      p.destroy();
    }
  });
});

describe("C strings", () => {
  it("an embedded NUL in a library path, symbol name or prototype is a TypeError naming it", async () => {
    const path = kernel("basic");
    expect(() => proc.loadLibrary(`${path}\0.evil`)).toThrow(TypeError);
    expect(() => proc.loadLibrary(`${path}\0.evil`)).toThrow(
      /^Argument 0 \(path\) of loadLibrary contains a NUL character at index/,
    );
    expect(() => lib.findFunction("add_one\0x")).toThrow(
      /^Argument 0 \(name\) of findFunction contains a NUL/,
    );
    expect(() => lib.getSymbol("buffer\0")).toThrow(/^Argument 0 \(name\) of getSymbol contains a NUL/);
    expect(() => lib.fn["add_one\0"]).toThrow(TypeError);
    expect(() => proc.getFunction("add_one\0")).toThrow(/^Argument 0 \(name\) of getFunction contains a NUL/);
    expect(() => lib.declare("int add_one\0(int x)")).toThrow(/^A C prototype contains a NUL/);
    expect(() => lib.findFunction("add_one").argsType("int\0")).toThrow(/^A C type contains a NUL/);
    expect(await lib.declare("int add_one(int x)")(ctx, 1)).toBe(2);
  });

  it("names longer than 255 bytes of UTF-8 are a RangeError", () => {
    expect(() => lib.findFunction("é".repeat(200))).toThrow(RangeError);
    expect(() => lib.findFunction("é".repeat(200))).toThrow(
      /^Argument 0 \(name\) of findFunction is longer than 255 bytes/,
    );
  });
});
