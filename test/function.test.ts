/*
 * VeoFunction: declaring types, marshalling every C type (registers and stack), results,
 * OnStack intents, callSync, and every kind of bad argument (none may reach C).
 */
import { describe, expect, it } from "vitest";

import { Intent, OnStack, VeoClosedError, VeoFunction, VeoProc, type VeoCtxt } from "../src/index.js";
import { fileKernelProc } from "./support/fixture.js";
import { kernel, WIDE_ARGS } from "./support/kernels.js";

const { proc, lib, ctx } = fileKernelProc();

describe("declaring", () => {
  it("lib.declare finds and types a function; it is callable and awaitable", async () => {
    const sum = lib.declare("double sum(double *a, int n)");
    expect(sum).toBeInstanceOf(VeoFunction);
    expect(typeof sum).toBe("function");
    expect(sum.name).toBe("sum");
    expect(sum.lib).toBe(lib);
    expect(sum.argTypes).toEqual(["double *", "int"]);
    expect(sum.resultType).toBe("double");
    expect(sum.signature).toBe("double sum(double *a, int n)");
    expect(typeof sum.addr).toBe("bigint");
    const a = new Float64Array([1, 2, 3]);
    const ve = proc.allocMem(a.byteLength);
    proc.writeMem(ve, a);
    expect(await sum(ctx, ve, a.length)).toBe(6);
    proc.freeMem(ve);
  });

  it("argsType/retType chain, and lib.fn.<name> caches the same object", () => {
    const f = lib.fn.add_one;
    expect(lib.fn.add_one).toBe(f);
    expect(lib.findFunction("add_one")).toBe(f);
    expect(lib.func.get("add_one")).toBe(f);
    expect(f.argsType("int").retType("int")).toBe(f);
    expect(f(ctx, 41).wait()).toBe(42);
    expect("add_one" in lib.fn).toBe(true);
  });

  it("the default result type is int (py-veo), void arguments are skipped", () => {
    const f = lib.fn.neg_int.argsType("int", "void");
    expect(f.resultType).toBe("int");
    expect(f(ctx, 5).wait()).toBe(-5);
  });

  it("calling before argsType is a TypeError", () => {
    const f = lib.findFunction("id_i32");
    const fresh = new VeoProc(0);
    try {
      const g = fresh.loadLibrary(kernel("basic")).findFunction("id_i32");
      expect(() => g(fresh.openContext(), 1)).toThrow(/argsType/);
      expect(() => g.callSync(1)).toThrow(TypeError);
    } finally {
      fresh.destroy();
    }
    expect(f).toBeInstanceOf(VeoFunction);
  });

  it("an unknown type string is a TypeError naming it", () => {
    expect(() => lib.fn.id_i32.argsType("integer")).toThrow(/"integer"/);
    expect(() => lib.fn.id_i32.retType("quad")).toThrow(TypeError);
    expect(() => lib.declare("int id_i32(foo x)")).toThrow(TypeError);
    expect(() => lib.fn.id_i32.argsType(5 as unknown as string)).toThrow(TypeError);
  });

  it("a missing function is a VeoFailedError", () => {
    expect(() => lib.findFunction("no_such_function")).toThrow(/not found/);
    expect(() => lib.fn.no_such_function).toThrow(/not found/);
    expect(() => lib.findFunction("")).toThrow(TypeError);
  });

  it("more arguments than the library allows is a RangeError", () => {
    const types = Array.from({ length: 257 }, () => "long");
    expect(() => lib.fn.empty.argsType(...types)).toThrow(RangeError);
    lib.fn.empty.argsType().retType("long");
  });
});

describe("scalar marshalling (every type, through the typed setters)", () => {
  const cases: Array<[string, string, unknown[], unknown[]]> = [
    ["id_i8", "int8_t", [-128, 127, -1, 0n], [-128, 127, -1, 0]],
    ["id_u8", "uint8_t", [0, 255, 200n], [0, 255, 200]],
    ["id_i16", "short", [-32768, 32767], [-32768, 32767]],
    ["id_u16", "unsigned short", [65535, 1], [65535, 1]],
    ["id_i32", "int", [-(2 ** 31), 2 ** 31 - 1, -12], [-(2 ** 31), 2 ** 31 - 1, -12]],
    ["id_u32", "unsigned int", [2 ** 32 - 1, 0xa0a0a0a0], [2 ** 32 - 1, 0xa0a0a0a0]],
    [
      "id_i64",
      "long",
      [-1, -(2n ** 63n), 2n ** 63n - 1n, 2 ** 53 - 1],
      [-1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n - 1n],
    ],
    ["id_u64", "uint64_t", [2n ** 64n - 1n, 7, 0n], [2n ** 64n - 1n, 7n, 0n]],
    ["id_float", "float", [1.5, -0.25, 3], [1.5, -0.25, 3]],
    ["id_double", "double", [0.12345, -1e300, Infinity], [0.12345, -1e300, Infinity]],
    ["id_ptr", "void *", [0, 0x6000_0000_1000n, 4096], [0n, 0x6000_0000_1000n, 4096n]],
  ];

  it.each(cases)("%s(%s) round-trips by await and callSync", async (name, type, inputs, outputs) => {
    const f = lib.findFunction(name).argsType(type).retType(type);
    for (let i = 0; i < inputs.length; i++) {
      expect(await f(ctx, inputs[i])).toEqual(outputs[i]);
      expect(f.callSync(inputs[i])).toEqual(outputs[i]);
    }
  });

  it("float results come from the upper 32 bits (VE ABI)", async () => {
    const f = lib.declare("float half_float(float x)");
    expect(await f(ctx, 3)).toBe(1.5);
    expect(f.callSync(0.5)).toBe(0.25);
  });

  it("void results are undefined", async () => {
    const nothing = lib.declare("void nothing(void)");
    const count = lib.declare("long void_count(void)");
    const before = count.callSync();
    expect(await nothing(ctx)).toBeUndefined();
    expect(nothing.callSync()).toBeUndefined();
    expect(count.callSync()).toBe(before + 2n);
  });

  it("every type at once, 12 arguments (more than 8: stack)", async () => {
    const f = lib.declare(
      "double mixed(char a, unsigned char b, short c, unsigned short d, int e, unsigned int f, long g, unsigned long h, float i, double j, int8_t k, uint64_t l)",
    );
    const args = [-3, 200, -300, 60000, -70000, 4000000000, -5n, 6n, 0.5, 0.25, -7, 9n] as const;
    const expected =
      -3 +
      200 * 2 -
      300 * 3 +
      60000 * 4 -
      70000 * 5 +
      4000000000 * 6 -
      5 * 7 +
      6 * 8 +
      0.5 * 9 +
      0.25 * 10 -
      7 * 11 +
      9 * 12;
    expect(await f(ctx, ...args)).toBe(expected);
    expect(f.callSync(...args)).toBe(expected);
  });

  it("4 and 5 arguments, and wrong counts", async () => {
    const s4 = lib.declare("long sum4l(long, long, long, long)");
    const s5 = lib.declare("long sum5l(long, long, long, long, long)");
    expect(await s4(ctx, 1, 2, 3, 4)).toBe(30n);
    expect(s4.callSync(1, 2, 3, 4)).toBe(30n);
    expect(await s5(ctx, 1, 2, 3, 4, 5)).toBe(55n);
    expect(s5.callSync(1, 2, 3, 4, 5)).toBe(55n);
    // The typed signatures refuse these at compile time too (@ts-expect-error fails tsc
    // if they ever stop doing so); at run time each is a TypeError.
    // @ts-expect-error -- too few arguments
    expect(() => s4(ctx, 1, 2, 3)).toThrow(/takes 4 arguments, got 3/);
    // @ts-expect-error -- too many arguments
    expect(() => s4(ctx, 1, 2, 3, 4, 5)).toThrow(/takes 4 arguments, got 5/);
    // @ts-expect-error -- too few arguments
    expect(() => s5(ctx, 1, 2, 3, 4)).toThrow(/takes 5 arguments, got 4/);
    // @ts-expect-error -- too many arguments
    expect(() => s5.callSync(1, 2, 3, 4, 5, 6)).toThrow(/takes 5 arguments, got 6/);
    // @ts-expect-error -- a string for a long
    expect(() => s5(ctx, 1, 2, 3, 4, "5")).toThrow(/Argument 5 \(long\) of sum5l/);
    expect(() => s4.callSync(1, 2, 3, 2n ** 63n)).toThrow(RangeError);
  });

  it("10 doubles and 12 longs (py-veo test_many_args)", async () => {
    const d = lib.declare(
      "double sum10d(double,double,double,double,double,double,double,double,double,double)",
    );
    const dv = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
    expect(await d(ctx, ...dv)).toBe(dv.reduce((s, v, i) => s + v * (i + 1), 0));
    const l = lib.declare("long sum12l(long,long,long,long,long,long,long,long,long,long,long,long)");
    const lv = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12] as const;
    expect(await l(ctx, ...lv)).toBe(BigInt(lv.reduce((s, v, i) => s + v * (i + 1), 0)));
  });

  it(`the library's maximum: ${WIDE_ARGS} arguments`, async () => {
    const wide = proc.loadLibrary(kernel("wide"));
    const f = wide.fn.sum_wide.argsType(...Array.from({ length: WIDE_ARGS }, () => "long")).retType("long");
    const args = Array.from({ length: WIDE_ARGS }, (_, i) => (i % 2 ? -i : i));
    const expected = BigInt(args.reduce((s, v, i) => s + v * (i + 1), 0));
    expect(await f(ctx, ...args)).toBe(expected);
    expect(f.callSync(...args)).toBe(expected);
  });
});

describe("OnStack", () => {
  it("IN: the kernel reads a copy", async () => {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const a = new Int32Array([1, 2, 3, 4]);
    expect(await f(ctx, new OnStack(a), 4)).toBe(10n);
    expect(f.callSync(new OnStack(a, { size: 8, intent: Intent.IN }), 2)).toBe(3n);
  });

  it("OUT: the buffer is filled when the request completes", async () => {
    const f = lib.declare("int stack_out(int *p, int n)");
    const out = new Int32Array(5).fill(-1);
    const req = f(ctx, new OnStack(out, { intent: Intent.OUT }), 5);
    expect(await req).toBe(5);
    expect([...out]).toEqual([0, 1, 4, 9, 16]);
    const out2 = new Int32Array(4).fill(-1);
    f.callSync(new OnStack(out2, { intent: Intent.OUT, size: 8 }), 2);
    expect([...out2]).toEqual([0, 1, -1, -1]);
  });

  it("INOUT: in, transformed, and back (DataView, Buffer and ArrayBuffer too)", async () => {
    const f = lib.declare("int stack_inout(double *p, int n)");
    const a = new Float64Array([1, 2, 3]);
    await f(ctx, new OnStack(a, { intent: Intent.INOUT }), 3);
    expect([...a]).toEqual([3, 5, 7]);
    const ab = new Float64Array([10]).buffer;
    f(ctx, new OnStack(ab, { intent: Intent.INOUT }), 1).wait();
    expect(new Float64Array(ab)[0]).toBe(21);
    const buf = Buffer.alloc(16);
    buf.writeDoubleLE(4, 8);
    await f(ctx, new OnStack(new DataView(buf.buffer, buf.byteOffset + 8, 8), { intent: Intent.INOUT }), 1);
    expect(buf.readDoubleLE(8)).toBe(9);
  });

  it("mod_buff: IN and OUT stack arguments together", async () => {
    const f = lib.declare("long mod_buff(const long *a, long *b, int n)");
    const a = new BigInt64Array([1n, 2n, 3n, 4n, 5n]);
    const b = new BigInt64Array(5);
    expect(await f(ctx, new OnStack(a), new OnStack(b, { intent: Intent.OUT }), 5)).toBe(15n);
    expect([...b]).toEqual([3n, 4n, 5n, 6n, 7n]);
  });

  it("stack arguments after eight register arguments", async () => {
    const f = lib.declare(
      "long stack_many(long,long,long,long,long,long,long,long, long *out, const long *in)",
    );
    const out = new BigInt64Array(1);
    const r = await f(
      ctx,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      new OnStack(out, { intent: Intent.OUT }),
      new OnStack(new BigInt64Array([100n])),
    );
    expect(r).toBe(136n);
    expect(out[0]).toBe(136n);
  });

  it("many OUT requests in flight keep their own buffers", async () => {
    const f = lib.declare("int stack_out(int *p, int n)");
    const outs = Array.from({ length: 200 }, () => new Int32Array(3));
    const reqs = outs.map((o) => f(ctx, new OnStack(o, { intent: Intent.OUT }), 3));
    await Promise.all(reqs);
    for (const o of outs) expect([...o]).toEqual([0, 1, 4]);
  });

  it("stack arguments larger than the VE stack are a RangeError, and the proc lives on", async () => {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const big = new Int32Array((80 << 20) >> 2);
    expect(() => new OnStack(big)).toThrow(RangeError);
    expect(() => new OnStack(big)).toThrow(/options\.size of OnStack .*VE stack limit/);
    const g = lib.declare("long mod_buff(const long *a, long *b, int n)");
    const half = new BigInt64Array((40 << 20) >> 3);
    const call = (): unknown => g(ctx, new OnStack(half), new OnStack(half, { intent: Intent.OUT }), 1);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(/^Argument 2 \(b: long \*\) of mod_buff: .*exceed the VE stack limit/);
    expect(() => g.callSync(new OnStack(half), new OnStack(half, { intent: Intent.OUT }), 1)).toThrow(
      /Argument 2 \(b: long \*\) of mod_buff/,
    );
    expect(await f(ctx, new OnStack(new Int32Array([1, 2, 3, 4])), 4)).toBe(10n);
    expect(proc.dead).toBe(false);
  });

  it("rejects bad buffers, sizes and intents", () => {
    expect(() => new OnStack([1, 2] as unknown as ArrayBuffer)).toThrow(TypeError);
    expect(() => new OnStack(new Int32Array(2), { size: 9 })).toThrow(RangeError);
    expect(() => new OnStack(new Int32Array(2), { size: -1 })).toThrow(RangeError);
    expect(() => new OnStack(new Int32Array(2), { size: 1.5 })).toThrow(RangeError);
    expect(() => new OnStack(new Int32Array(2), { intent: 7 as Intent })).toThrow(RangeError);
    const s = new OnStack(new Int32Array(2), { size: 4 });
    expect(s.size).toBe(4);
    expect(s.intent).toBe(Intent.IN);
  });
});

describe("bad arguments never reach C", () => {
  const id = () => lib.declare("int id_i32(int x)");

  it("wrong argument count", () => {
    // @ts-expect-error -- too few arguments
    expect(() => id()(ctx)).toThrow(/takes 1 argument, got 0/);
    // @ts-expect-error -- too many arguments
    expect(() => id()(ctx, 1, 2)).toThrow(TypeError);
    // @ts-expect-error -- too few arguments
    expect(() => id().callSync()).toThrow(TypeError);
  });

  it("out-of-range, non-integer, NaN, unsafe and boolean values name the argument", () => {
    const c = lib.declare("char id_i8(char c)");
    expect(() => c(ctx, 300)).toThrow(/Argument 1 \(c: char\) of id_i8/);
    expect(() => c(ctx, 300)).toThrow(RangeError);
    expect(() => lib.declare("unsigned int id_u32(unsigned x)")(ctx, -1)).toThrow(RangeError);
    expect(() => id()(ctx, NaN)).toThrow(RangeError);
    expect(() => id()(ctx, 1.5)).toThrow(RangeError);
    // @ts-expect-error -- a boolean for an int
    expect(() => id()(ctx, true)).toThrow(TypeError);
    // @ts-expect-error -- a string for an int
    expect(() => id()(ctx, "1")).toThrow(TypeError);
    const l = lib.declare("long id_i64(long v)");
    expect(() => l(ctx, 2 ** 53 + 1)).toThrow(/bigint/);
    expect(() => l(ctx, 2n ** 63n)).toThrow(RangeError);
    // @ts-expect-error -- a bigint for a double
    expect(() => lib.declare("double id_double(double d)")(ctx, 1n)).toThrow(TypeError);
  });

  it("a pointer argument that is not a pointer", () => {
    const p = lib.declare("void *id_ptr(void *p)");
    // Number addresses are accepted at run time (checked), but the typed signature wants a bigint.
    // @ts-expect-error -- a number for a pointer
    expect(() => p(ctx, -1)).toThrow(RangeError);
    // @ts-expect-error -- a number for a pointer
    expect(() => p(ctx, 1.5)).toThrow(RangeError);
    // @ts-expect-error -- a string for a pointer
    expect(() => p(ctx, "0x10")).toThrow(TypeError);
    // @ts-expect-error -- a host buffer for a pointer (needs OnStack)
    expect(() => p(ctx, new Float64Array(2))).toThrow(/OnStack/);
    // @ts-expect-error -- an object for a pointer
    expect(() => p(ctx, {})).toThrow(TypeError);
    expect(() => p(ctx, 2n ** 64n)).toThrow(RangeError);
    expect(p(ctx, null).wait()).toBe(0n);
  });

  it("OnStack is only for pointer parameters", () => {
    // @ts-expect-error -- OnStack for an int
    expect(() => id()(ctx, new OnStack(new Int32Array(1)))).toThrow(TypeError);
  });

  it("a context, memory or function of another proc; a non-context", () => {
    const other = new VeoProc(0);
    try {
      const octx = other.openContext();
      const omem = other.allocMem(8);
      const p = lib.declare("void *id_ptr(void *p)");
      expect(() => p(octx, 0n)).toThrow(/another proc/);
      expect(() => p(ctx, omem)).toThrow(/another proc/);
      expect(() => p({} as VeoCtxt, 0n)).toThrow(/must be a VeoCtxt/);
      const ofn = other.loadLibrary(kernel("basic")).declare("int add_one(int)");
      expect(() => ofn(ctx, 1)).toThrow(/another proc/);
      expect(ofn(octx, 1).wait()).toBe(2);
    } finally {
      other.destroy();
    }
  });

  it("freed memory and memory of a destroyed proc as arguments are refused", () => {
    const p = lib.declare("void *id_ptr(void *p)");
    const m = proc.allocMem(8);
    proc.freeMem(m);
    expect(() => p(ctx, m)).toThrow(VeoClosedError);
    expect(() => p(ctx, m.offset(4))).toThrow(VeoClosedError);
    const other = new VeoProc(0);
    const om = other.allocMem(8);
    other.destroy();
    expect(() => p(ctx, om)).toThrow(VeoClosedError);
    const live = proc.allocMem(16);
    expect(p(ctx, live.offset(8)).wait()).toBe(live.addr + 8n);
    proc.freeMem(live);
  });

  it("a context of a destroyed proc is refused with VeoClosedError", () => {
    const other = new VeoProc(0);
    const octx = other.openContext();
    other.destroy();
    expect(() => lib.declare("int add_one(int)")(octx, 1)).toThrow(VeoClosedError);
  });

  it("after unload, the library's functions are closed", () => {
    const p2 = new VeoProc(0);
    try {
      const l2 = p2.loadLibrary(kernel("basic"));
      const c2 = p2.openContext();
      const f = l2.declare("int add_one(int)");
      expect(f(c2, 1).wait()).toBe(2);
      l2.unload();
      l2.unload();
      expect(l2.closed).toBe(true);
      expect(() => f(c2, 1)).toThrow(VeoClosedError);
      expect(() => f.callSync(1)).toThrow(VeoClosedError);
      expect(() => l2.findFunction("add_one")).toThrow(VeoClosedError);
      expect(p2.libs.size).toBe(0);
      const again = p2.loadLibrary(kernel("basic"));
      expect(again).not.toBe(l2);
      expect(again.declare("int add_one(int)")(c2, 2).wait()).toBe(3);
    } finally {
      p2.destroy();
    }
  });
});

describe("float arguments", () => {
  it("a finite value beyond FLT_MAX is a RangeError naming the argument; rounding is not", async () => {
    const f = lib.declare("float id_float(float x)");
    expect(() => f(ctx, 1e300)).toThrow(RangeError);
    expect(() => f(ctx, 1e300)).toThrow(
      /^Argument 1 \(x: float\) of id_float is 1e\+300, beyond the float range/,
    );
    expect(() => f(ctx, -3.5e38)).toThrow(RangeError);
    expect(() => f.callSync(1e39)).toThrow(/^Argument 1 \(x: float\) of id_float/);
    // Rounding to the nearest float (even up to FLT_MAX, or down to 0) is not an error.
    expect(await f(ctx, 0.1)).toBe(Math.fround(0.1));
    expect(await f(ctx, 3.4028235e38)).toBe(3.4028234663852886e38);
    expect(await f(ctx, 1e-50)).toBe(0);
    // Infinity and NaN are float values and pass as themselves.
    expect(await f(ctx, -Infinity)).toBe(-Infinity);
    expect(await f(ctx, NaN)).toBeNaN();
    const d = lib.declare("double id_double(double x)");
    expect(await d(ctx, 1e300)).toBe(1e300);
  });
});
