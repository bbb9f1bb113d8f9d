/*
 * C type strings: parse them ("unsigned short", "const double *", whole prototypes for
 * `lib.declare`), check JS values against them exactly (nothing wraps or truncates), and
 * decode the 64-bit result register the way a VE delivers it. Pure: no koffi, no procs.
 * Every type reduces to a `kind`, which picks the typed veo_args setter and the decoder.
 */
import type { RegAddr } from "./native/api.js";

/** The register class of a C type. */
export type CKind =
  "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "float" | "double" | "ptr" | "void";

/** A parsed C type. */
export interface CType {
  /** Canonical spelling, e.g. "unsigned int", "double *". */
  readonly name: string;
  /** What the binding does with it (integer, float, pointer, void...). */
  readonly kind: CKind;
}

/** One parameter of a CPrototype. */
export interface CParam {
  /** Its type. */
  readonly type: CType;
  /** Parameter name from a prototype, if it had one. */
  readonly name?: string;
}

/** A parsed C prototype, as `lib.declare("double f(double *a, int n)")` takes it. */
export interface CPrototype {
  /** The function's name. */
  readonly name: string;
  /** The return type. */
  readonly ret: CType;
  /** The parameters, in order. */
  readonly params: readonly CParam[];
}

/** A value a C type accepts from JS (pointers also take VeMemPtr/OnStack, see function.ts). */
export type CValue = number | bigint;

/** Setter suffix per kind: `veo_args_set_<suffix>`; pointers go through `_u64`. */
export const SETTER_SUFFIX: Readonly<Record<Exclude<CKind, "void">, string>> = {
  i8: "i8",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  float: "float",
  double: "double",
  ptr: "u64",
};

/** `enum veo_emu_type` of the emulator's return-type hint (veo_emu.h). */
export const EMU_RESULT_TYPE: Readonly<Record<CKind, number>> = {
  void: 1,
  i8: 2,
  u8: 3,
  i16: 4,
  u16: 5,
  i32: 6,
  u32: 7,
  i64: 8,
  u64: 9,
  float: 10,
  double: 11,
  ptr: 12,
};

const QUALIFIERS = new Set(["const", "volatile", "restrict", "__restrict", "__restrict__"]);

const TYPEDEFS: Readonly<Record<string, CKind>> = {
  int8_t: "i8",
  uint8_t: "u8",
  int16_t: "i16",
  uint16_t: "u16",
  int32_t: "i32",
  uint32_t: "u32",
  int64_t: "i64",
  uint64_t: "u64",
  size_t: "u64",
  ssize_t: "i64",
  ptrdiff_t: "i64",
  intptr_t: "i64",
  uintptr_t: "u64",
};

const BASE_WORDS = new Set(["char", "short", "int", "long", "signed", "unsigned", "float", "double", "void"]);

/** Words that can appear in a type (so a trailing one is not a parameter name). */
function isTypeWord(w: string): boolean {
  return BASE_WORDS.has(w) || QUALIFIERS.has(w) || w in TYPEDEFS;
}

const CANONICAL: Readonly<Record<CKind, string>> = {
  i8: "char",
  u8: "unsigned char",
  i16: "short",
  u16: "unsigned short",
  i32: "int",
  u32: "unsigned int",
  i64: "long",
  u64: "unsigned long",
  float: "float",
  double: "double",
  ptr: "void *",
  void: "void",
};

const typeCache = new Map<string, CType>();

/**
 * Parses one C type: every py-veo type, `int8_t`…`uint64_t`, `size_t`, qualifiers, any
 * pointer (`T *`, `T **`). Throws a TypeError naming the string for anything else.
 */
export function parseType(text: string): CType {
  if (typeof text !== "string") {
    throw new TypeError(`A C type must be a string, got ${describeValue(text)}`);
  }
  checkCString(text, "A C type");
  const cached = typeCache.get(text);
  if (cached) return cached;
  const t = parseTypeUncached(text);
  typeCache.set(text, t);
  return t;
}

function unknownType(text: string, why: string): TypeError {
  return new TypeError(`Unknown C type "${text}": ${why}`);
}

function parseTypeUncached(text: string): CType {
  const stars = (text.match(/\*/g) ?? []).length;
  const words = text
    .replace(/\*/g, " ")
    .trim()
    .split(/\s+/)
    .filter((w) => w !== "" && !QUALIFIERS.has(w));
  if (words.length === 0) throw unknownType(text, "no base type");
  for (const w of words) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) throw unknownType(text, `unexpected "${w}"`);
  }
  const base = baseKind(text, words);
  if (stars > 0) {
    const pointee = words.join(" ");
    return { name: `${pointee} ${"*".repeat(stars)}`, kind: "ptr" };
  }
  return { name: words.length === 1 && words[0] in TYPEDEFS ? words[0] : CANONICAL[base], kind: base };
}

function baseKind(text: string, words: string[]): CKind {
  if (words.length === 1 && words[0] in TYPEDEFS) return TYPEDEFS[words[0]];
  let signed = 0;
  let unsigned = 0;
  let long = 0;
  let short = 0;
  let char = 0;
  let int = 0;
  let other: string | undefined;
  for (const w of words) {
    switch (w) {
      case "signed":
        signed++;
        break;
      case "unsigned":
        unsigned++;
        break;
      case "long":
        long++;
        break;
      case "short":
        short++;
        break;
      case "char":
        char++;
        break;
      case "int":
        int++;
        break;
      default:
        if (other !== undefined) throw unknownType(text, `"${other} ${w}" is not a type`);
        other = w;
    }
  }
  const modifiers = signed + unsigned + long + short + char + int;
  if (other !== undefined) {
    if (modifiers > 0) throw unknownType(text, `"${other}" cannot be combined with "${words.join(" ")}"`);
    if (other === "float" || other === "double" || other === "void") return other;
    throw unknownType(
      text,
      "supported are char, short, int, long, long long (signed/unsigned), float, double, " +
        "int8_t…uint64_t, size_t, ssize_t, void and pointers (T *)",
    );
  }
  if (signed + unsigned > 1 || int > 1 || char > 1 || short > 1 || long > 2) {
    throw unknownType(text, "repeated specifier");
  }
  if (char + short + (long > 0 ? 1 : 0) > 1 || (char && int)) {
    throw unknownType(text, "conflicting specifiers");
  }
  const u = unsigned > 0;
  if (char) return u ? "u8" : "i8";
  if (short) return u ? "u16" : "i16";
  if (long) return u ? "u64" : "i64";
  return u ? "u32" : "i32";
}

/**
 * Parses a C prototype such as "double sum(double *a, int n)". Parameter names are optional;
 * `(void)` and `()` mean none; `T a[]` is a pointer. Variadic prototypes are rejected.
 */
export function parsePrototype(text: string): CPrototype {
  if (typeof text !== "string") {
    throw new TypeError(`A C prototype must be a string, got ${describeValue(text)}`);
  }
  checkCString(text, "A C prototype");
  const m = /^\s*(.+?)\s*\b([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*;?\s*$/s.exec(text);
  if (!m || /^[\s*]*$/.test(m[1])) {
    throw new TypeError(`Cannot parse C prototype "${text}": expected "<type> <name>(<params>)"`);
  }
  const [, retText, name, paramText] = m;
  if (isTypeWord(name)) {
    throw new TypeError(`Cannot parse C prototype "${text}": missing function name`);
  }
  const ret = parseType(retText);
  const params: CParam[] = [];
  const trimmed = paramText.trim();
  if (trimmed !== "" && trimmed !== "void") {
    for (const raw of trimmed.split(",")) {
      params.push(parseParam(text, raw.trim()));
    }
  }
  return { name, ret, params };
}

function parseParam(proto: string, raw: string): CParam {
  if (raw === "...") throw new TypeError(`C prototype "${proto}": variadic functions are not supported`);
  if (raw === "") throw new TypeError(`C prototype "${proto}": empty parameter`);
  let text = raw;
  let array = false;
  const arr = /\[\s*\d*\s*\]\s*$/.exec(text);
  if (arr) {
    array = true;
    text = text.slice(0, arr.index);
  }
  let name: string | undefined;
  const last = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(text);
  if (last && !isTypeWord(last[1])) {
    const before = text.slice(0, last.index);
    if (/[A-Za-z_*]/.test(before)) {
      name = last[1];
      text = before;
    }
  }
  let type = parseType(text);
  if (array) type = { name: `${type.name.replace(/ \*+$/, "")} *`, kind: "ptr" };
  if (type.kind === "void") throw new TypeError(`C prototype "${proto}": parameter "${raw}" has type void`);
  return name === undefined ? { type } : { type, name };
}

/**
 * Throws a TypeError naming `label` if `text` contains a NUL character: C would see only the
 * part before it (a different path or symbol name).
 */
export function checkCString(text: string, label: string): void {
  const at = text.indexOf("\0");
  if (at >= 0) {
    throw new TypeError(
      `${label} contains a NUL character at index ${at}; C would see only ${JSON.stringify(text.slice(0, at))}`,
    );
  }
}

/** A short description of a JS value for error messages. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case "string":
      return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
    case "bigint":
      return `${v}n`;
    case "number":
    case "boolean":
    case "undefined":
      return String(v);
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      if (v === null) return "null";
      // A getter or Proxy trap could throw here (or be revoked): an error message must not.
      try {
        const name: unknown = (v as object).constructor?.name;
        return `an instance of ${typeof name === "string" ? name : "Object"}`;
      } catch {
        return "an object";
      }
  }
}

const LIMITS: Readonly<Record<string, readonly [bigint, bigint]>> = {
  i8: [-128n, 127n],
  u8: [0n, 255n],
  i16: [-32768n, 32767n],
  u16: [0n, 65535n],
  i32: [-2147483648n, 2147483647n],
  u32: [0n, 4294967295n],
  i64: [-(2n ** 63n), 2n ** 63n - 1n],
  u64: [0n, 2n ** 64n - 1n],
  ptr: [0n, 2n ** 64n - 1n],
};

/**
 * The slow path of an integer check: returns the value to pass to the setter (a number for
 * ≤ 32-bit types, number or bigint for 64-bit ones) or throws with `label` in the message.
 */
function checkIntegerSlow(kind: CKind, typeName: string, v: unknown, label: string): CValue {
  const [lo, hi] = LIMITS[kind];
  const wide = kind === "i64" || kind === "u64" || kind === "ptr";
  const range = `[${lo}, ${hi}]`;
  if (typeof v === "bigint") {
    if (v < lo || v > hi) {
      throw new RangeError(`${label} must be in ${range} for ${typeName}, got ${v}n`);
    }
    return wide ? v : Number(v);
  }
  if (typeof v !== "number") {
    throw new TypeError(
      `${label} must be an integer (number or bigint) for ${typeName}, got ${describeValue(v)}`,
    );
  }
  if (!Number.isInteger(v)) {
    throw new RangeError(`${label} must be an integer for ${typeName}, got ${v}`);
  }
  if (v < Number(lo) || v > Number(hi)) {
    throw new RangeError(`${label} must be in ${range} for ${typeName}, got ${v}`);
  }
  if (!Number.isSafeInteger(v)) {
    throw new RangeError(
      `${label} is ${v}, beyond 2**53 where a number is not exact; pass a bigint for ${typeName}`,
    );
  }
  return v;
}

/** The largest finite float (FLT_MAX). */
const FLT_MAX = 3.4028234663852886e38;

/** Checks and encodes one argument; returns what the typed setter takes. */
export type Checker = (v: unknown) => CValue;

/**
 * Builds the checker for a scalar (non-pointer, non-void) type. `label` names the argument
 * in errors, e.g. "argument 1 (n: int) of sum". Fast paths avoid any allocation.
 */
export function makeChecker(type: CType, label: string): Checker {
  const t = type.name;
  const slow = (v: unknown): CValue => checkIntegerSlow(type.kind, t, v, label);
  switch (type.kind) {
    case "i8":
      return (v) => (typeof v === "number" && (v << 24) >> 24 === v ? v : slow(v));
    case "u8":
      return (v) => (typeof v === "number" && (v & 0xff) === v ? v : slow(v));
    case "i16":
      return (v) => (typeof v === "number" && (v << 16) >> 16 === v ? v : slow(v));
    case "u16":
      return (v) => (typeof v === "number" && (v & 0xffff) === v ? v : slow(v));
    case "i32":
      return (v) => (typeof v === "number" && (v | 0) === v ? v : slow(v));
    case "u32":
      return (v) => (typeof v === "number" && v >>> 0 === v ? v : slow(v));
    case "i64":
    case "u64":
    case "ptr": {
      const lo = type.kind === "i64" ? -Number.MAX_SAFE_INTEGER : 0;
      return (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= lo ? v : slow(v));
    }
    case "float":
      return (v) => {
        if (typeof v === "number") {
          // Rounding to the nearest float is fine; a finite value beyond FLT_MAX would become
          // Infinity, which is an error. NaN and ±Infinity pass as themselves.
          const f = Math.fround(v);
          if (f - f === 0 || v - v !== 0) return v;
          throw new RangeError(
            `${label} is ${v}, beyond the float range (±${FLT_MAX}); it would arrive as ${f}`,
          );
        }
        throw new TypeError(`${label} must be a number for ${t}, got ${describeValue(v)}`);
      };
    case "double":
      return (v) => {
        if (typeof v === "number") return v;
        throw new TypeError(`${label} must be a number for ${t}, got ${describeValue(v)}`);
      };
    case "void":
      throw new TypeError(`${label}: void is not an argument type`);
  }
}

/**
 * An 8-byte result register with a view per width, so decoding never does BigInt
 * arithmetic: a float is the upper 32 bits (as the VE ABI delivers it), an int the lower 32.
 * The registers the binding hands to C live on the C heap (`addr`, see nativeRegister);
 * one over a plain ArrayBuffer (addr 0) only decodes.
 */
export class ResultRegister {
  /** The slot's native address, passed to C as the `uint64_t *` result parameter. */
  readonly addr: RegAddr;
  readonly u64: BigUint64Array;
  readonly i64: BigInt64Array;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly i16: Int16Array;
  readonly u16: Uint16Array;
  readonly i8: Int8Array;
  readonly u8: Uint8Array;

  constructor(b: ArrayBuffer = new ArrayBuffer(8), addr = 0 as RegAddr) {
    this.addr = addr;
    this.u64 = new BigUint64Array(b);
    this.i64 = new BigInt64Array(b);
    this.f64 = new Float64Array(b);
    this.f32 = new Float32Array(b);
    this.i32 = new Int32Array(b);
    this.u32 = new Uint32Array(b);
    this.i16 = new Int16Array(b);
    this.u16 = new Uint16Array(b);
    this.i8 = new Int8Array(b);
    this.u8 = new Uint8Array(b);
  }

  /** The register's value converted to `kind`'s JS type. */
  decode(kind: CKind): number | bigint | undefined {
    switch (kind) {
      case "i32":
        return this.i32[0];
      case "double":
        return this.f64[0];
      case "u64":
      case "ptr":
        return this.u64[0];
      case "i64":
        return this.i64[0];
      case "u32":
        return this.u32[0];
      case "float":
        return this.f32[1];
      case "i16":
        return this.i16[0];
      case "u16":
        return this.u16[0];
      case "i8":
        return this.i8[0];
      case "u8":
        return this.u8[0];
      case "void":
        return undefined;
    }
  }
}

/** Decodes a raw 64-bit register value (bigint) as `type` would (convenience, allocates). */
export function decodeResult(type: CType | string, raw: bigint): number | bigint | undefined {
  const t = typeof type === "string" ? parseType(type) : type;
  const r = new ResultRegister();
  r.u64[0] = BigInt.asUintN(64, raw);
  return r.decode(t.kind);
}
