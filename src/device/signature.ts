/*
 * What a device kernel's declared prototype says about moving data: for each pointer
 * parameter, whether a host array passed there is copied in only (`const T *`) or in and
 * back out (`T *`), and which element type it must have. The C types themselves come from
 * the object model's parsePrototype; this file only adds the pointee constness, which
 * the object model ignores on purpose (it never moves data by itself).
 */
import { parsePrototype, parseType, type CPrototype } from "../ctypes.js";
import { dtypeOfCType, type DType } from "./dtype.js";

/** How a host array passed to a pointer parameter moves. */
export type Direction = "in" | "inout";

/** One parameter of a kernel prototype, and how a host array passed there moves. */
export interface ParamInfo {
  /** The parameter's name from the prototype, or `arg<i>`. */
  readonly name: string;
  /** Canonical C type, e.g. "double *", "int". */
  readonly ctype: string;
  /** For a single-level pointer: how a host array moves; undefined for scalars and T **. */
  readonly direction: Direction | undefined;
  /** For a single-level pointer to a known element type: that dtype (void * takes any). */
  readonly dtype: DType | undefined;
  /** True for any pointer parameter (T *, T **, ...). */
  readonly pointer: boolean;
}

/** A device kernel's prototype, parsed, with how each pointer argument moves. */
export interface KernelSignature {
  /** The prototype as parsePrototype reads it. */
  readonly proto: CPrototype;
  /** One entry per parameter, in order. */
  readonly params: readonly ParamInfo[];
  /** The prototype as given, for error messages and the timing wrapper. */
  readonly text: string;
}

/** Parses `prototype` (TypeError naming it when it is not a C prototype). */
export function parseSignature(prototype: unknown, label: string): KernelSignature {
  if (typeof prototype !== "string" || prototype.trim() === "") {
    throw new TypeError(`${label} must be a C prototype string such as "void scale(double *a, int n)"`);
  }
  const proto = parsePrototype(prototype);
  const raw = rawParams(prototype);
  const params = proto.params.map((p, i): ParamInfo => {
    const name = p.name ?? `arg${i}`;
    if (p.type.kind !== "ptr")
      return { name, ctype: p.type.name, direction: undefined, dtype: undefined, pointer: false };
    const single = /^[^*]+ \*$/.test(p.type.name);
    if (!single) return { name, ctype: p.type.name, direction: undefined, dtype: undefined, pointer: true };
    const pointee = parseType(p.type.name.slice(0, -2)).name;
    return {
      name,
      ctype: `${pointee} *`,
      direction: pointeeIsConst(raw[i] ?? "") ? "in" : "inout",
      dtype: dtypeOfCType(pointee),
      pointer: true,
    };
  });
  return { proto, params, text: prototype };
}

/** The parameter texts between the outer parentheses, split at commas. */
function rawParams(prototype: string): string[] {
  const open = prototype.indexOf("(");
  const close = prototype.lastIndexOf(")");
  const inner = prototype.slice(open + 1, close).trim();
  if (inner === "" || inner === "void") return [];
  return inner.split(",").map((s) => s.trim());
}

/** `const T *p`, `T const *p`, `const T p[]`: the data pointed to is const. `T * const p` is not. */
function pointeeIsConst(param: string): boolean {
  const bracket = param.indexOf("[");
  const star = param.lastIndexOf("*");
  const before = bracket >= 0 && star < 0 ? param.slice(0, bracket) : param.slice(0, Math.max(star, 0));
  return /\bconst\b/.test(before);
}
