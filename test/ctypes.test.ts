import { describe, expect, it } from "vitest";

import {
  decodeResult,
  makeChecker,
  parsePrototype,
  parseType,
  ResultRegister,
  type CKind,
} from "../src/ctypes.js";

describe("parseType", () => {
  const cases: Array<[string, CKind, string]> = [
    ["char", "i8", "char"],
    ["signed char", "i8", "char"],
    ["unsigned char", "u8", "unsigned char"],
    ["short", "i16", "short"],
    ["short int", "i16", "short"],
    ["unsigned short", "u16", "unsigned short"],
    ["int", "i32", "int"],
    ["signed", "i32", "int"],
    ["unsigned", "u32", "unsigned int"],
    ["unsigned int", "u32", "unsigned int"],
    ["const int", "i32", "int"],
    ["long", "i64", "long"],
    ["long long", "i64", "long"],
    ["long int", "i64", "long"],
    ["unsigned long", "u64", "unsigned long"],
    ["unsigned long long", "u64", "unsigned long"],
    ["int8_t", "i8", "int8_t"],
    ["uint8_t", "u8", "uint8_t"],
    ["int16_t", "i16", "int16_t"],
    ["uint16_t", "u16", "uint16_t"],
    ["int32_t", "i32", "int32_t"],
    ["uint32_t", "u32", "uint32_t"],
    ["int64_t", "i64", "int64_t"],
    ["uint64_t", "u64", "uint64_t"],
    ["size_t", "u64", "size_t"],
    ["ssize_t", "i64", "ssize_t"],
    ["float", "float", "float"],
    ["double", "double", "double"],
    ["void", "void", "void"],
    ["void *", "ptr", "void *"],
    ["double*", "ptr", "double *"],
    ["const char *", "ptr", "char *"],
    ["int **", "ptr", "int **"],
    ["  unsigned   int  ", "u32", "unsigned int"],
  ];
  it.each(cases)("%j is %s", (text, kind, name) => {
    const t = parseType(text);
    expect(t.kind).toBe(kind);
    expect(t.name).toBe(name);
  });

  it.each([
    "",
    "foo",
    "long double",
    "unsigned float",
    "int int",
    "short long",
    "char int",
    "struct x",
    "int[",
    "uint128_t",
    "signed unsigned",
  ])("rejects %j with a TypeError naming it", (text) => {
    expect(() => parseType(text)).toThrow(TypeError);
    expect(() => parseType(text)).toThrow(`"${text}"`);
  });

  it("rejects a non-string", () => {
    expect(() => parseType(5 as unknown as string)).toThrow(TypeError);
  });
});

describe("parsePrototype", () => {
  it("parses names, types and parameter names", () => {
    const p = parsePrototype("double sum(double *a, int n)");
    expect(p.name).toBe("sum");
    expect(p.ret.kind).toBe("double");
    expect(p.params.map((x) => [x.type.kind, x.name])).toEqual([
      ["ptr", "a"],
      ["i32", "n"],
    ]);
  });

  it("handles pointer results, unnamed parameters, void and arrays", () => {
    const p = parsePrototype("const char *name_of(unsigned long, double x[], uint64_t);");
    expect(p.ret.kind).toBe("ptr");
    expect(p.name).toBe("name_of");
    expect(p.params.map((x) => x.type.kind)).toEqual(["u64", "ptr", "u64"]);
    expect(p.params.map((x) => x.name)).toEqual([undefined, "x", undefined]);
    expect(parsePrototype("void f(void)").params).toEqual([]);
    expect(parsePrototype("void f()").params).toEqual([]);
    expect(parsePrototype("int*f(int*p)").params[0]).toMatchObject({ name: "p" });
    expect(parsePrototype("unsigned int g(unsigned int n)").params[0].type.kind).toBe("u32");
  });

  it.each([
    "sum(double *a)",
    "double (double *a)",
    "double sum(double *a",
    "int f(int, ...)",
    "int f(foo x)",
    "int f(void x)",
    "int f(int,)",
    "int",
  ])("rejects %j", (text) => {
    expect(() => parsePrototype(text)).toThrow(TypeError);
  });
});

describe("makeChecker", () => {
  const check = (type: string, v: unknown) => makeChecker(parseType(type), "Argument 1 (x) of f")(v);

  it("accepts in-range values of every integer type, as number or bigint", () => {
    expect(check("char", -128)).toBe(-128);
    expect(check("char", 127n)).toBe(127);
    expect(check("unsigned char", 255)).toBe(255);
    expect(check("short", -32768)).toBe(-32768);
    expect(check("unsigned short", 65535)).toBe(65535);
    expect(check("int", -(2 ** 31))).toBe(-(2 ** 31));
    expect(check("unsigned int", 2 ** 32 - 1)).toBe(2 ** 32 - 1);
    expect(check("long", -(2 ** 53) + 1)).toBe(-(2 ** 53) + 1);
    expect(check("long", -(2n ** 63n))).toBe(-(2n ** 63n));
    expect(check("unsigned long", 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(check("uint64_t", 0)).toBe(0);
    expect(check("int", -0)).toBe(-0);
  });

  it.each([
    ["char", 300],
    ["char", -129],
    ["unsigned char", 256],
    ["unsigned char", -1],
    ["short", 32768],
    ["unsigned short", -1],
    ["int", 2 ** 31],
    ["unsigned", -1],
    ["unsigned int", 2 ** 32],
    ["int", 2n ** 31n],
    ["long", 2n ** 63n],
    ["unsigned long", -1n],
    ["unsigned long", 2n ** 64n],
    ["uint64_t", -1],
  ])("rejects %s = %s with a RangeError", (type, v) => {
    expect(() => check(type, v)).toThrow(RangeError);
    expect(() => check(type, v)).toThrow("Argument 1 (x) of f");
  });

  it("rejects NaN, non-integers and unsafe numbers for integer types", () => {
    expect(() => check("int", NaN)).toThrow(RangeError);
    expect(() => check("int", 1.5)).toThrow(RangeError);
    expect(() => check("long", Infinity)).toThrow(RangeError);
    expect(() => check("long", 2 ** 53 + 2)).toThrow(/bigint/);
    expect(() => check("unsigned long", 2 ** 53)).toThrow(/bigint/);
    expect(() => check("uint64_t", 2 ** 64)).toThrow(RangeError);
  });

  it("rejects booleans, strings, null and objects with a TypeError", () => {
    for (const v of [true, "1", null, undefined, {}, [1]]) {
      expect(() => check("int", v)).toThrow(TypeError);
      expect(() => check("double", v)).toThrow(TypeError);
    }
    expect(() => check("float", 1n)).toThrow(TypeError);
  });

  it("passes floats and doubles through (NaN and infinities included)", () => {
    expect(check("double", 0.1)).toBe(0.1);
    expect(check("float", Infinity)).toBe(Infinity);
    expect(Number.isNaN(check("double", NaN))).toBe(true);
  });
});

describe("result decoding", () => {
  it("decodes the register as the VE delivers each type", () => {
    expect(decodeResult("int", 0xffff_ffffn)).toBe(-1);
    expect(decodeResult("int", 0x1_0000_0005n)).toBe(5);
    expect(decodeResult("unsigned int", 0xffff_ffffn)).toBe(4294967295);
    expect(decodeResult("char", 0xffn)).toBe(-1);
    expect(decodeResult("unsigned char", 0x1ffn)).toBe(255);
    expect(decodeResult("short", 0xfffen)).toBe(-2);
    expect(decodeResult("unsigned short", 0xfffen)).toBe(65534);
    expect(decodeResult("long", 0xffff_ffff_ffff_ffffn)).toBe(-1n);
    expect(decodeResult("unsigned long", 0xffff_ffff_ffff_ffffn)).toBe(2n ** 64n - 1n);
    expect(decodeResult("void *", 0x6000_0000_1000n)).toBe(0x6000_0000_1000n);
    expect(decodeResult("float", 0x3fc0_0000_0000_0000n)).toBe(1.5);
    expect(decodeResult("double", 0x3fbf_9a6b_50b0_f27cn)).toBe(0.12345);
    expect(decodeResult("void", 7n)).toBeUndefined();
    expect(decodeResult("long", -2n)).toBe(-2n);
  });

  it("gives bigint for 64-bit types and number for the rest", () => {
    const r = new ResultRegister();
    r.u64[0] = 5n;
    expect(typeof r.decode("u64")).toBe("bigint");
    expect(typeof r.decode("i64")).toBe("bigint");
    expect(typeof r.decode("ptr")).toBe("bigint");
    expect(typeof r.decode("i32")).toBe("number");
    expect(typeof r.decode("double")).toBe("number");
  });
});
