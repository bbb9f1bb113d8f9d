/*
 * The `veo` dispatcher: usage, --version, unknown commands, and every command's --help,
 * each through the real executable (spawned).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { COMMANDS, main } from "../../src/cli/commands.js";
import { ROOT, veo } from "./spawn.js";

describe("veo", () => {
  it("with no command prints the usage on stderr and exits 2", async () => {
    const r = await veo([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("usage: veo <command>");
    for (const name of Object.keys(COMMANDS)) expect(r.stderr).toContain(`  ${name} `);
  });

  it("--help prints the usage on stdout and exits 0; --version the package's version", async () => {
    const h = await veo(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("usage: veo <command>");
    const v = await veo(["--version"]);
    expect(v.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(v.stdout).toBe(`${pkg.version}\n`);
  });

  it("exits 2 on an unknown command, including names of Object.prototype", async () => {
    const r = await veo(["bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "bogus"');
    for (const name of ["constructor", "__proto__", "toString"]) {
      let err = "";
      expect(await main([name], { out: () => {}, err: (s) => (err += s) }), name).toBe(2);
      expect(err).toContain(`unknown command ${JSON.stringify(name)}`);
    }
  });

  it("every command answers --help with its usage (exit 0) and an unknown option with exit 2", async () => {
    // In-process (the dispatcher above is spawned): one spawn per command would be slow.
    for (const [name, command] of Object.entries(COMMANDS)) {
      let out = "";
      let err = "";
      const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
      expect(await command.run(["--help"], io), name).toBe(0);
      expect(out).toContain(`usage: veo ${name}`);
      expect(out).toMatch(/^exit: 0 /m);
      out = "";
      expect(await command.run(["--no-such-option"], io), name).toBe(2);
      expect(out).toBe("");
      expect(err).toContain(`veo ${name}: Unknown option '--no-such-option'`);
      err = "";
    }
  });
});
