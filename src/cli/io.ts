/*
 * What every `veo` command shares: where its text goes (so tests can capture it), the exit
 * codes docs/cli.md documents, option parsing with node:util parseArgs (a usage error is
 * exit 2 with the command's usage text), and `--json` output.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Where a command writes: stdout and stderr, or a test's buffers. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** Exit codes of every command (docs/cli.md). */
export const EXIT = {
  /** Done; for `doctor`, every check passed (warnings allowed). */
  ok: 0,
  /** The command ran and failed: a build, a call, a check, a helper that would not die. */
  failed: 1,
  /** Bad usage: unknown option or command, missing or malformed argument. */
  usage: 2,
} as const;

/** A command: its one-line summary, its usage text and what it does. */
export interface Command {
  summary: string;
  usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/**
 * A command from its options and body: the body gets the parsed options (with `json` and
 * `help`); `--help` prints the usage; a UsageError exits 2, any other error 1.
 */
export function defineCommand<O extends Options>(
  name: string,
  summary: string,
  usage: string,
  options: O,
  body: (parsed: Parsed<O>, io: CliIo) => number | Promise<number>,
): Command {
  return {
    summary,
    usage,
    run: (args, io) =>
      runCommand(name, io, () => {
        const parsed = parseCommandArgs(args, options);
        if ((parsed.values as { help?: boolean }).help) {
          io.out(usage);
          return EXIT.ok;
        }
        return body(parsed, io);
      }),
  };
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export class UsageError extends Error {
  override name = "UsageError";
}

type WithCommon<O extends Options> = O & { json: { type: "boolean" }; help: { type: "boolean"; short: "h" } };
/** What parseArgs returns for `options` plus --json and --help. */
export type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: WithCommon<O> }>
>;

/**
 * parseArgs with `--json` and `-h/--help` added to `options`. Throws UsageError for
 * anything parseArgs refuses.
 */
export function parseCommandArgs<O extends Options>(args: readonly string[], options: O): Parsed<O> {
  const common = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { ...options, ...common },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A non-negative integer option, or UsageError naming it. */
export function intOption(
  value: string | undefined,
  name: string,
  fallback: number,
  max = 2 ** 31 - 1,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Runs `body`, turning a UsageError into exit 2 and any other error into exit 1, each with its message. */
export async function runCommand(
  name: string,
  io: CliIo,
  body: () => number | Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`veo ${name}: ${e.message}\n(veo ${name} --help shows the usage)\n`);
      return EXIT.usage;
    }
    io.err(`veo ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
}

/** JSON with bigints and non-finite numbers as strings ("123", "NaN"), and a newline. */
export function toJson(value: unknown): string {
  const replacer = (_k: string, v: unknown) =>
    typeof v === "bigint" || (typeof v === "number" && !Number.isFinite(v)) ? String(v) : v;
  return `${JSON.stringify(value, replacer, 2)}\n`;
}

/** Left-aligned columns, for the human form of tables. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return (
    rows
      .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  "))
      .join("\n") + "\n"
  );
}
