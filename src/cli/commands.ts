/*
 * The `veo` command table and its dispatcher: `veo <command> [options]`, one small file per
 * command in this folder. main.ts is the executable that calls main(). Exit codes are in
 * io.ts and docs/cli.md.
 */
import { benchCommand } from "./bench.js";
import { buildCliCommand } from "./build.js";
import { doctorCommand } from "./doctor.js";
import { infoCommand } from "./info.js";
import { EXIT, processIo, type CliIo, type Command } from "./io.js";
import { reapCommand } from "./reap.js";
import { replCommand } from "./repl.js";
import { runCliCommand } from "./run.js";
import { smiCommand } from "./smi.js";

export const COMMANDS: Readonly<Record<string, Command>> = {
  info: infoCommand,
  doctor: doctorCommand,
  smi: smiCommand,
  build: buildCliCommand,
  run: runCliCommand,
  bench: benchCommand,
  repl: replCommand,
  reap: reapCommand,
};

const USAGE = `usage: veo <command> [options]       (veo <command> --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join("\n")}

Every command takes --json. Exit codes: 0 done, 1 failed, 2 bad usage (docs/cli.md).
`;

/** Runs `veo` with `argv` (the words after "veo"); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? io.err : io.out)(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "-v" || name === "--version") {
    const { createRequire } = await import("node:module");
    const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
    io.out(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`veo: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  return command.run(rest, io);
}
