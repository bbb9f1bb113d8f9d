/*
 * `veo repl`: Node's REPL with veo-ts loaded. `veo` is the module and its exports are globals;
 * `proc` is a VE process on node 0 (or --node) and `ctx` a context on it, both destroyed when
 * the REPL exits. Top-level await works as in `node`. `await import("veo-ts")` resolves to
 * this same copy of veo-ts (a module resolve hook), so the README's REPL lines paste here
 * unchanged, whether or not the current directory has veo-ts installed.
 */
import { register } from "node:module";
import * as repl from "node:repl";

import * as veo from "../index.js";
import type { VeoCtxt, VeoProc } from "../index.js";
import { EXIT, intOption, defineCommand, type CliIo, type Parsed } from "./io.js";

const SUMMARY = "Node's REPL with veo-ts loaded, a proc and a context ready";

const USAGE = `usage: veo repl [--node <n>] [--no-proc]

Node's REPL with veo-ts loaded: \`veo\` is the module and each export (VeoProc, VeBuild, ...)
is a global; \`proc\` is a VE process on node 0 and \`ctx\` a context on it, both destroyed on
exit (.exit or Ctrl-D). Top-level await works; \`await import("veo-ts")\` gives this same copy.

options:
      --node <n>   node of \`proc\` (default 0)
      --no-proc    start no process (\`proc\` and \`ctx\` are undefined)
  -h, --help       this text

exit: 0 after .exit, 1 the process could not be started, 2 bad usage.
`;

/** Sends the bare specifier "veo-ts" to `data.url`, through the rest of the resolve chain. */
const RESOLVE_HOOK = `
let target;
export function initialize(data) { target = data.url; }
export function resolve(specifier, context, next) {
  return next(specifier === "veo-ts" ? target : specifier, context);
}
`;

const OPTIONS = {
  node: { type: "string" },
  "no-proc": { type: "boolean" },
} as const;

async function startRepl({ values: o }: Parsed<typeof OPTIONS>, io: CliIo): Promise<number> {
  const node = intOption(o.node, "node", 0);
  const indexUrl = new URL("../index.js", import.meta.url).href;
  register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`, { data: { url: indexUrl } });
  let proc: VeoProc | undefined;
  let ctx: VeoCtxt | undefined;
  if (!o["no-proc"]) {
    proc = await veo.VeoProc.create(node);
    ctx = proc.openContext();
  }
  const info = veo.loadVeo();
  io.out(
    `veo-ts on ${info.kind} (${info.version || info.path})` +
      (proc ? `: \`proc\` is a VE process on node ${node}, \`ctx\` a context on it` : "") +
      ".\n`veo` is the module, its exports are globals. .exit destroys everything.\n",
  );
  const server = repl.start({ prompt: "veo> ", useGlobal: true });
  Object.assign(globalThis, veo, { veo, proc, ctx });
  return new Promise((resolve) => {
    server.on("exit", () => {
      proc?.destroy();
      resolve(EXIT.ok);
    });
  });
}

export const replCommand = defineCommand("repl", SUMMARY, USAGE, OPTIONS, startRepl);
