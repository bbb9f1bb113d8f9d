/*
 * The README's first minutes, as a user goes through them: the package is built to a temp
 * directory and installed into a temp app (node_modules/veo-ts and node_modules/.bin/veo
 * links, as npm makes them), then the README's own code blocks run there: the first program
 * with `node first.mjs` and `tsx first.mts`, and the REPL lines pasted one by one into
 * `node`, `tsx`, the installed `veo repl` (plain node from dist/) and ts-node with the
 * README's tsconfig. REPLs read a pipe here, so node and tsx get -i (interactive, as on a
 * terminal).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listHelpers } from "../../src/cli/helpers.js";
import { ROOT, TSX, runProcess, session, tempDir, type Step } from "./spawn.js";

/** The README's fenced block whose info string is `<lang> <name>`. */
function readmeBlock(name: string): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```\w+ ([\w.-]+)\n([\s\S]*?)^```$/gm)];
  const found = blocks.find((m) => m[1] === name);
  if (!found) throw new Error(`README.md has no code block named ${name}`);
  return found[2];
}

const REPL_LINES = readmeBlock("repl").trim().split("\n");

let tmp: string;
let app: string;
let bin: string;

beforeAll(() => {
  tmp = tempDir("readme");
  const pkg = path.join(tmp, "pkg");
  fs.mkdirSync(pkg);
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      path.join(ROOT, "tsconfig.build.json"),
      "--outDir",
      path.join(pkg, "dist"),
    ],
    { encoding: "utf8", timeout: 180_000 },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}${tsc.error?.message ?? ""}`);
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(pkg, "package.json"));
  fs.symlinkSync(path.join(ROOT, "emulator"), path.join(pkg, "emulator"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(pkg, "node_modules"));
  const main = path.join(pkg, "dist/cli/main.js");
  fs.chmodSync(main, 0o755); // npm does this for "bin" entries

  app = path.join(tmp, "app");
  fs.mkdirSync(path.join(app, "node_modules/.bin"), { recursive: true });
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ private: true, type: "module" }));
  fs.symlinkSync(pkg, path.join(app, "node_modules/veo-ts"));
  bin = path.join(app, "node_modules/.bin/veo");
  fs.symlinkSync("../veo-ts/dist/cli/main.js", bin);
  fs.writeFileSync(path.join(app, "first.mjs"), readmeBlock("first.mjs"));
  fs.writeFileSync(path.join(app, "first.mts"), readmeBlock("first.mjs"));
  fs.writeFileSync(path.join(app, "tsconfig.json"), readmeBlock("ts-node-tsconfig.json"));
}, 240_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every step printed no error, and the `await twice(...)` line printed 42. */
function expectReadmeSession(steps: Step[], all: string): void {
  for (const s of steps)
    expect(s.output, `after ${s.input}\n--- whole session:\n${all}`).not.toMatch(/Uncaught|Error|error TS/);
  const awaited = steps.find((s) => s.input.startsWith("await twice"));
  expect(awaited?.output.trim(), all).toBe("42");
}

describe("README: the first program", { timeout: 120_000 }, () => {
  it("runs with plain node as first.mjs", async () => {
    const r = await runProcess(process.execPath, ["first.mjs"], { cwd: app });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("6\n");
    expect(r.code).toBe(0);
  });

  it("runs with tsx as first.mts", async () => {
    const r = await runProcess(TSX, ["first.mts"], { cwd: app });
    expect(r.stdout).toBe("6\n");
    expect(r.code).toBe(0);
  });
});

describe("README: the REPL lines, pasted one by one", { timeout: 180_000 }, () => {
  it("work in node's REPL", async () => {
    const s = await session(process.execPath, ["-i"], REPL_LINES, { cwd: app, prompt: /(?:^|\n)> $/ });
    expectReadmeSession(s.steps, s.all);
    expect(s.exit.code).toBe(0);
  });

  it("work in the tsx REPL", async () => {
    const s = await session(TSX, ["-i"], REPL_LINES, { cwd: app, prompt: /(?:^|\n)> $/ });
    expectReadmeSession(s.steps, s.all);
    expect(s.exit.code).toBe(0);
  });

  it("work in ts-node's REPL with the README's tsconfig", async () => {
    const tsNode = path.join(ROOT, "node_modules/.bin/ts-node");
    const s = await session(tsNode, ["-i"], REPL_LINES, { cwd: app, prompt: /(?:^|\n)> $/ });
    expectReadmeSession(s.steps, s.all);
    expect(s.exit.code).toBe(0);
  });

  it("work in the installed `veo repl` (plain node from dist/), which has proc and ctx ready and destroys them on exit", async () => {
    let replPid: number | undefined;
    const lines = ["proc.nodeid + 100", "typeof ctx.close", "proc === globalThis.proc", ...REPL_LINES];
    const s = await session(bin, ["repl"], lines, {
      cwd: app,
      prompt: /(?:^|\n)veo> $/,
      onSpawn: (pid) => (replPid = pid),
    });
    expect(s.all).toMatch(/`proc` is a VE process on node 0/);
    expect(s.steps[0].output.trim()).toBe("100");
    expect(s.steps[1].output.trim()).toBe("'function'");
    expectReadmeSession(s.steps.slice(3), s.all);
    expect(s.exit.code).toBe(0);
    expect(replPid).toBeGreaterThan(0);
    expect(listHelpers().filter((h) => h.hostPid === replPid)).toEqual([]);
  });
});

describe("the installed bin", () => {
  it("runs `veo info --json` with plain node through the node_modules/.bin link", async () => {
    const r = await runProcess(bin, ["info", "--json"], { cwd: app });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { library: { kind: string; apiVersion: number } };
    expect(info.library.kind).toBe("emulator");
    expect(info.library.apiVersion).toBe(16);
  });
});
