/*
 * The package as `npm install veo-ts` gets it: `npm pack` (which runs prepack: tsc and the
 * prebuilt emulator) must ship the build, the emulator sources, the prebuilt emulator with
 * its manifest, the licence and changelog, and no tests or bench output; every relative link
 * in the shipped Markdown must resolve inside the package. Then the packed package, unpacked
 * into an empty project, runs a first program on an empty cache with no C compiler on PATH.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ROOT } from "../support/child.js";

interface PackedFile {
  path: string;
  mode: number;
}

let tmp: string;
let tarball: string;
let files: PackedFile[];
let names: Set<string>;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-pack-"));
  // Packed from a copy of the tracked files: prepack rebuilds dist/ and prebuilt/, which
  // other test files running meanwhile may be using in the work tree.
  const copy = path.join(tmp, "repo");
  const tracked = spawnSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" });
  if (tracked.status !== 0) throw new Error(`git ls-files failed: ${tracked.stderr}`);
  for (const rel of tracked.stdout.split("\0").filter(Boolean)) {
    if (!fs.existsSync(path.join(ROOT, rel))) continue; // deleted, not yet committed
    fs.mkdirSync(path.dirname(path.join(copy, rel)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, rel), path.join(copy, rel));
    fs.chmodSync(path.join(copy, rel), fs.statSync(path.join(ROOT, rel)).mode);
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
  const r = spawnSync("npm", ["pack", "--json", "--pack-destination", tmp], {
    cwd: copy,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, VEO_LIBRARY: undefined },
  });
  if (r.status !== 0) throw new Error(`npm pack failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  // Lifecycle scripts may print before npm's JSON.
  const report = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as {
    filename: string;
    files: PackedFile[];
  }[];
  tarball = path.join(tmp, report[0].filename);
  files = report[0].files;
  names = new Set(files.map((f) => f.path));
}, 320_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships the build, the emulator sources, the prebuilt emulator, LICENSE and CHANGELOG", () => {
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "dist/index.js",
      "dist/index.d.ts",
      "docs/api.md",
      "docs/vebuild.md",
      "emulator/README.md",
      "emulator/include/ve_offload.h",
      "emulator/src/lib/emu_api.c",
      "emulator/src/helper/emu_serve.c",
      "emulator/bin/mk_veorun_static",
      "prebuilt/emulator-linux-x64-glibc/manifest.json",
      "prebuilt/emulator-linux-x64-glibc/lib/libveo.so.1",
      "prebuilt/emulator-linux-x64-glibc/lib/libveorun.a",
      "prebuilt/emulator-linux-x64-glibc/libexec/veorun",
      "prebuilt/emulator-linux-x64-glibc/bin/mk_veorun_static",
      "prebuilt/emulator-linux-x64-glibc/include/ve_offload.h",
    ]) {
      expect(names.has(f), f).toBe(true);
    }
    const mode = (p: string) => files.find((f) => f.path === p)!.mode;
    expect(mode("prebuilt/emulator-linux-x64-glibc/libexec/veorun") & 0o111).not.toBe(0);
    expect(mode("emulator/bin/mk_veorun_static") & 0o111).not.toBe(0);
  });

  it("ships no tests, bench, scripts, generated reference or build leftovers", () => {
    const unwanted = [...names].filter((p) =>
      /^(test|bench|scripts|examples|node_modules|coverage|\.ci)\/|^docs\/reference\/|\.tgz$|(^|\/)\.tmp-|\.test\.ts$/.test(
        p,
      ),
    );
    expect(unwanted).toEqual([]);
  });

  it("has the metadata a registry page needs", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg.license).toBe("BSD-2-Clause");
    expect(pkg.os).toEqual(["linux"]);
    expect(pkg.cpu).toEqual(["x64"]);
    expect(pkg.repository).toMatchObject({ url: expect.stringMatching(/^git\+https:\/\/github\.com\//) });
    expect(typeof pkg.homepage).toBe("string");
    expect(pkg.bugs).toMatchObject({ url: expect.stringMatching(/^https:\/\//) });
    const scripts = pkg.scripts as Record<string, string>;
    for (const install of ["preinstall", "install", "postinstall", "prepare"])
      expect(scripts[install]).toBeUndefined();
    expect(scripts.prepack).toMatch(/prebuild-emulator/);
    expect(fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toMatch(
      /BSD 2-Clause[\s\S]*Copyright \(c\) 2026 the veo-ts developers/,
    );
  });

  it("every relative link in the shipped Markdown resolves inside the package", () => {
    const broken: string[] = [];
    for (const md of [...names].filter((p) => p.endsWith(".md"))) {
      const text = fs.readFileSync(path.join(ROOT, md), "utf8").replace(/```[\s\S]*?```/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(md), target.split("#")[0]));
        const isDir = [...names].some((n) => n.startsWith(`${file}/`));
        if (!names.has(file) && !isDir) broken.push(`${md}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe("the packed package", () => {
  it("runs a first program on an empty cache with no C compiler (the prebuilt emulator)", () => {
    const app = path.join(tmp, "app");
    const pkgDir = path.join(app, "node_modules", "veo-ts");
    fs.mkdirSync(pkgDir, { recursive: true });
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", pkgDir, "--strip-components=1"]);
    expect(untar.status).toBe(0);
    // The one runtime dependency, as npm would have installed it.
    fs.symlinkSync(path.join(ROOT, "node_modules", "koffi"), path.join(app, "node_modules", "koffi"));
    fs.writeFileSync(
      path.join(app, "first.mjs"),
      `import { VeoProc, loadVeo } from "veo-ts";
const started = performance.now();
const proc = await VeoProc.create(0);
const libc = proc.loadLibrary("libc.so.6");
const labs = libc.declare("long labs(long x)");
const ctx = proc.openContext();
const r = await labs(ctx, -42n);
proc.destroy();
console.log(JSON.stringify({ r: String(r), ms: Math.round(performance.now() - started), info: loadVeo() }));
`,
    );
    const cache = path.join(tmp, "empty-cache");
    fs.mkdirSync(cache);
    const started = performance.now();
    const run = spawnSync(process.execPath, ["first.mjs"], {
      cwd: app,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: path.dirname(process.execPath), // node, and no cc
        HOME: tmp,
        VEO_TS_CACHE_DIR: cache,
      },
    });
    const wallMs = Math.round(performance.now() - started);
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const res = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
      r: string;
      ms: number;
      info: { kind: string; path: string; reason: string };
    };
    expect(res.r).toBe("42");
    expect(res.info.kind).toBe("emulator");
    expect(res.info.path).toBe(
      path.join(pkgDir, "prebuilt", "emulator-linux-x64-glibc", "lib", "libveo.so.1"),
    );
    expect(res.info.reason).toMatch(/prebuilt/);
    expect(fs.readdirSync(cache)).toEqual([]);
    expect(run.stderr).not.toMatch(/building the host emulator/);
    // Measured, not asserted (bench/README.md has the numbers).
    console.log(`first program from the packed package: ${wallMs} ms wall, ${res.ms} ms in the program`);
  }, 90_000);
});
