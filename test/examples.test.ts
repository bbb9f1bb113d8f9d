/*
 * Ports of the behaviours py-veo's examples show: a sleeping kernel, in-place work on VE
 * memory, IN/OUT stack buffers, strings both ways, async transfers ordered with calls, an
 * average, a static helper, and a Fortran kernel through bind(c). Init hooks: hooks.test.ts.
 */
import { describe, expect, it } from "vitest";

import { Intent, OnStack, VeoProc } from "../src/index.js";
import { fileKernelProc } from "./support/fixture.js";
import { kernel, staticHelper } from "./support/kernels.js";
import { itNeeds } from "./support/compilers.js";

const { proc, lib, ctx } = fileKernelProc("examples");

describe("py-veo examples", () => {
  it("do_sleep: an async call returns its argument", async () => {
    const f = lib.fn.do_sleep.argsType("int").retType("int");
    const req = f(ctx, 5);
    expect(await req).toBe(5);
  });

  it("multeach: in-place work on VE memory, read back", async () => {
    const f = lib.declare("long multeach(long *a, int n, long f)");
    const a = new BigInt64Array([1n, 2n, 3n, 4n]);
    const ve = proc.allocMem(a.byteLength);
    proc.writeMem(ve, a);
    expect(await f(ctx, ve, 4, 3)).toBe(30n);
    proc.readMem(a, ve);
    expect([...a]).toEqual([3n, 6n, 9n, 12n]);
    proc.freeMem(ve);
  });

  it("test5: a string written into VE memory", () => {
    const f = lib.declare("int greeting_len(const char *s)");
    const msg = Buffer.from("Hello from VH!\0");
    const ve = proc.allocMem(msg.length);
    proc.writeMem(ve, msg);
    expect(f(ctx, ve).wait()).toBe(14);
    const back = Buffer.alloc(msg.length);
    proc.readMem(back, ve);
    expect(back.toString("latin1")).toBe("Hello from VH!\0");
    proc.freeMem(ve);
  });

  it("test7: a string returned through an OUT stack buffer", async () => {
    const f = lib.declare("int hola(char *out, int n)");
    const out = Buffer.alloc(12, 0x55);
    await f(ctx, new OnStack(out, { intent: Intent.OUT }), out.length);
    expect(out.toString("latin1")).toBe("Hola VH!!!\0\0");
  });

  it("test9: IN and OUT stack args, VE memory and async transfers in one context", async () => {
    const f = lib.declare("long test9(const long *a, long *b, double *c, const double *w, int n, int m)");
    const a = new BigInt64Array([1n, 2n, 3n, 4n, 5n]);
    const b = new BigInt64Array(5);
    const w = new Float64Array([1, 2, 3]);
    const c = new Float64Array(15);
    const vc = proc.allocMem(c.byteLength);
    const vw = proc.allocMem(w.byteLength);
    const wrote = ctx.asyncWriteMem(vw, w);
    const call = f(ctx, new OnStack(a), new OnStack(b, { intent: Intent.OUT }), vc, vw, 5, 3);
    const read = ctx.asyncReadMem(c, vc);
    await wrote;
    expect(await call).toBe(15n);
    await read;
    expect([...b]).toEqual([3n, 4n, 5n, 6n, 7n]);
    expect([...c]).toEqual([...a].flatMap((x) => [...w].map((y) => Number(x) * y)));
  });

  it("average: a large array, compared with the host's mean", async () => {
    const f = lib.declare("double average(const double *a, long n)");
    const n = 1 << 17;
    const a = new Float64Array(n).map(() => Math.random());
    const ve = proc.allocMem(a.byteLength);
    await ctx.asyncWriteMem(ve, a);
    const mean = a.reduce((s, v) => s + v, 0) / n;
    expect(await f(ctx, ve, n)).toBeCloseTo(mean, 10);
    proc.freeMem(ve);
  });
});

describe("static helper (mk_veorun_static)", () => {
  it("staticLibrary() finds the linked kernels; VeoProc.create takes the helper too", async () => {
    const veorun = staticHelper();
    const p = new VeoProc(0, { veorun });
    try {
      const s = p.staticLibrary();
      const f = s.declare("long multeach(long *a, int n, long f)");
      const a = new BigInt64Array([1n, 2n]);
      const ve = p.allocMem(16);
      p.writeMem(ve, a);
      expect(await f(p.openContext(), ve, 2, 5)).toBe(15n);
      expect(p.getFunction("multeach")).toBe(f);
      expect(s.fn.do_sleep.argsType("int").callSync(2)).toBe(2);
    } finally {
      p.destroy();
    }
    const q = await VeoProc.create(0, { veorun });
    try {
      expect(q.staticLibrary().fn.greeting_len).toBeDefined();
    } finally {
      q.destroy();
    }
  });
});

describe("Fortran through bind(c)", () => {
  itNeeds("gfortran")("by-reference (OnStack) and by-value arguments", async () => {
    const flib = proc.loadLibrary(kernel("fortran"));
    const fsum = flib.declare("double fsum(double *a, int *n)");
    const a = new Float64Array([1, 2, 3, 4]);
    const ve = proc.allocMem(a.byteLength);
    proc.writeMem(ve, a);
    expect(await fsum(ctx, ve, new OnStack(new Int32Array([4])))).toBe(10);
    expect(await fsum(ctx, new OnStack(a), new OnStack(new Int32Array([3])))).toBe(6);
    const fscale = flib.declare("void fscale(double *a, int n, double f)");
    await fscale(ctx, ve, 4, 0.5);
    proc.readMem(a, ve);
    expect([...a]).toEqual([0.5, 1, 1.5, 2]);
    const fadd = flib.declare("long fadd(long x, long y)");
    expect(fadd.callSync(40, 2)).toBe(42n);
    proc.freeMem(ve);
  });
});
