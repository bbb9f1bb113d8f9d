/*
 * ensureEmulator() on the cache path (the prebuilt emulator set aside: first-use.test.ts
 * covers it): a cache hit returns the same build without compiling, a changed source
 * builds a new one, and a broken compiler surfaces as VeBuildError with its output. The
 * rebuild cases work on a temporary copy of emulator/ and a temporary cache root, so they
 * never touch the shared cache; that root starts with a copy of the shared build, so only
 * the rebuild under test compiles.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { VeBuildError } from "../../src/errors.js";
import { ensureEmulator, emulatorCacheRoot } from "../../src/native/emulator-build.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EMULATOR_SRC = path.resolve(HERE, "../../emulator");

let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "veo-emu-build-"));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Puts a copy of the shared cache's build of emulator/ into `cacheDir`, under the same key:
 * a copy of emulator/ then hits it there (the one build these tests need for that is done
 * once, by the global setup). Returns the entry's directory.
 */
function seedCache(cacheDir: string): string {
  const shared = ensureEmulator({ prebuiltDir: false }).dir;
  const entry = path.join(cacheDir, "emulator", path.basename(shared));
  fs.cpSync(shared, entry, { recursive: true, verbatimSymlinks: true });
  return entry;
}

describe("ensureEmulator", () => {
  it("returns a complete build and hits the cache the second time", () => {
    const a = ensureEmulator({ prebuiltDir: false });
    for (const file of [
      a.library,
      a.veorun,
      a.mkVeorunStatic,
      path.join(a.includeDir, "ve_offload.h"),
      path.join(a.includeDir, "veo_emu.h"),
      path.join(a.kernelIncludeDir, "veo_ve.h"),
    ]) {
      expect(fs.existsSync(file), file).toBe(true);
    }
    expect(a.dir.startsWith(path.join(emulatorCacheRoot(), "emulator"))).toBe(true);
    const mtime = fs.statSync(a.library).mtimeMs;
    const b = ensureEmulator({ prebuiltDir: false });
    expect(b).toEqual(a);
    expect(fs.statSync(b.library).mtimeMs).toBe(mtime);
  });

  it("honours VEO_TS_CACHE_DIR", () => {
    const saved = process.env.VEO_TS_CACHE_DIR;
    process.env.VEO_TS_CACHE_DIR = path.join(tmp, "envcache");
    try {
      expect(emulatorCacheRoot()).toBe(path.join(tmp, "envcache"));
    } finally {
      if (saved === undefined) delete process.env.VEO_TS_CACHE_DIR;
      else process.env.VEO_TS_CACHE_DIR = saved;
    }
  });

  it("rebuilds into a new directory when a source changes", () => {
    const src = path.join(tmp, "emulator");
    fs.cpSync(EMULATOR_SRC, src, { recursive: true });
    const cacheDir = path.join(tmp, "cache");
    const seeded = seedCache(cacheDir);
    const first = ensureEmulator({ sourceDir: src, cacheDir, prebuiltDir: false });
    expect(first.dir).toBe(seeded);
    expect(fs.existsSync(first.library)).toBe(true);
    expect(ensureEmulator({ sourceDir: src, cacheDir, prebuiltDir: false }).dir).toBe(first.dir);

    fs.appendFileSync(path.join(src, "src", "lib", "emu_log.c"), "\n/* changed */\n");
    const second = ensureEmulator({ sourceDir: src, cacheDir, prebuiltDir: false });
    expect(second.dir).not.toBe(first.dir);
    expect(fs.existsSync(second.library)).toBe(true);
    // No temporary directories are left behind.
    const left = fs.readdirSync(path.join(cacheDir, "emulator")).filter((d) => d.startsWith("."));
    expect(left).toEqual([]);
  }, 120_000);

  it("replaces a damaged cache entry", () => {
    const cacheDir = path.join(tmp, "cache-damaged");
    const src = path.join(tmp, "emulator-damaged");
    fs.cpSync(EMULATOR_SRC, src, { recursive: true });
    const seeded = seedCache(cacheDir);
    const good = ensureEmulator({ sourceDir: src, cacheDir, prebuiltDir: false });
    expect(good.dir).toBe(seeded);
    fs.rmSync(good.veorun);
    const again = ensureEmulator({ sourceDir: src, cacheDir, prebuiltDir: false });
    expect(again.dir).toBe(good.dir);
    expect(fs.existsSync(again.veorun)).toBe(true);
  }, 120_000);

  it("throws VeBuildError with the compiler's output when compilation fails", () => {
    const src = path.join(tmp, "broken");
    fs.cpSync(EMULATOR_SRC, src, { recursive: true });
    // Every library source includes emu_lib.h: each compile stops at the missing header
    // (no time spent compiling the rest), and the output names the sources, emu_log.c too.
    fs.appendFileSync(path.join(src, "src", "lib", "emu_lib.h"), '\n#include "no-such-header.h"\n');
    let err: unknown;
    try {
      ensureEmulator({ sourceDir: src, cacheDir: path.join(tmp, "cache-broken"), prebuiltDir: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VeBuildError);
    const e = err as VeBuildError;
    expect(e.code).toBe("VE_BUILD_FAILED");
    expect(e.exitCode).not.toBe(0);
    expect(e.output).toMatch(/emu_log\.c/);
    expect(e.command.length).toBeGreaterThan(1);
  }, 120_000);

  it("throws VeBuildError when the compiler does not exist", () => {
    let err: unknown;
    try {
      ensureEmulator({
        cc: path.join(tmp, "no-such-cc"),
        cacheDir: path.join(tmp, "c2"),
        prebuiltDir: false,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VeBuildError);
    expect((err as VeBuildError).exitCode).toBeNull();
    expect((err as VeBuildError).command[0]).toBe(path.join(tmp, "no-such-cc"));
  });
});
