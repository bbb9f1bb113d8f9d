/*
 * VeBuild from a py-veo script's point of view: kernels kept in files (a path or a file URL,
 * the language from the extension, diagnostics naming the file), compiler warnings shown
 * once as one line (the full text with verbose), the nec toolchain never running an npm
 * package's `ncc` from node_modules/.bin, and an unusable cache directory named as such.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VeBuild, VeBuildError } from "../../src/index.js";
import { reportWarnings } from "../../src/vebuild/progress.js";
import { runChild } from "../support/child.js";
import { openNecSandbox, tempDir, withEnv, type NecSandbox } from "./fake-tools.js";
import { itNeeds } from "../support/compilers.js";

let dir: string;
let restore: () => void;

beforeEach(() => {
  dir = tempDir("srcfile");
  restore = withEnv({ VEO_BUILD_CACHE: path.join(dir, "cache"), VEO_BUILD_TOOLCHAIN: "host" });
});
afterEach(() => {
  restore();
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

describe("sources in files", () => {
  it("VeBuild.so takes a file URL; the language comes from the extension", async () => {
    const file = write("twice.c", "int twice(int x) { return 2 * x; }\n");
    const so = await VeBuild.so(pathToFileURL(file), { quiet: true });
    expect(fs.existsSync(so)).toBe(true);
    const info = await VeBuild.soInfo(pathToFileURL(file), { quiet: true });
    expect(info.cached).toBe(true);
    expect(info.commands[0][0]).toMatch(/cc$/);
  });

  it("setSrcFile takes a path, labels the source by its name, and compiler messages name the file", async () => {
    const file = write("bad-kernel.c", "int f(void) {\n  return nope;\n}\n");
    const b = new VeBuild().setSrcFile(file);
    expect(b.labels).toEqual(["bad-kernel"]);
    const err = await b.buildSo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VeBuildError);
    expect((err as VeBuildError).output).toContain(`${file}:2`);
  });

  itNeeds("g++")("setSrcFile: label and lang options, C++ by extension", async () => {
    const cpp = write("k.cc", 'extern "C" int k(void) { return 1; }\n');
    const b = new VeBuild().setSrcFile(cpp, { label: "mine" });
    expect(b.labels).toEqual(["mine"]);
    const info = (await b.buildSo({ quiet: true }), b.lastBuild!);
    expect(path.basename(info.commands[0][0])).toBe("c++");
  });

  it("bad file arguments are typed errors that name the argument", async () => {
    const b = new VeBuild();
    expect(() => b.setSrcFile(path.join(dir, "missing.c"))).toThrow(VeBuildError);
    expect(() => b.setSrcFile(path.join(dir, "missing.c"))).toThrow(
      /setSrcFile: file: cannot read .*missing\.c/,
    );
    write("notes.txt", "x");
    expect(() => b.setSrcFile(path.join(dir, "notes.txt"))).toThrow(/cannot tell the language .*pass lang/);
    expect(() => b.setSrcFile(42 as unknown as string)).toThrow(TypeError);
    expect(() => b.setSrcFile(new URL("https://example.com/k.c"))).toThrow(/must be a file: URL/);
    await expect(VeBuild.so(new URL(pathToFileURL(path.join(dir, "none.c"))))).rejects.toThrow(
      /VeBuild\.so: source: cannot read/,
    );
    await expect(VeBuild.so(42 as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe("compiler warnings", () => {
  const WARNS = "int f(int x) { if (x) return 1; }\n"; // -Wreturn-type under -Wall

  it("are summarised in one stderr line by default, once per process, and kept in full", async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    try {
      const b = new VeBuild().setCSrc("warns", WARNS, { flags: ["-O2", "-Wall"] });
      await b.buildSo();
      await b.buildSo(); // cached: the same warnings are not repeated
      await new VeBuild().setCSrc("warns", WARNS, { flags: ["-O2", "-Wall"] }).buildSo({ quiet: true });
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(/^vebuild: warns\.so: 1 warning, first: .*warning: .*Wreturn-type/);
      expect(writes[0]).toMatch(/verbose: true/);
      expect(b.warnings).toMatch(/warning: control reaches end of non-void function/);
    } finally {
      spy.mockRestore();
    }
  });

  it("are printed in full with verbose, and not summarised again", async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    try {
      await new VeBuild({ verbose: true }).setCSrc("loud", WARNS, { flags: ["-Wall"] }).buildSo();
    } finally {
      spy.mockRestore();
    }
    const text = writes.join("");
    expect(text).toMatch(/\| .*warning: control reaches end of non-void function/);
    expect(text).not.toMatch(/1 warning, first/);
  });

  it("the summary counts warnings; other tool output is no reason for a line", () => {
    const lines: string[] = [];
    reportWarnings(
      { key: "k1", path: "/x/a.so", warnings: "a.c:1: warning: one\nnote\na.c:2: warning: two\n" },
      (s) => lines.push(s),
    );
    reportWarnings({ key: "k2", path: "/x/b.so", warnings: "vectorized loop\nanother\n" }, (s) =>
      lines.push(s),
    );
    reportWarnings({ key: "k3", path: "/x/c.so", warnings: "  \n" }, (s) => lines.push(s));
    expect(lines).toEqual([
      "vebuild: a.so: 2 warnings, first: a.c:1: warning: one (full text: verbose: true, or lastBuild.warnings)\n",
    ]);
  });
});

describe("the nec toolchain and node_modules/.bin", () => {
  let sandbox: NecSandbox;
  beforeEach(() => {
    sandbox = openNecSandbox();
  });
  afterEach(() => sandbox.close());

  it("never runs an ncc found in node_modules/.bin, even first in PATH", async () => {
    fs.rmSync(path.join(sandbox.nec.bin, "ncc"));
    const npmBin = path.join(dir, "proj", "node_modules", ".bin");
    fs.mkdirSync(npmBin, { recursive: true });
    fs.copyFileSync(path.join(sandbox.nec.bin, "nfort"), path.join(npmBin, "ncc"));
    fs.chmodSync(path.join(npmBin, "ncc"), 0o755);
    const back = withEnv({ PATH: `${npmBin}:${process.env.PATH ?? ""}` });
    try {
      const err = await new VeBuild({ toolchain: "nec" })
        .setCSrc("k", "int k;")
        .buildSo()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VeBuildError);
      expect((err as Error).message).toMatch(/"ncc" not found/);
      expect((err as Error).message).not.toContain(npmBin);
      expect(sandbox.nec.calls()).toEqual([]);
    } finally {
      back();
    }
  });

  it("the host toolchain still finds compilers on PATH as given", async () => {
    const so = await new VeBuild({ toolchain: "host" }).setCSrc("h", "int h;").buildSo({ quiet: true });
    expect(fs.existsSync(so)).toBe(true);
  });
});

describe("an unusable cache directory", () => {
  it("VeBuild on a fresh process says the veo-ts cache directory is unusable, not that a compiler is missing", () => {
    const file = path.join(dir, "not-a-dir");
    fs.writeFileSync(file, "");
    const r = runChild(
      `import { VeBuild } from "SRC";
try { await VeBuild.so("int f;", { quiet: true }); console.log("built"); }
catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      {
        VEO_TS_CACHE_DIR: file,
        VEO_BUILD_CACHE: undefined,
        VEO_EMULATOR_PREBUILT: "0",
        VEO_BUILD_TOOLCHAIN: "host",
      },
    );
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; message: string };
    expect(res.name).toBe("VeBuildError");
    expect(res.message).toMatch(/cannot use the veo-ts cache directory .*not-a-dir.*VEO_TS_CACHE_DIR/);
    expect(res.message).not.toMatch(/compiler/i);
  });
});
