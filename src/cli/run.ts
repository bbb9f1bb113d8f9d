/*
 * `veo run`: one kernel call from the shell. Loads a .so (or builds a C/C++/Fortran source
 * first), declares the function from `--proto` (or guesses `long f(long|double, ...)` from
 * the arguments, and says so), calls it once on a fresh proc and prints the result.
 */
import * as path from "node:path";

import { parsePrototype, VeBuild, VeoProc, type CPrototype } from "../index.js";
import { addSourceFiles, isSourceFile, withSigint } from "./build.js";
import { EXIT, intOption, toJson, UsageError, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "call one kernel function once and print its result";

const USAGE = `usage: veo run [options] <file.so|file.c|file.cpp|file.f90> <function> [args...]

Calls <function> once on a new VE process and prints its result. A source file is built
first (as veo build would, cached). Arguments are numbers: integers (decimal or 0x hex; past
2^53 they become bigints) and decimals (1.5, 1e-3, inf, nan). Put negative numbers after
"--": veo run k.c f -- -1 2.

options:
  -p, --proto <prototype>  the function's C prototype, e.g. --proto "double f(double, int)";
                           without it: "long <function>(...)" with long for integer
                           arguments and double for the others (said on stderr)
      --node <n>           VE node (default 0)
      --json               print {function, prototype, args, result}
  -h, --help               this text

exit: 0 called, 1 the build, load or call failed (kernel fault included), 2 bad usage
(also arguments the prototype refuses).
`;

const INT_RE = /^[+-]?(\d+|0x[0-9a-f]+)$/i;
const FLOAT_RE = /^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf|infinity|nan)$/i;

/** An argument as the value the binding takes: number, or bigint beyond 2^53. */
export function parseNumber(text: string, index: number): number | bigint {
  if (INT_RE.test(text)) {
    const neg = text.startsWith("-");
    const big = BigInt(text.replace(/^[+-]/, ""));
    const v = neg ? -big : big;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (FLOAT_RE.test(text)) {
    const body = text.replace(/^[+-]/, "").toLowerCase();
    const sign = text.startsWith("-") ? -1 : 1;
    if (body === "inf" || body === "infinity") return sign * Infinity;
    if (body === "nan") return NaN;
    return Number(text);
  }
  throw new UsageError(`argument ${index} (${JSON.stringify(text)}) is not a number`);
}

function guessPrototype(fn: string, args: readonly string[]): string {
  const params = args.map((a) => (INT_RE.test(a) ? "long" : "double"));
  return `long ${fn}(${params.join(", ") || "void"})`;
}

const OPTIONS = {
  proto: { type: "string", short: "p" },
  node: { type: "string" },
} as const;

async function run({ values: o, positionals }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const [file, fn, ...rest] = positionals;
  if (file === undefined || fn === undefined) throw new UsageError("a file and a function name are needed");
  const node = intOption(o.node, "node", 0);
  const values = rest.map((a, i) => parseNumber(a, i));
  let protoText = o.proto;
  if (protoText === undefined) {
    protoText = guessPrototype(fn, rest);
    io.err(`veo run: no --proto; calling it as ${protoText}\n`);
  }
  let proto: CPrototype;
  try {
    proto = parsePrototype(protoText);
  } catch (e) {
    throw new UsageError(`--proto: ${(e as Error).message}`);
  }
  if (proto.name !== fn) throw new UsageError(`--proto declares ${proto.name}, not ${fn}`);
  const params = proto.params.filter((p) => p.type.kind !== "void");
  if (params.length !== values.length) {
    throw new UsageError(`${protoText} takes ${params.length} argument(s), got ${values.length}`);
  }

  let library = path.resolve(file);
  if (isSourceFile(file)) {
    const bld = new VeBuild();
    await addSourceFiles(bld, [file]);
    library = await withSigint((signal) => bld.buildSo({ signal }));
  }
  const proc = await VeoProc.create(node);
  try {
    const f = proc.loadLibrary(library).declare(protoText);
    const ctx = proc.openContext();
    let req;
    try {
      req = f(ctx, ...values);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    const result: unknown = await req;
    if (o.json) io.out(toJson({ function: fn, prototype: protoText, args: values, result: result ?? null }));
    else io.out(proto.ret.kind === "void" ? "(void)\n" : `${String(result)}\n`);
    return EXIT.ok;
  } finally {
    proc.destroy();
  }
}

export const runCliCommand = defineCommand("run", SUMMARY, USAGE, OPTIONS, run);
