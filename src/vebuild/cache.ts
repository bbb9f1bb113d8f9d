/*
 * The build cache: one directory per key, `<root>/v1/<key>/`, holding the output (.so or
 * .veorun), the sources, build.log and meta.json. meta.json is written last and records the
 * output's sha256, which is checked on every hit: a corrupt or partial entry is removed and
 * rebuilt, never returned. Entries are built in a private temp dir and renamed into place,
 * so two processes building the same key at once are harmless (the first rename wins).
 */

import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { emulatorCacheRoot } from "../native/emulator-build.js";

/** Bump when the layout or meaning of an entry changes; old entries are then ignored. */
export const CACHE_FORMAT = "v1";

export interface CacheMeta {
  format: typeof CACHE_FORMAT;
  key: string;
  /** File name of the output inside the entry. */
  output: string;
  sha256: string;
  size: number;
  /** Everything the tools printed on success (warnings, listings), replayed on hits. */
  warnings: string;
  /** Each step's argv, as run (relative to the entry directory). */
  commands: string[][];
  toolchain: string;
  created: string;
}

/**
 * Where entries live: `VEO_BUILD_CACHE` (a directory), else `<veo-ts cache root>/build`
 * (the root is `VEO_TS_CACHE_DIR`, `$XDG_CACHE_HOME/veo-ts` or `~/.cache/veo-ts`).
 * Returns undefined when the cache is disabled (`VEO_BUILD_CACHE=0`).
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.VEO_BUILD_CACHE;
  if (v === "0") return undefined;
  const root = v ? path.resolve(v) : path.join(emulatorCacheRoot(), "build");
  return path.join(root, CACHE_FORMAT);
}

export function hashKey(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

export async function sha256File(p: string): Promise<string> {
  return createHash("sha256")
    .update(await fsp.readFile(p))
    .digest("hex");
}

/** A fresh private directory next to the entries, on the same filesystem for rename(). */
export async function makeWorkDir(parent: string, key: string): Promise<string> {
  await fsp.mkdir(parent, { recursive: true });
  await sweepStale(parent).catch(() => {});
  return fsp.mkdtemp(path.join(parent, `.tmp-${key.slice(0, 12)}-${process.pid}-`));
}

/** Work dirs older than this were left by a process that died mid-build. */
const STALE_MS = 60 * 60 * 1000;

/** Removes temp and trash dirs that killed processes left behind (only old ones). */
async function sweepStale(parent: string): Promise<void> {
  const now = Date.now();
  for (const name of await fsp.readdir(parent)) {
    if (!name.startsWith(".tmp-") && !name.includes(".trash-")) continue;
    const p = path.join(parent, name);
    const st = await fsp.stat(p).catch(() => undefined);
    if (st && now - st.mtimeMs > STALE_MS) await fsp.rm(p, { recursive: true, force: true }).catch(() => {});
  }
}

/** The entry's meta if the entry is complete and its output matches its hash; else undefined. */
export async function verifyEntry(dir: string, key: string): Promise<CacheMeta | undefined> {
  let meta: CacheMeta;
  try {
    meta = JSON.parse(await fsp.readFile(path.join(dir, "meta.json"), "utf8")) as CacheMeta;
  } catch {
    return undefined;
  }
  if (
    meta === null ||
    typeof meta !== "object" ||
    meta.format !== CACHE_FORMAT ||
    meta.key !== key ||
    typeof meta.output !== "string" ||
    meta.output.includes("/") ||
    typeof meta.sha256 !== "string"
  ) {
    return undefined;
  }
  try {
    const out = path.join(dir, meta.output);
    const st = await fsp.stat(out);
    if (!st.isFile() || st.size !== meta.size) return undefined;
    if ((await sha256File(out)) !== meta.sha256) return undefined;
  } catch {
    return undefined;
  }
  return meta;
}

/** Removes a directory without racing readers: rename it aside first, then delete. */
export async function discard(dir: string): Promise<void> {
  const aside = `${dir}.trash-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fsp.rename(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await fsp.rm(aside, { recursive: true, force: true });
}

/**
 * Moves a finished work dir into place as entry `key`. If another build got there first
 * with a valid entry, ours is dropped and theirs used; an invalid one is replaced.
 * Resolves to the entry directory.
 */
export async function commitEntry(workDir: string, entryDir: string, key: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fsp.rename(workDir, entryDir);
      return entryDir;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
    if (await verifyEntry(entryDir, key)) {
      await fsp.rm(workDir, { recursive: true, force: true });
      return entryDir;
    }
    await discard(entryDir);
  }
  throw new Error(`could not move the build into the cache at ${entryDir}`);
}
