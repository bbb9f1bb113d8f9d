/*
 * `veo info`: which VEO library is in use and why, its API version, the nodes and their
 * architecture, emulator or real, the compilers VeBuild would use, and the environment
 * variables that chose them.
 */
import { getVeArch } from "../index.js";
import {
  compilersFact,
  envSettings,
  koffiVersion,
  libraryFact,
  ENV_VARS,
  type CompilersFact,
} from "./environment.js";
import { EXIT, toJson, defineCommand, type CliIo, type Parsed } from "./io.js";
import { nodeList, type NodeInfo } from "./nodes.js";

const SUMMARY = "the library in use and why, nodes, compilers, environment";

const USAGE = `usage: veo info [--json]

Which VEO library is in use and why, its API version, emulator or real, the VE nodes and
their architecture, the compilers VeBuild would run, the environment variables that choose
binaries, and the Node.js and koffi versions.

options:
  --json       print it as one JSON object (see docs/cli.md)
  -h, --help   this text

exit: 0 printed, 1 no VEO library could be loaded (the rest is still printed), 2 bad usage.
`;

function archOf(node: number): number | string {
  try {
    return getVeArch(node);
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

function compilerLines(c: CompilersFact): string[] {
  const lines = [`  toolchain: ${c.toolchain.name} (${c.toolchain.reason})`];
  if (c.error) lines.push(`  unusable: ${c.error}`);
  for (const f of c.compilers) {
    lines.push(`  ${f.lang.padEnd(8)} ${f.path ? `${f.path}: ${f.version}` : `${f.name}: not found`}`);
  }
  return lines;
}

const OPTIONS = {} as const;

async function info({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const library = libraryFact();
  let nodes: (NodeInfo & { veArch: number | string })[] = [];
  if (library.ok) nodes = nodeList().map((n) => ({ ...n, veArch: archOf(n.node) }));
  const compilers = await compilersFact();
  const env = envSettings();
  const runtime = {
    node: process.version,
    koffi: koffiVersion() ?? "not found",
    platform: `${process.platform}-${process.arch}`,
  };
  if (o.json) {
    io.out(
      toJson({
        library: library.ok
          ? { ...library.info, emulator: library.info.kind === "emulator" }
          : { error: library.error },
        nodes,
        compilers,
        env,
        runtime,
      }),
    );
    return library.ok ? EXIT.ok : EXIT.failed;
  }
  const lines: string[] = [];
  if (library.ok) {
    const l = library.info;
    lines.push(
      `library:   ${l.path}`,
      `  kind:    ${l.kind === "emulator" ? "emulator (veo-ts host emulator: the VE is a helper process)" : `${l.kind} (real VE)`}`,
      `  why:     ${l.reason}`,
      `  version: ${l.version || "(not exported)"}, API ${l.apiVersion}`,
      `nodes:     ${nodes.length === 0 ? "none" : ""}`,
      ...nodes.map(
        (n) => `  ${n.node}: ${n.state}, VE arch ${n.veArch}, ${n.emulated ? "emulated" : "real"}`,
      ),
    );
  } else {
    lines.push(`library:   none: ${library.error}`);
  }
  lines.push("compilers:", ...compilerLines(compilers));
  lines.push("environment:");
  for (const [name, what] of ENV_VARS) {
    lines.push(`  ${name.padEnd(20)} ${name in env ? `= ${env[name]}` : "(unset)"}  ${what}`);
  }
  lines.push(`runtime:   Node.js ${runtime.node}, koffi ${runtime.koffi}, ${runtime.platform}`);
  io.out(lines.join("\n") + "\n");
  return library.ok ? EXIT.ok : EXIT.failed;
}

export const infoCommand = defineCommand("info", SUMMARY, USAGE, OPTIONS, info);
