/*
 * Kernel types from C prototypes, at the type level: `lib.declare("double sum(const double *a,
 * int n)")` is typed `VeoFunction<[a: VeKernelPointer, n: number], number>` by parsing the
 * string literal with template literal types. The grammar is a strict subset of what
 * parsePrototype (src/ctypes.ts) accepts at run time: a prototype it cannot read for sure
 * (odd spellings, struct pointers, arrays, macros, comments, a non-literal string) gets the
 * loose `VeoFunction`, never a guessed type. test/kernel-types.test.ts checks the two
 * parsers agree on a corpus of prototypes, tricky ones included.
 *
 * Types only: nothing here exists at run time. Kept cheap for tsc: a few recursions, each
 * bounded by the number of tokens or parameters, no character-by-character walk except over
 * the names.
 */
import type { CKind } from "./ctypes.js";
import type { VeoFunction } from "./function.js";
import type { VeMemPtr } from "./memory.js";
import type { OnStack } from "./onstack.js";

/**
 * What a typed kernel takes for a pointer parameter (`T *`): a VeMemPtr of the proc, a VE or
 * HMEM address as a bigint, an OnStack host buffer, or null (NULL). (At run time a plain
 * number address is accepted too; the typed signature asks for a bigint.)
 */
export type VeKernelPointer = VeMemPtr | bigint | OnStack | null;

/** The JS type a typed kernel takes for a parameter of C kind `K`. */
export type KernelArg<K extends CKind> = K extends "ptr"
  ? VeKernelPointer
  : K extends "i64" | "u64"
    ? number | bigint
    : number;

/** The JS type a result of C kind `K` decodes to (as ResultRegister.decode does). */
export type KernelResult<K extends CKind> = K extends "void"
  ? undefined
  : K extends "ptr" | "i64" | "u64"
    ? bigint
    : number;

/**
 * The base type spellings the type-level parser reads, qualifiers removed, words in this
 * order and one space apart. Every other spelling (e.g. "int unsigned", "long double",
 * "struct s") is not read: the prototype gets the loose type.
 */
interface KindOfSpelling {
  char: "i8";
  "signed char": "i8";
  "unsigned char": "u8";
  short: "i16";
  "short int": "i16";
  "signed short": "i16";
  "signed short int": "i16";
  "unsigned short": "u16";
  "unsigned short int": "u16";
  int: "i32";
  signed: "i32";
  "signed int": "i32";
  unsigned: "u32";
  "unsigned int": "u32";
  long: "i64";
  "long int": "i64";
  "signed long": "i64";
  "signed long int": "i64";
  "long long": "i64";
  "long long int": "i64";
  "signed long long": "i64";
  "signed long long int": "i64";
  "unsigned long": "u64";
  "unsigned long int": "u64";
  "unsigned long long": "u64";
  "unsigned long long int": "u64";
  int8_t: "i8";
  uint8_t: "u8";
  int16_t: "i16";
  uint16_t: "u16";
  int32_t: "i32";
  uint32_t: "u32";
  int64_t: "i64";
  uint64_t: "u64";
  size_t: "u64";
  ssize_t: "i64";
  ptrdiff_t: "i64";
  intptr_t: "i64";
  uintptr_t: "u64";
  float: "float";
  double: "double";
  void: "void";
}

/** The spellings above (exported for the test that checks them against parseType; not re-exported from the package). */
export type KernelTypeSpelling = keyof KindOfSpelling;

type Qualifier = "const" | "volatile" | "restrict" | "__restrict" | "__restrict__";

/** Words that belong to a type, so a last one is never taken for a parameter name. */
type TypeWord =
  | Qualifier
  | "char"
  | "short"
  | "int"
  | "long"
  | "signed"
  | "unsigned"
  | "float"
  | "double"
  | "void"
  | KernelTypeSpelling;

type TrimStart<S extends string> = S extends ` ${infer R}` ? TrimStart<R> : S;
type TrimEnd<S extends string> = S extends `${infer R} ` ? TrimEnd<R> : S;
/** Spaces off both ends (tabs and line breaks are spaces by then, see Spaces). */
type Trim<S extends string> = TrimEnd<TrimStart<S>>;

type Replace<S extends string, C extends string> = S extends `${infer A}${C}${infer B}`
  ? Replace<`${A} ${B}`, C>
  : S;
/** Tabs and line breaks become spaces (the run-time parser treats all of them as \s). */
type Spaces<S extends string> = Replace<Replace<Replace<S, "\t">, "\n">, "\r">;

/** Splits on spaces and around every `*`; empty pieces are dropped. */
type Tokens<S extends string, Acc extends string[] = []> = S extends `${infer A}*${infer B}`
  ? Tokens<B, [...Acc, ...Words<A>, "*"]>
  : [...Acc, ...Words<S>];
type Words<S extends string, Acc extends string[] = []> = S extends `${infer A} ${infer B}`
  ? Words<B, A extends "" ? Acc : [...Acc, A]>
  : S extends ""
    ? Acc
    : [...Acc, S];

type IdentStart =
  | "_"
  | "a"
  | "b"
  | "c"
  | "d"
  | "e"
  | "f"
  | "g"
  | "h"
  | "i"
  | "j"
  | "k"
  | "l"
  | "m"
  | "n"
  | "o"
  | "p"
  | "q"
  | "r"
  | "s"
  | "t"
  | "u"
  | "v"
  | "w"
  | "x"
  | "y"
  | "z"
  | "A"
  | "B"
  | "C"
  | "D"
  | "E"
  | "F"
  | "G"
  | "H"
  | "I"
  | "J"
  | "K"
  | "L"
  | "M"
  | "N"
  | "O"
  | "P"
  | "Q"
  | "R"
  | "S"
  | "T"
  | "U"
  | "V"
  | "W"
  | "X"
  | "Y"
  | "Z";
type IdentChar = IdentStart | "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
type IdentRest<S extends string> = S extends ""
  ? true
  : S extends `${IdentChar}${infer R}`
    ? IdentRest<R>
    : false;
/** True for a C identifier (ASCII letters, digits, underscore; not starting with a digit). */
type IsIdent<S extends string> = S extends `${IdentStart}${infer R}` ? IdentRest<R> : false;

/** Tokens without the qualifiers. */
type Unqualified<T extends string[], Acc extends string[] = []> = T extends [
  infer H extends string,
  ...infer R extends string[],
]
  ? Unqualified<R, H extends Qualifier ? Acc : [...Acc, H]>
  : Acc;

type Join<T extends string[]> = T extends [infer H extends string]
  ? H
  : T extends [infer H extends string, ...infer R extends string[]]
    ? `${H} ${Join<R>}`
    : "";

/** Base words (no `*`) and whether a `*` came at all; `*` must not precede a base word. */
type SplitStars<T extends string[], W extends string[] = [], Star extends boolean = false> = T extends [
  infer H extends string,
  ...infer R extends string[],
]
  ? H extends "*"
    ? SplitStars<R, W, true>
    : Star extends true
      ? never // a word after the `*` (other than a qualifier): not read
      : SplitStars<R, [...W, H], Star>
  : [W, Star];

/** The kind of a type given as tokens (qualifiers already removed), or never. */
type KindOfTokens<T extends string[]> =
  SplitStars<T> extends [infer W extends string[], infer Star extends boolean]
    ? Join<W> extends infer Sp extends KernelTypeSpelling
      ? W extends []
        ? never
        : Star extends true
          ? "ptr"
          : KindOfSpelling[Sp]
      : never
    : never;

/** Drops a trailing parameter name (an identifier that is no type word), as parseParam does. */
type WithoutName<T extends string[]> = T extends [...infer Before extends string[], infer Last extends string]
  ? Before extends []
    ? T
    : Last extends "*" | TypeWord
      ? T
      : IsIdent<Last> extends true
        ? Before
        : ["<not read>"]
  : T;

/** The kind of one parameter's text, or never. */
type ParamKind<S extends string> =
  KindOfTokens<Unqualified<WithoutName<Tokens<S>>>> extends infer K extends CKind
    ? [K] extends [never]
      ? never
      : K extends "void"
        ? never
        : K
    : never;

/** Parameter kinds of a parameter list ("" and "void" are none), or never. */
type ParamKinds<S extends string> = Trim<S> extends "" | "void" ? [] : SplitParams<S>;
type SplitParams<S extends string, Acc extends CKind[] = []> = S extends `${infer P},${infer R}`
  ? [ParamKind<P>] extends [never]
    ? never
    : SplitParams<R, [...Acc, ParamKind<P>]>
  : [ParamKind<S>] extends [never]
    ? never
    : [...Acc, ParamKind<S>];

/** The return kind of the text before "(", which ends with the function's name, or never. */
type ReturnKind<Head extends string> =
  Tokens<Head> extends [...infer Ret extends string[], infer Name extends string]
    ? Ret extends []
      ? never
      : IsIdent<Name> extends true
        ? Name extends TypeWord
          ? never
          : KindOfTokens<Unqualified<Ret>>
        : never
    : never;

/**
 * The C kinds of a prototype as the run-time parser reads it: `{ ret; params }`, or never
 * when the type-level parser cannot be sure.
 */
export type PrototypeKinds<S extends string> =
  Spaces<S> extends `${infer Head}(${infer Params})${infer Tail}`
    ? Trim<Tail> extends "" | ";"
      ? [ReturnKind<Head>, ParamKinds<Params>] extends [infer R extends CKind, infer P extends CKind[]]
        ? [R] extends [never]
          ? never
          : [P] extends [never]
            ? never
            : { ret: R; params: P }
        : never
      : never
    : never;

/** true when `S` is a union of several literals (distributes over `S`, compares with `All`). */
type IsUnion<S, All = S> = S extends unknown ? ([All] extends [S] ? false : true) : never;

/** The argument tuple a kernel with parameter kinds `P` takes. */
type ArgsOf<P extends CKind[]> = { [I in keyof P]: P[I] extends CKind ? KernelArg<P[I]> : never };

/**
 * The type of `lib.declare(prototype)`: a VeoFunction whose arguments and result follow the
 * prototype, or the loose `VeoFunction` when the prototype is not a literal the type-level
 * parser can read.
 */
export type KernelFunction<S extends string> = string extends S
  ? VeoFunction
  : IsUnion<S> extends true
    ? VeoFunction // one of several prototypes: which one is known at run time only
    : [PrototypeKinds<S>] extends [never]
      ? VeoFunction
      : PrototypeKinds<S> extends {
            /** The return kind. */
            ret: infer R extends CKind;
            /** The parameter kinds, in order. */
            params: infer P extends CKind[];
          }
        ? VeoFunction<ArgsOf<P>, KernelResult<R>>
        : VeoFunction;

/** (Not re-exported from the package.) A short text of what the type-level parser read (for the agreement test): "i32,ptr->f64" style. */
export type PrototypeSummary<S extends string> = [PrototypeKinds<S>] extends [never]
  ? "loose"
  : PrototypeKinds<S> extends { ret: infer R extends CKind; params: infer P extends CKind[] }
    ? `${JoinKinds<P>}->${R}`
    : "loose";
type JoinKinds<P extends CKind[]> = P extends [infer H extends CKind]
  ? H
  : P extends [infer H extends CKind, ...infer R extends CKind[]]
    ? `${H},${JoinKinds<R>}`
    : "";
