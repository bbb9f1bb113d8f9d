/*
 * Pointer constness and element types from a kernel prototype: what decides whether a host
 * array is copied in only or in and back out.
 */
import { describe, expect, it } from "vitest";

import { parseSignature } from "../../src/device/signature.js";
import { checkDType, dtypeOf, dtypeOfCType, itemSize } from "../../src/device/dtype.js";

describe("parseSignature", () => {
  it("const T * is in, T * is inout, T * const is inout, scalars have no direction", () => {
    const s = parseSignature(
      "double f(const double *a, double *b, double * const c, double const *d, long n)",
      "p",
    );
    expect(s.params.map((p) => p.direction)).toEqual(["in", "inout", "inout", "in", undefined]);
    expect(s.params.map((p) => p.name)).toEqual(["a", "b", "c", "d", "n"]);
    expect(s.params.map((p) => p.dtype)).toEqual(["float64", "float64", "float64", "float64", undefined]);
    expect(s.params[4].pointer).toBe(false);
  });

  it("array syntax, unnamed parameters, typedef'd and spelled-out element types", () => {
    const s = parseSignature(
      "void g(const float a[], int32_t *, unsigned long long *u, const char *s, void *v)",
      "p",
    );
    expect(s.params.map((p) => p.direction)).toEqual(["in", "inout", "inout", "in", "inout"]);
    expect(s.params.map((p) => p.dtype)).toEqual(["float32", "int32", "uint64", "int8", undefined]);
    expect(s.params[1].name).toBe("arg1");
  });

  it("pointers to pointers take no host arrays", () => {
    const s = parseSignature("long h(double **pp, const int **q)", "p");
    expect(s.params.map((p) => [p.pointer, p.direction, p.dtype])).toEqual([
      [true, undefined, undefined],
      [true, undefined, undefined],
    ]);
  });

  it("rejects what is not a prototype with a TypeError naming the argument", () => {
    expect(() => parseSignature(42, "Argument 0 (prototype)")).toThrow(
      /Argument 0 \(prototype\) must be a C prototype/,
    );
    expect(() => parseSignature("", "Argument 0 (prototype)")).toThrow(TypeError);
    expect(() => parseSignature("not a prototype", "x")).toThrow(TypeError);
    expect(() => parseSignature("int v(int a, ...)", "x")).toThrow(/variadic/);
  });
});

describe("dtypes", () => {
  it("map host arrays and C types to dtypes", () => {
    expect(dtypeOf(new Float32Array(1))).toBe("float32");
    expect(dtypeOf(Buffer.alloc(1))).toBe("uint8");
    expect(dtypeOf(new BigInt64Array(1))).toBe("int64");
    expect(dtypeOf(new DataView(new ArrayBuffer(1)))).toBeUndefined();
    expect(dtypeOf(new Uint8ClampedArray(1))).toBeUndefined();
    expect(dtypeOf([1, 2])).toBeUndefined();
    expect(dtypeOfCType("size_t")).toBe("uint64");
    expect(dtypeOfCType("void")).toBeUndefined();
    expect(itemSize("int16")).toBe(2);
  });

  it("checkDType names the argument", () => {
    expect(checkDType("float64", "x")).toBe("float64");
    expect(() => checkDType("double", "Argument 0 (dtype)")).toThrow(
      /Argument 0 \(dtype\) must be one of int8, .*float64, got the string "double"/,
    );
    expect(() => checkDType("toString", "d")).toThrow(TypeError);
  });
});
