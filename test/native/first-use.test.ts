/*
 * First use of the emulator: the asynchronous build leaves the event loop running and says
 * so in one line when slow; the synchronous one says it blocks; processes started together
 * build it once (the lock); the prebuilt emulator is used without a compiler while its source
 * hash matches, and ignored when it does not; an unusable cache directory says so. Every
 * case uses a private copy of emulator/ and private cache directories.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { VeBuildError } from "../../src/errors.js";
import { acquireLock } from "../../src/native/build-lock.js";
import {
  buildPrebuilt,
  ensureEmulator,
  ensureEmulatorAsync,
  isCacheDirError,
} from "../../src/native/emulator-build.js";
import { NO_REPLY, type Step } from "../../src/native/emulator-recipe.js";
import { nodeArgs, spawnNode, writeSnippet } from "../support/children.js";
import { ROOT, runChild } from "../support/child-sync.js";

let tmp: string;
let src: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "veo-first-use-"));
  src = path.join(tmp, "emulator");
  fs.cpSync(path.join(ROOT, "emulator"), src, { recursive: true });
  // A source of its own: no cache anywhere holds this build yet.
  fs.appendFileSync(path.join(src, "src", "lib", "emu_log.c"), `\n/* first-use test ${process.pid} */\n`);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the asynchronous build", () => {
  it("keeps the event loop running and prints one line when it takes a while", async () => {
    const lines: string[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    try {
      const build = await ensureEmulatorAsync({
        sourceDir: src,
        cacheDir: path.join(tmp, "async"),
        prebuiltDir: false,
        notify: (l) => lines.push(l),
      });
      expect(fs.existsSync(build.library)).toBe(true);
      expect(build.prebuilt).toBe(false);
    } finally {
      clearInterval(timer);
    }
    // A build takes seconds; a blocked loop would not tick at all.
    expect(ticks).toBeGreaterThan(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^veo-ts: building the host emulator with .* into .*VEO_TS_PROGRESS=0/);

    // A cache hit says nothing; concurrent callers share one build.
    const again: string[] = [];
    const [a, b] = await Promise.all([
      ensureEmulatorAsync({
        sourceDir: src,
        cacheDir: path.join(tmp, "async"),
        prebuiltDir: false,
        notify: (l) => again.push(l),
      }),
      ensureEmulatorAsync({ sourceDir: src, cacheDir: path.join(tmp, "async"), prebuiltDir: false }),
    ]);
    expect(a).toBe(b);
    expect(again).toEqual([]);
  }, 120_000);

  it("rejects with VeBuildError: a missing compiler, or a compile error with its output", async () => {
    const missing = await ensureEmulatorAsync({
      sourceDir: src,
      cacheDir: path.join(tmp, "async-nocc"),
      prebuiltDir: false,
      cc: path.join(tmp, "no-such-cc"),
    }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(VeBuildError);
    expect((missing as VeBuildError).exitCode).toBeNull();
    expect((missing as VeBuildError).command[0]).toBe(path.join(tmp, "no-such-cc"));

    const broken = path.join(tmp, "emulator-broken");
    fs.cpSync(src, broken, { recursive: true });
    // Every library source includes emu_lib.h: each compile stops at the missing header
    // (no time spent compiling the rest), and the output names the sources, emu_log.c too.
    fs.appendFileSync(path.join(broken, "src", "lib", "emu_lib.h"), '\n#include "no-such-header.h"\n');
    const failed = await ensureEmulatorAsync({
      sourceDir: broken,
      cacheDir: path.join(tmp, "async-broken"),
      prebuiltDir: false,
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(VeBuildError);
    expect((failed as VeBuildError).exitCode).not.toBe(0);
    expect((failed as VeBuildError).output).toMatch(/emu_log\.c/);
    // Nothing half-built is left in the cache, and the lock is released.
    expect(fs.readdirSync(path.join(tmp, "async-broken", "emulator"))).toEqual([]);
  }, 120_000);

  it("VeoProc.create builds the emulator on an empty cache without blocking, printing its line (VEO_TS_PROGRESS=1)", () => {
    const r = runChild(
      `import { VeoProc } from "SRC";
let ticks = 0;
const t = setInterval(() => ticks++, 50);
const proc = await VeoProc.create(0);
clearInterval(t);
console.log(JSON.stringify({ ticks, kind: proc.veoLibrary.kind }));
proc.destroy();`,
      {
        VEO_LIBRARY: undefined,
        VEO_TS_CACHE_DIR: path.join(tmp, "child-cache"),
        VEO_EMULATOR_PREBUILT: "0",
        VEO_TS_PROGRESS: "1",
      },
      120_000,
    );
    expect(r.status, r.out).toBe(0);
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ticks: number; kind: string };
    expect(res.kind).toBe("emulator");
    expect(res.ticks).toBeGreaterThan(3);
    expect(r.stderr.match(/veo-ts: building the host emulator/g)).toHaveLength(1);
  }, 150_000);
});

describe("across processes", () => {
  // Also the synchronous build's one line: it says that it blocks.
  it("three processes started together build it once; the builder's line says the build blocks", async () => {
    const cacheDir = path.join(tmp, "shared");
    const snippet =
      writeSnippet(`import { ensureEmulator } from ${JSON.stringify(path.join(ROOT, "src/native/emulator-build.ts"))};
const b = ensureEmulator({ sourceDir: ${JSON.stringify(src)}, cacheDir: ${JSON.stringify(cacheDir)}, prebuiltDir: false });
console.log(b.dir);`);
    try {
      const runs = await Promise.all(
        [0, 1, 2].map(() =>
          spawnNode(nodeArgs(snippet.file), {
            env: { ...process.env, VEO_TS_PROGRESS: "1" },
            timeoutMs: 170_000,
          }),
        ),
      );
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      expect(new Set(runs.map((r) => r.stdout.trim())).size).toBe(1);
      const builders = runs.filter((r) => /building the host emulator/.test(r.stderr));
      expect(builders).toHaveLength(1);
      // The others waited (or, started late, found it done) and compiled nothing.
      for (const r of runs)
        if (!builders.includes(r)) expect(r.stderr).not.toMatch(/building the host emulator/);
      const lines = builders[0].stderr.split("\n").filter((l) => l.startsWith("veo-ts: "));
      expect(lines, builders[0].stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/synchronously: `await VeoProc\.create\(\)` would not block/);
    } finally {
      snippet.remove();
    }
  }, 180_000);
});

/** Drives acquireLock until it settles, running `onSleep` at each pause; returns the steps seen. */
function drive(file: string, done: () => boolean, onSleep: (n: number) => void) {
  const steps: Step[] = [];
  const gen = acquireLock(file, done);
  let r = gen.next();
  while (!r.done) {
    steps.push(r.value);
    if (r.value.type === "sleep") onSleep(steps.filter((s) => s.type === "sleep").length);
    r = gen.next(NO_REPLY);
  }
  return { lock: r.value, steps };
}

describe("the build lock", () => {
  it.each([
    ["free", undefined],
    [
      "held by a process that is gone",
      () => spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }).stdout,
    ],
  ])("is taken at once when %s, and released", (_what, deadOwner) => {
    const file = path.join(tmp, `${_what.length}.lock`);
    if (deadOwner) {
      fs.writeFileSync(
        file,
        JSON.stringify({ pid: Number(deadOwner().trim()), host: os.hostname(), started: Date.now() }),
      );
    }
    const { lock, steps } = drive(
      file,
      () => false,
      () => {},
    );
    expect(steps).toEqual([]);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).pid).toBe(process.pid);
    lock!.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it("a live owner is waited for (one notice), until it goes away", () => {
    const owner = orphanSleeper();
    const file = path.join(tmp, "live.lock");
    fs.writeFileSync(file, JSON.stringify({ pid: owner, host: os.hostname(), started: Date.now() }));
    try {
      const { lock, steps } = drive(
        file,
        () => false,
        (n) => {
          if (n === 3) {
            process.kill(owner, "SIGKILL");
            spawnSync("sh", ["-c", `while kill -0 ${owner} 2>/dev/null; do sleep 0.05; done`], {
              timeout: 10_000,
            });
          }
        },
      );
      expect(steps.filter((s) => s.type === "notice")).toHaveLength(1);
      expect(steps.filter((s) => s.type === "sleep").length).toBeGreaterThanOrEqual(3);
      expect(lock).toBeDefined();
      lock!.release();
    } finally {
      killQuietly(owner);
    }
  });

  it("waiting ends without the lock when the work is done meanwhile", () => {
    const owner = orphanSleeper();
    const file = path.join(tmp, "done.lock");
    fs.writeFileSync(file, JSON.stringify({ pid: owner, host: os.hostname(), started: Date.now() }));
    let finished = false;
    try {
      const { lock } = drive(
        file,
        () => finished,
        () => (finished = true),
      );
      expect(lock).toBeUndefined();
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      killQuietly(owner);
    }
  });
});

describe("the prebuilt emulator", () => {
  let prebuilt: string;
  let pristine: string;
  beforeAll(() => {
    pristine = path.join(tmp, "emulator-pristine");
    fs.cpSync(src, pristine, { recursive: true });
    prebuilt = buildPrebuilt(path.join(tmp, "prebuilt"), { sourceDir: pristine });
  }, 120_000);

  const noCompiler = () => ({
    sourceDir: pristine,
    prebuiltDir: prebuilt,
    cacheDir: path.join(tmp, "empty-cache"),
    cc: path.join(tmp, "no-such-cc"),
  });

  it("is used without a compiler while its hash matches the sources", () => {
    const build = ensureEmulator(noCompiler());
    expect(build.prebuilt).toBe(true);
    expect(build.dir).toBe(prebuilt);
    expect(fs.existsSync(path.join(tmp, "empty-cache"))).toBe(false);
    // veorun needs no libffi where it runs.
    expect(fs.readFileSync(build.veorun).includes("libffi.so")).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(prebuilt, "manifest.json"), "utf8"));
    expect(manifest.platform).toBe("linux-x64-glibc");
    expect(Object.keys(manifest.files)).toContain("lib/libveo.so.1");
  });

  it("runs a program with no compiler on PATH", () => {
    const r = runChild(
      `import { VeoProc, loadVeo } from "SRC";
const proc = await VeoProc.create(0);
const p = proc.allocMem(16);
proc.freeMem(p);
console.log(JSON.stringify(loadVeo()));
proc.destroy();`,
      { VEO_LIBRARY: proc_library(prebuilt), PATH: path.dirname(process.execPath) },
    );
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).kind).toBe("emulator");
  });

  it("is ignored when the sources changed (then cc builds it)", () => {
    const changed = path.join(tmp, "emulator-changed");
    fs.cpSync(pristine, changed, { recursive: true });
    fs.appendFileSync(path.join(changed, "src", "lib", "emu_log.c"), "\n/* changed */\n");
    const err = catchError(() => ensureEmulator({ ...noCompiler(), sourceDir: changed }));
    expect(err).toBeInstanceOf(VeBuildError);
    expect((err as VeBuildError).command[0]).toBe(path.join(tmp, "no-such-cc"));
  });

  it("is ignored when a file does not match its recorded hash, or with VEO_EMULATOR_PREBUILT=0", () => {
    const copy = path.join(tmp, "prebuilt-tampered");
    fs.cpSync(prebuilt, copy, { recursive: true });
    fs.appendFileSync(path.join(copy, "libexec", "veorun"), "x");
    expect(catchError(() => ensureEmulator({ ...noCompiler(), prebuiltDir: copy }))).toBeInstanceOf(
      VeBuildError,
    );

    process.env.VEO_EMULATOR_PREBUILT = "0";
    try {
      expect(catchError(() => ensureEmulator(noCompiler()))).toBeInstanceOf(VeBuildError);
    } finally {
      delete process.env.VEO_EMULATOR_PREBUILT;
    }
  });
});

describe("an unusable cache directory", () => {
  it("says so, and how to fix it", () => {
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "");
    const err = catchError(() => ensureEmulator({ sourceDir: src, cacheDir: file, prebuiltDir: false }));
    expect(isCacheDirError(err)).toBe(true);
    expect((err as Error).message).toMatch(
      /cannot use the veo-ts cache directory .*a-file.*VEO_TS_CACHE_DIR/,
    );
  });

  it("loadVeo's error names the cache directory, not a missing compiler", () => {
    const file = path.join(tmp, "another-file");
    fs.writeFileSync(file, "");
    const r = runChild(
      `import { loadVeo } from "SRC";
try { loadVeo(); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      { VEO_LIBRARY: undefined, VEO_TS_CACHE_DIR: file, VEO_EMULATOR_PREBUILT: "0" },
    );
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; message: string };
    expect(res.name).toBe("VeoLibraryNotFound");
    expect(res.message).toMatch(/cannot use the veo-ts cache directory/);
    expect(res.message).toMatch(/Fix: .*set VEO_TS_CACHE_DIR to a writable directory/);
    expect(res.message).not.toMatch(/install a C compiler/);
  });
});

/** A process that is not our child (so it is reaped, not left a zombie, when killed). */
function orphanSleeper(): number {
  const r = spawnSync("sh", ["-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function proc_library(dir: string): string {
  return path.join(dir, "lib", "libveo.so.1");
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
