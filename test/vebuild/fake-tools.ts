/*
 * Fake compilers for VeBuild tests: small executable scripts that record their argv (and
 * CFLAGS, cwd) to calls.jsonl and create the file they were asked to produce. A source
 * containing FAKE_ERROR makes a compile fail; FAKE_SLOW makes it take a while (for abort);
 * FAKE_SLEEP makes it take 400 ms and then succeed; FAKE_WARN makes it print a warning.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface FakeCall {
  tool: string;
  /** Absolute path of the script that ran. */
  file: string;
  args: string[];
  cwd: string;
  CFLAGS: string | null;
}

export interface FakeNec {
  /** The fake SDK root: bin/ncc, bin/nc++, bin/nfort, libexec/mk_veorun_static. */
  root: string;
  bin: string;
  calls(): FakeCall[];
  /** Rewrites a tool so that `--version` reports another version. */
  setVersion(tool: string, version: string): void;
  /** Environment that selects this fake SDK. */
  env: Record<string, string>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** fake-tool.sh (POSIX sh: it starts about ten times faster than a node script). */
const SCRIPT = fs.readFileSync(path.join(HERE, "fake-tool.sh"), "utf8");

function script(root: string, version: string): string {
  return SCRIPT.replaceAll("@ROOT@", root).replaceAll("@VERSION@", version);
}

export function makeFakeNec(): FakeNec {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-fake-nec-"));
  const bin = path.join(root, "bin");
  const libexec = path.join(root, "libexec");
  fs.mkdirSync(bin);
  fs.mkdirSync(libexec);
  const log = path.join(root, "calls.jsonl");
  if (/['\\]/.test(root)) throw new Error(`the temp directory ${root} has a quote in its name`);
  fs.copyFileSync(path.join(HERE, "fake-tool.awk"), path.join(root, "log.awk"));
  const write = (file: string, version: string) => {
    fs.writeFileSync(file, script(root, version));
    fs.chmodSync(file, 0o755);
  };
  for (const t of ["ncc", "nc++", "nfort"]) write(path.join(bin, t), "5.0.0");
  write(path.join(libexec, "mk_veorun_static"), "3.0.0");
  return {
    root,
    bin,
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as FakeCall)
        : [],
    setVersion: (tool, version) => {
      const file = tool === "mk_veorun_static" ? path.join(libexec, tool) : path.join(bin, tool);
      write(file, version);
    },
    env: { VEO_BUILD_TOOLCHAIN: "nec", VEO_BUILD_NEC_BIN: bin },
  };
}

/** A test's fake NEC SDK and empty build cache, both selected through the environment. */
export interface NecSandbox {
  nec: FakeNec;
  cache: string;
  /** Restores the environment and deletes both directories. */
  close(): void;
}

/** Opens a NecSandbox (MK_VEORUN_STATIC unset, so the SDK's own is used). */
export function openNecSandbox(): NecSandbox {
  const nec = makeFakeNec();
  const cache = tempDir("cache");
  const restore = withEnv({ ...nec.env, VEO_BUILD_CACHE: cache, MK_VEORUN_STATIC: undefined });
  return {
    nec,
    cache,
    close: () => {
      restore();
      fs.rmSync(nec.root, { recursive: true, force: true });
      fs.rmSync(cache, { recursive: true, force: true });
    },
  };
}

/** Sets environment variables for the duration of a test; returns a function restoring them. */
export function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `veo-ts-${prefix}-`));
}
