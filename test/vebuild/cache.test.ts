/*
 * The build cache, observed through fake NEC compilers that log every call: a second build
 * compiles nothing, each part of the key invalidates, concurrent builds compile once, corrupt
 * or partial entries are rebuilt, VEO_BUILD_CACHE moves or disables the cache, and outputs
 * are published into the build dir.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CACHE_FORMAT, commitEntry, makeWorkDir, sha256File, verifyEntry } from "../../src/vebuild/cache.js";
import { VeBuild } from "../../src/vebuild/index.js";
import { setEmulatorForKernels } from "../../src/vebuild/toolchain.js";
import { nodeArgs } from "../support/children.js";
import { openNecSandbox, tempDir, withEnv, type FakeNec, type NecSandbox } from "./fake-tools.js";

let sandbox: NecSandbox;
let nec: FakeNec;
let cache: string;

beforeEach(() => {
  sandbox = openNecSandbox();
  ({ nec, cache } = sandbox);
});
afterEach(() => sandbox.close());

const SRC = "double sum(double *a, int n) { return 0; }";
const compiles = () => nec.calls().filter((c) => c.args.includes("-c")).length;
const steps = () => nec.calls().length;

function sample(): VeBuild {
  return new VeBuild().setCSrc("sum", SRC);
}

describe("build cache", () => {
  it("builds once: a second build of the same sources compiles nothing and returns the same path", async () => {
    const first = sample();
    const p1 = await first.buildSo();
    expect(first.lastBuild?.cached).toBe(false);
    expect(steps()).toBe(2);

    const second = sample();
    const p2 = await second.buildSo();
    expect(p2).toBe(p1);
    expect(second.lastBuild?.cached).toBe(true);
    expect(steps()).toBe(2);
    expect(p1.startsWith(path.join(cache, "v1") + path.sep)).toBe(true);
    const entry = path.dirname(p1);
    expect(fs.readdirSync(entry).sort()).toEqual([
      "build.log",
      "meta.json",
      "sum.L",
      "sum.c",
      "sum.o",
      "sum.so",
    ]);
  });

  const variants: [string, (b: VeBuild) => Promise<unknown>][] = [
    ["the source", (b) => b.setCSrc("sum", SRC + "\n// changed").buildSo()],
    ["compile flags", (b) => b.setCSrc("sum", SRC, { flags: "-O3 -fpic" }).buildSo()],
    ["the compiler", (b) => b.setCSrc("sum", SRC, { compiler: "nc++" }).buildSo()],
    ["link flags", (b) => b.buildSo({ flags: "-shared" })],
    ["libs", (b) => b.buildSo({ libs: ["-lm"] })],
    ["the linker", (b) => b.buildSo({ linker: "nfort" })],
    ["the output label", (b) => b.buildSo({ label: "other" })],
    ["another source", (b) => b.setCSrc("more", "int x;").buildSo()],
    ["the source's language", (b) => b.setCppSrc("sum", SRC).buildSo()],
    ["the kind of output", (b) => b.buildVeorun()],
  ];
  for (const [what, change] of variants) {
    it(`rebuilds when ${what} changes`, async () => {
      await sample().buildSo();
      const before = compiles();
      const b = sample();
      await change(b);
      expect(b.lastBuild?.cached).toBe(false);
      expect(compiles()).toBeGreaterThan(before);
    });
  }

  it("rebuilds when the compiler's --version changes (an upgraded compiler)", async () => {
    await sample().buildSo();
    nec.setVersion("ncc", "5.1.0");
    const b = sample();
    await b.buildSo();
    expect(b.lastBuild?.cached).toBe(false);
    expect(compiles()).toBe(2);
  });

  it("rebuilds a veorun when mk_veorun_static changes", async () => {
    await sample().buildVeorun();
    nec.setVersion("mk_veorun_static", "3.1.0");
    const b = sample();
    await b.buildVeorun();
    expect(b.lastBuild?.cached).toBe(false);
  });

  it("rebuilds when the toolchain changes", async () => {
    setEmulatorForKernels({
      dir: "/fake-emulator",
      library: "",
      veorun: "",
      includeDir: "",
      kernelIncludeDir: os.tmpdir(),
      mkVeorunStatic: "",
      prebuilt: false,
    });
    try {
      const nec1 = await sample().buildSo();
      const host = sample();
      const p = await host.buildSo({ toolchain: "host" });
      expect(host.lastBuild?.cached).toBe(false);
      expect(host.lastBuild?.toolchain).toBe("host");
      expect(p).not.toBe(nec1);
    } finally {
      setEmulatorForKernels(undefined);
    }
  });

  it("compiles once for concurrent builds of the same key", async () => {
    const paths = await Promise.all(Array.from({ length: 6 }, () => sample().buildSo()));
    expect(new Set(paths).size).toBe(1);
    expect(steps()).toBe(2);
  });

  it("rebuilds a corrupt entry instead of returning it", async () => {
    const p = await sample().buildSo();
    const good = fs.readFileSync(p);
    fs.writeFileSync(p, Buffer.concat([good.subarray(0, 4), Buffer.from("XXXX"), good.subarray(8)]));
    const b = sample();
    expect(await b.buildSo()).toBe(p);
    expect(b.lastBuild?.cached).toBe(false);
    expect(fs.readFileSync(p)).toEqual(good);
    expect(steps()).toBe(4);
  });

  it("rebuilds a partial entry (no meta.json, truncated output, missing output)", async () => {
    const p = await sample().buildSo();
    const meta = path.join(path.dirname(p), "meta.json");

    fs.rmSync(meta);
    await sample().buildSo();
    expect(steps()).toBe(4);

    fs.truncateSync(p, 3);
    await sample().buildSo();
    expect(steps()).toBe(6);

    fs.rmSync(p);
    await sample().buildSo();
    expect(steps()).toBe(8);

    fs.writeFileSync(meta, "{ not json");
    const b = sample();
    await b.buildSo();
    expect(b.lastBuild?.cached).toBe(false);
    expect(steps()).toBe(10);
  });

  it("leaves no temporary directories behind", async () => {
    await Promise.all([sample().buildSo(), sample().buildVeorun()]);
    const names = fs.readdirSync(path.join(cache, "v1"));
    expect(names.filter((n) => n.startsWith(".tmp-") || n.includes(".trash-"))).toEqual([]);
    expect(names).toHaveLength(2);
  });

  it("VEO_BUILD_CACHE=0 disables the cache: every build compiles, paths stay absolute", async () => {
    const restoreOff = withEnv({ VEO_BUILD_CACHE: "0" });
    try {
      expect(VeBuild.cacheDir).toBe(undefined);
      const p1 = await sample().buildSo();
      const p2 = await sample().buildSo();
      expect(compiles()).toBe(2);
      expect(path.isAbsolute(p1) && path.isAbsolute(p2)).toBe(true);
      expect(fs.existsSync(p1) && fs.existsSync(p2)).toBe(true);
      expect(fs.existsSync(path.join(cache, "v1"))).toBe(false);
      fs.rmSync(path.dirname(p1), { recursive: true });
      fs.rmSync(path.dirname(p2), { recursive: true });
    } finally {
      restoreOff();
    }
  });

  it("cache: false on an instance disables it too", async () => {
    await new VeBuild({ cache: false }).setCSrc("sum", SRC).buildSo();
    await new VeBuild({ cache: false }).setCSrc("sum", SRC).buildSo();
    expect(compiles()).toBe(2);
  });

  it("VEO_TS_CACHE_DIR moves the default location when VEO_BUILD_CACHE is unset", () => {
    const restoreRoot = withEnv({ VEO_BUILD_CACHE: undefined, VEO_TS_CACHE_DIR: "/some/root" });
    try {
      expect(VeBuild.cacheDir).toBe("/some/root/build/v1");
    } finally {
      restoreRoot();
    }
  });

  it("keeps warnings of a successful build, also on a cache hit", async () => {
    const b = new VeBuild().setCSrc("w", "int x; /* FAKE_WARN */");
    await b.buildSo();
    expect(b.warnings).toContain("warning: FAKE_WARN found");
    const again = new VeBuild().setCSrc("w", "int x; /* FAKE_WARN */");
    await again.buildSo();
    expect(again.lastBuild?.cached).toBe(true);
    expect(again.warnings).toContain("warning: FAKE_WARN found");
  });

  it("VeBuild.clearCache() deletes every entry", async () => {
    await sample().buildSo();
    await VeBuild.clearCache();
    expect(fs.existsSync(path.join(cache, "v1"))).toBe(false);
    await sample().buildSo();
    expect(steps()).toBe(4);
  });
});

describe("build dir", () => {
  it("creates the build dir with parents and publishes the output and sources there", async () => {
    const root = tempDir("blddir");
    const dir = path.join(root, "a", "b", "c");
    const b = new VeBuild().setCSrc("sum", SRC).setBuildDir(dir);
    const p = await b.buildSo();
    expect(p).toBe(path.join(dir, "sum.so"));
    expect(fs.readFileSync(path.join(dir, "sum.c"), "utf8")).toBe(SRC);
    // A cache hit republishes the same file, still compiling nothing.
    const again = await new VeBuild({ buildDir: dir }).setCSrc("sum", SRC).buildSo();
    expect(again).toBe(p);
    expect(steps()).toBe(2);
    fs.rmSync(root, { recursive: true });
  });

  it("resolves a relative build dir against the cwd at setBuildDir time", () => {
    const b = new VeBuild().setBuildDir("rel/dir");
    expect(b.buildDir).toBe(path.resolve("rel/dir"));
  });

  it("clean() removes the sources, clear() forgets them, realclean() removes outputs and the empty dir", async () => {
    const root = tempDir("blddir");
    const dir = path.join(root, "out");
    const b = new VeBuild({ buildDir: dir }).setCSrc("sum", SRC).setCSrc("two", "int y;");
    const p = await b.buildSo();
    fs.writeFileSync(path.join(dir, "mine.txt"), "not VeBuild's");
    await b.clean();
    expect(fs.readdirSync(dir).sort()).toEqual(["mine.txt", "sum.so"]);
    await b.buildSo();
    await b.realclean();
    expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["mine.txt"]);
    // The cache entry it built is gone too: the next build compiles again.
    await b.buildSo();
    expect(b.lastBuild?.cached).toBe(false);
    fs.rmSync(path.join(dir, "mine.txt"));
    await b.realclean();
    expect(fs.existsSync(dir)).toBe(false);

    await b.clear();
    expect(b.labels).toEqual([]);
    expect(b.buildDir).toBe(dir);
    fs.rmSync(root, { recursive: true });
  });

  it("re-setting a label replaces the source in place, keeping the order", async () => {
    const b = new VeBuild().setCSrc("a", "int a;").setCSrc("b", "int b;").setCSrc("a", "int a2;");
    expect(b.labels).toEqual(["a", "b"]);
    await b.buildSo();
    const link = nec.calls().at(-1)!;
    expect(link.args.slice(-2)).toEqual(["a.o", "b.o"]);
    expect(fs.readFileSync(path.join(b.lastBuild!.entryDir, "a.c"), "utf8")).toBe("int a2;");
  });
});

describe("cache entries across processes", () => {
  // Two processes finishing the same build: the second rename finds the first's entry.
  async function finishedWorkDir(parent: string, key: string, content: string): Promise<string> {
    const dir = await makeWorkDir(parent, key);
    fs.writeFileSync(path.join(dir, "k.so"), content);
    const meta = {
      format: CACHE_FORMAT,
      key,
      output: "k.so",
      sha256: await sha256File(path.join(dir, "k.so")),
      size: Buffer.byteLength(content),
      warnings: "",
      commands: [],
      toolchain: "host",
      created: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
    return dir;
  }

  it("the first rename wins; a later one keeps the valid entry and drops its own copy", async () => {
    const parent = path.join(cache, "v1");
    const key = "a".repeat(32);
    const entry = path.join(parent, key);
    const first = await finishedWorkDir(parent, key, "first");
    const second = await finishedWorkDir(parent, key, "second");
    expect(await commitEntry(first, entry, key)).toBe(entry);
    expect(await commitEntry(second, entry, key)).toBe(entry);
    expect(fs.readFileSync(path.join(entry, "k.so"), "utf8")).toBe("first");
    expect(fs.existsSync(second)).toBe(false);
    expect(await verifyEntry(entry, key)).toBeDefined();
  });

  it("a corrupt entry in the way is replaced by the new build", async () => {
    const parent = path.join(cache, "v1");
    const key = "b".repeat(32);
    const entry = path.join(parent, key);
    fs.mkdirSync(entry, { recursive: true });
    fs.writeFileSync(path.join(entry, "k.so"), "half-writ");
    const mine = await finishedWorkDir(parent, key, "complete");
    expect(await commitEntry(mine, entry, key)).toBe(entry);
    expect(fs.readFileSync(path.join(entry, "k.so"), "utf8")).toBe("complete");
    expect(fs.readdirSync(parent)).toEqual([key]);
  });

  it("an entry recorded under another key is not accepted", async () => {
    const parent = path.join(cache, "v1");
    const dir = await finishedWorkDir(parent, "c".repeat(32), "x");
    expect(await verifyEntry(dir, "d".repeat(32))).toBeUndefined();
  });

  it("a miss sweeps work dirs that a killed process left behind over an hour ago, not fresh ones", async () => {
    const parent = path.join(cache, "v1");
    const old = path.join(parent, ".tmp-0123456789ab-99999-dead");
    const fresh = path.join(parent, ".tmp-0123456789ab-99998-busy");
    fs.mkdirSync(old, { recursive: true });
    fs.mkdirSync(fresh);
    const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    fs.utimesSync(old, hoursAgo, hoursAgo);
    await sample().buildSo();
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });

  it("an unusable cache location does not stop a build: it runs uncached, with a warning", async () => {
    const file = path.join(cache, "not-a-dir");
    fs.writeFileSync(file, "");
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    const restoreCache = withEnv({ VEO_BUILD_CACHE: file });
    try {
      const b = sample();
      const p = await b.buildSo();
      expect(fs.existsSync(p)).toBe(true);
      expect(b.lastBuild?.cached).toBe(false);
      fs.rmSync(path.dirname(p), { recursive: true });
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.message).join("\n")).toContain("cannot use the build cache");
    } finally {
      restoreCache();
      process.off("warning", onWarning);
    }
  });

  it("several processes building the same source at once all get the one valid entry", async () => {
    const child = path.join(import.meta.dirname, "build-child.ts");
    const runs = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<string>((resolve, reject) => {
            execFile(
              process.execPath,
              nodeArgs(child, ["int race_across_processes;"]),
              (err, stdout, stderr) =>
                err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
            );
          }),
      ),
    );
    const results = runs.map((r) => JSON.parse(r) as { path: string });
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    const entry = path.dirname(results[0].path);
    expect(await verifyEntry(entry, path.basename(entry))).toBeDefined();
    expect(fs.readdirSync(path.join(cache, "v1")).filter((n) => n.startsWith("."))).toEqual([]);
  });
});
