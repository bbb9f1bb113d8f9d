/*
 * Typed kernels (src/kernel-types.ts): `lib.declare(prototype)` is typed from the prototype.
 * Three kinds of check:
 *   - compile time: expectTypeOf and `// @ts-expect-error` lines, checked by `npm run
 *     typecheck` (an unused @ts-expect-error fails tsc, so a type that stops refusing a
 *     wrong call fails the run);
 *   - the two parsers agree: the type-level parser's reading of a corpus of prototypes
 *     (tricky and random ones) is read back through the TypeScript compiler API and compared
 *     with parsePrototype at run time. Typed means exactly the run-time reading; anything
 *     else must be "loose";
 *   - on the emulator: a typed kernel's results really have the types it promises.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";

import {
  OnStack,
  parsePrototype,
  VeoFunction,
  type KernelFunction,
  type VeKernelPointer,
  type VeMemPtr,
  type VeoCtxt,
  type VeoLibrary,
  type VeoRequest,
} from "../src/index.js";
import type { KernelTypeSpelling } from "../src/kernel-types.js";
import { fileKernelProc } from "./support/fixture.js";

type TS = typeof import("typescript");
const ts = createRequire(import.meta.url)("typescript") as TS;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------- compile-time checks
// Never called: tsc checks these bodies; vitest only needs them to exist.

function typedCalls(lib: VeoLibrary, ctx: VeoCtxt, p: VeMemPtr): void {
  const add = lib.declare("int add(int a, int b)");
  expectTypeOf(add).toEqualTypeOf<VeoFunction<[number, number], number>>();
  expectTypeOf(add(ctx, 1, 2)).toEqualTypeOf<VeoRequest<number>>();
  expectTypeOf(add.callSync(1, 2)).toEqualTypeOf<number>();
  // @ts-expect-error -- a string for an int
  add(ctx, "oops", 2);
  // @ts-expect-error -- a bigint for an int (≤ 32-bit parameters take numbers)
  add(ctx, 1n, 2);
  // @ts-expect-error -- too few arguments
  add(ctx, 1);
  // @ts-expect-error -- too many arguments
  add.callSync(1, 2, 3);
  // @ts-expect-error -- the context goes first
  add(1, 2);
  void (async () => {
    // @ts-expect-error -- the result is a number
    const s: string = await add(ctx, 1, 2);
    const n: number = await add(ctx, 1, 2);
    void s;
    void n;
  })();

  const sum = lib.declare("double sum(const double *a, int n)");
  expectTypeOf(sum).toEqualTypeOf<VeoFunction<[VeKernelPointer, number], number>>();
  sum(ctx, p, 3);
  sum(ctx, p.addr, 3);
  sum(ctx, null, 0);
  sum(ctx, new OnStack(new Float64Array(3)), 3);
  // @ts-expect-error -- a host buffer is not a VE pointer (OnStack is)
  sum(ctx, new Float64Array(3), 3);
  // @ts-expect-error -- a length where the pointer goes
  sum(ctx, 3, p);

  // 64-bit integers: number or bigint in, bigint out; pointers out are bigint; void is undefined.
  const wide = lib.declare("unsigned long long f(long a, size_t b, int64_t c)");
  expectTypeOf(wide).toEqualTypeOf<
    VeoFunction<[number | bigint, number | bigint, number | bigint], bigint>
  >();
  expectTypeOf(lib.declare("void *g(void)").callSync()).toEqualTypeOf<bigint>();
  expectTypeOf(lib.declare("void h(float x)")).toEqualTypeOf<VeoFunction<[number], undefined>>();
  expectTypeOf(lib.declare("float k()")).toEqualTypeOf<VeoFunction<[], number>>();
  expectTypeOf(lib.declare("char c(unsigned char u, short s, uint32_t w);")).toEqualTypeOf<
    VeoFunction<[number, number, number], number>
  >();
  expectTypeOf(lib.declare("  const char *\tname ( const char * const s ,\n int n )  ")).toEqualTypeOf<
    VeoFunction<[VeKernelPointer, number], bigint>
  >();

  // What the type-level parser does not read falls back to the loose type, never a guess.
  expectTypeOf(lib.declare("int f(struct s *p)")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.declare("int f(double a[])")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.declare("int f(int a /* comment */)")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.declare("MYTYPE f(int a)")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.declare("long double f(int a)")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.declare("int unsigned f(int a)")).toEqualTypeOf<VeoFunction>();
  const dynamic: string = "int f(int a)";
  expectTypeOf(lib.declare(dynamic)).toEqualTypeOf<VeoFunction>();
  const either = Math.random() < 0.5 ? "int f(int a)" : "double f(double a)";
  expectTypeOf(lib.declare(either)).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.findFunction("f")).toEqualTypeOf<VeoFunction>();
  expectTypeOf(lib.fn.f).toEqualTypeOf<VeoFunction>();
  // Retyped with argsType/retType, the prototype's types no longer hold: loose again.
  lib.declare("int f(int a)").argsType("double")(ctx, "anything");
  lib.declare("int f(int a)").retType("double").callSync("anything");

  // A typed kernel is still a VeoFunction wherever one is expected.
  const fns: VeoFunction[] = [add, sum, wide];
  const viaType: KernelFunction<"int add(int a, int b)"> = add;
  void fns;
  void viaType;
}
void typedCalls;

// ---------------------------------------------------------------- the parsers agree

/** The run-time parser's reading, in PrototypeSummary's form, or "throws". */
function runtimeSummary(proto: string): string {
  try {
    const p = parsePrototype(proto);
    return `${p.params.map((q) => q.type.kind).join(",")}->${p.ret.kind}`;
  } catch {
    return "throws";
  }
}

/** The type-level parser's reading of each prototype, through the compiler API. */
function typeSummaries(protos: readonly string[]): string[] {
  return protos.map((p) => {
    const s = summaries().get(p);
    if (s === undefined) throw new Error(`prototype not in the probe: ${JSON.stringify(p)}`);
    return s;
  });
}

let probed: Map<string, string> | undefined;
/** One program for every corpus below (creating one costs seconds). */
function summaries(): Map<string, string> {
  if (probed) return probed;
  const protos = [...new Set([...SPELLING_PROTOS, ...READ.map(([p]) => p), ...LOOSE, ...RANDOM])];
  const types = compileSummaries(protos);
  probed = new Map(protos.map((p, i) => [p, types[i]]));
  return probed;
}

function compileSummaries(protos: readonly string[]): string[] {
  const probe = path.join(root, "test", "__kernel_types_probe__.ts");
  const text =
    'import type { PrototypeSummary } from "../src/kernel-types.js";\n' +
    protos.map((p, i) => `export type P${i} = PrototypeSummary<${JSON.stringify(p)}>;\n`).join("");
  const options: import("typescript").CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    // Just the parser: its own file and ctypes.ts (CKind); nothing else is loaded.
    lib: ["lib.es2022.d.ts"],
    types: [],
    noResolve: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === probe ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === probe || fileExists(name);
  const program = ts.createProgram(
    [probe, path.join(root, "src", "kernel-types.ts"), path.join(root, "src", "ctypes.ts")],
    options,
    host,
  );
  const diags = ts.getPreEmitDiagnostics(program, program.getSourceFile(probe));
  expect(diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
  const checker = program.getTypeChecker();
  const out: string[] = [];
  for (const stmt of program.getSourceFile(probe)!.statements) {
    if (!ts.isTypeAliasDeclaration(stmt)) continue;
    const t = checker.getTypeAtLocation(stmt.name);
    out.push(t.isStringLiteral() ? t.value : `<${checker.typeToString(t)}>`);
  }
  return out;
}

/** Prototypes the type-level parser must read (typed), with what they mean. */
const READ: ReadonlyArray<readonly [string, string]> = [
  ["double sum(const double *a, int n)", "ptr,i32->double"],
  ["int add(int a, int b)", "i32,i32->i32"],
  ["void nothing(void)", "->void"],
  ["long f()", "->i64"],
  ["unsigned long long f(unsigned long long x)", "u64->u64"],
  ["signed char f(signed char c, unsigned char u)", "i8,u8->i8"],
  ["short f(short int a, unsigned short b, unsigned short int c)", "i16,u16,u16->i16"],
  ["unsigned f(unsigned, signed, signed int)", "u32,i32,i32->u32"],
  ["long long int f(long int a, signed long b, long long c)", "i64,i64,i64->i64"],
  ["size_t f(ssize_t a, ptrdiff_t b, intptr_t c, uintptr_t d)", "i64,i64,i64,u64->u64"],
  [
    "int8_t f(uint8_t a, int16_t b, uint16_t c, int32_t d, uint32_t e, int64_t g, uint64_t h)",
    "u8,i16,u16,i32,u32,i64,u64->i8",
  ],
  ["float f(float x, double y)", "float,double->float"],
  ["void *f(void *p, const void *q, char **argv)", "ptr,ptr,ptr->ptr"],
  ["double*f(double*a,int n);", "ptr,i32->ptr"],
  ["  int   f  (  int   a  ,  int   b  )  ;  ", "i32,i32->i32"],
  ["int\tf(\n  int a,\r\n  int b\n)", "i32,i32->i32"],
  [
    "const volatile int f(const int a, int * restrict p, int *__restrict q, int *__restrict__ r)",
    "i32,ptr,ptr,ptr->i32",
  ],
  ["int f(const char * const s, int const n)", "ptr,i32->i32"],
  ["int f(long, long long, unsigned long)", "i64,i64,u64->i32"],
  ["int f(int _x1, int X_2, int n_)", "i32,i32,i32->i32"],
  ["int f(void)", "->i32"],
  ["int f( void )", "->i32"],
];

/** Prototypes it must leave loose (some the run-time parser reads, some it rejects). */
const LOOSE: readonly string[] = [
  "int f(double a[])",
  "int f(double a[8])",
  "int f(struct s *p)",
  "struct s *f(void)",
  "int f(int a /* the count */)",
  "int f(int a) // trailing",
  "#define X int f(int a)",
  "MYTYPE f(int a)",
  "int f(MYTYPE a)",
  "long double f(long double a)",
  "int unsigned f(unsigned int a)",
  "int f(int long a)",
  "int f(...)",
  "int f(int a, ...)",
  "int f(int (*cb)(int), int n)",
  "int f(int a,)",
  "int f(, int a)",
  "int f(int a, void)",
  "int f(void x)",
  "int f(int int)",
  "int int(int a)",
  "f(int a)",
  "*f(int a)",
  "int f(int a) { return a; }",
  "int f(int a);;",
  "int f(int a)\v",
  "int f(int\u00a0a)",
  "int f(int a) __attribute__((pure))",
  "int f(int 1a)",
  "int f(int a.b)",
  "int f(int a-b)",
  "int f(int * int p)",
  "int f(* int p)",
  "int f(unsigned size_t n)",
  "int f(int size_t)",
  "int* f*(int a)",
  "int f",
  "",
  "int f(int a))",
  "int (f)(int a)",
];

/** Deterministic random prototypes from the pieces above (mulberry32). */
function randomPrototypes(count: number, seed: number): string[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const words = [
    "int",
    "unsigned",
    "signed",
    "long",
    "short",
    "char",
    "double",
    "float",
    "void",
    "const",
    "volatile",
    "restrict",
    "size_t",
    "uint64_t",
    "int8_t",
    "struct",
    "s",
    "MYTYPE",
    "long long",
    "unsigned long",
    "unsigned char",
  ];
  const names = ["a", "n", "x1", "_p", "int", "size_t", "9z", "a.b"];
  const gaps = [" ", " ", " ", "", "  ", "\t", "\n"];
  const type = (): string => {
    let t = "";
    const k = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < k; i++) t += (i > 0 ? pick(gaps) || " " : "") + pick(words);
    if (rnd() < 0.4) t += pick(gaps) + pick(["*", "**", "* const"]);
    return t;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const params: string[] = [];
    const np = rnd() < 0.15 ? 0 : Math.floor(rnd() * 4);
    for (let j = 0; j < np; j++) {
      let p = pick(gaps) + type();
      if (rnd() < 0.6) p += pick([" ", " ", "", "*"]) + pick(names);
      if (rnd() < 0.05) p += pick(["[]", "[4]"]);
      params.push(p + pick(gaps));
    }
    if (np === 0 && rnd() < 0.5) params.push(pick(["void", " void ", "...", ""]));
    out.push(
      `${pick(gaps)}${type()}${pick([" ", "", "\t"])}${pick(["f", "my_fn", "g2"])}(${params.join(",")})${pick(["", ";", " ", " ;"])}`,
    );
  }
  return out;
}

/**
 * Every spelling the type-level table knows, here at run time too (a missing or an extra one
 * fails tsc), each read the same way by both parsers.
 */
const SPELLINGS = {
  char: "i8",
  "signed char": "i8",
  "unsigned char": "u8",
  short: "i16",
  "short int": "i16",
  "signed short": "i16",
  "signed short int": "i16",
  "unsigned short": "u16",
  "unsigned short int": "u16",
  int: "i32",
  signed: "i32",
  "signed int": "i32",
  unsigned: "u32",
  "unsigned int": "u32",
  long: "i64",
  "long int": "i64",
  "signed long": "i64",
  "signed long int": "i64",
  "long long": "i64",
  "long long int": "i64",
  "signed long long": "i64",
  "signed long long int": "i64",
  "unsigned long": "u64",
  "unsigned long int": "u64",
  "unsigned long long": "u64",
  "unsigned long long int": "u64",
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
  float: "float",
  double: "double",
  void: "void",
} as const satisfies Record<KernelTypeSpelling, string>;
const SPELLING_PROTOS = Object.keys(SPELLINGS).flatMap((sp) =>
  sp === "void" ? [`void f(void)`, `void *f(void *p)`] : [`${sp} f(${sp} x)`, `${sp} *f(${sp} *x)`],
);
const RANDOM = randomPrototypes(300, 20261205);

// The first test builds a TypeScript program (seconds; more on a loaded machine).
describe("the type-level parser agrees with parsePrototype", { timeout: 240_000 }, () => {
  it("covers every base spelling, each meaning what parseType says", () => {
    expectTypeOf<keyof typeof SPELLINGS>().toEqualTypeOf<KernelTypeSpelling>();
    const protos = SPELLING_PROTOS;
    const typed = typeSummaries(protos);
    const expected = Object.entries(SPELLINGS).flatMap(([sp, kind]) =>
      sp === "void" ? ["->void", "ptr->ptr"] : [`${kind}->${kind}`, "ptr->ptr"],
    );
    expect(typed).toEqual(expected);
    expect(protos.map(runtimeSummary)).toEqual(expected);
  });

  it("reads the usual and the oddly spaced forms, exactly as the run-time parser", () => {
    const protos = READ.map(([p]) => p);
    expect(typeSummaries(protos)).toEqual(READ.map(([, s]) => s));
    expect(protos.map(runtimeSummary)).toEqual(READ.map(([, s]) => s));
  });

  it("leaves what it cannot read loose, whether or not the run-time parser reads it", () => {
    const typed = typeSummaries(LOOSE);
    expect(LOOSE.filter((_, i) => typed[i] !== "loose")).toEqual([]);
    // Some of these are fine at run time (arrays, odd word orders): loose, not wrong.
    expect(LOOSE.filter((p) => runtimeSummary(p) !== "throws").length).toBeGreaterThan(3);
  });

  it("never reads a random prototype differently from the run-time parser", () => {
    const protos = RANDOM;
    const typed = typeSummaries(protos);
    const wrong = protos
      .map((p, i) => ({ p, type: typed[i], runtime: runtimeSummary(p) }))
      .filter((r) => r.type !== "loose" && r.type !== r.runtime);
    expect(wrong).toEqual([]);
    // The corpus is not all loose or all rejected: both sides of the rule are exercised.
    const read = typed.filter((t) => t !== "loose").length;
    expect(read).toBeGreaterThan(30);
    expect(
      protos.filter((p, i) => typed[i] === "loose" && runtimeSummary(p) !== "throws").length,
    ).toBeGreaterThan(2);
  });
});

// ---------------------------------------------------------------- on the emulator

describe("typed kernels at run time", () => {
  const { proc, lib, ctx } = fileKernelProc();

  it("results have the types the prototypes promise", async () => {
    const i8 = lib.declare("int8_t id_i8(int8_t x)");
    const u16 = lib.declare("uint16_t id_u16(uint16_t x)");
    const i32 = lib.declare("int32_t id_i32(int32_t x)");
    const u32 = lib.declare("uint32_t id_u32(uint32_t x)");
    const i64 = lib.declare("int64_t id_i64(int64_t x)");
    const u64 = lib.declare("uint64_t id_u64(uint64_t x)");
    const fl = lib.declare("float id_float(float x)");
    const db = lib.declare("double id_double(double x)");
    const ptr = lib.declare("void *id_ptr(void *p)");
    const none = lib.declare("void nothing(void)");
    const a: number = await i8(ctx, -5);
    const b: number = await u16(ctx, 65535);
    const c: number = i32.callSync(-7);
    const d: number = await u32(ctx, 4000000000);
    const e: bigint = await i64(ctx, -(2n ** 62n));
    const e2: bigint = await i64(ctx, -3);
    const f: bigint = u64.callSync(2n ** 64n - 1n);
    const g: number = await fl(ctx, 0.5);
    const h: number = db.callSync(0.25);
    const m = proc.allocMem(8);
    const p: bigint = await ptr(ctx, m);
    const q: bigint = ptr.callSync(null);
    const r: undefined = await none(ctx);
    expect([a, b, c, d, e, e2, f, g, h, p, q, r]).toEqual([
      -5,
      65535,
      -7,
      4000000000,
      -(2n ** 62n),
      -3n,
      2n ** 64n - 1n,
      0.5,
      0.25,
      m.addr,
      0n,
      undefined,
    ]);
    proc.freeMem(m);
  });

  it("the typed view is the same function object as lib.fn and findFunction", () => {
    const typed = lib.declare("int add_one(int x)");
    expect(lib.fn.add_one).toBe(typed);
    expect(lib.findFunction("add_one")).toBe(typed);
    expect(typed.signature).toBe("int add_one(int x)");
  });

  it("a prototype read only at run time still works, loosely typed", async () => {
    const f = lib.declare("double sum(double a[], int n)");
    expectTypeOf(f).toEqualTypeOf<VeoFunction>();
    const v = new Float64Array([1, 2, 3]);
    expect(await f(ctx, new OnStack(v), 3)).toBe(6);
  });
});
