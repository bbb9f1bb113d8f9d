/*
 * Publishing a build into the user's build dir: the output copied in by rename (a loaded
 * library is never rewritten in place), plus copies of the sources and compiler listings.
 */

import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { sha256File, type CacheMeta } from "./cache.js";

/**
 * Copies the output (and the sources, and any compiler listings) into the build dir, if
 * one is set, and returns the output's absolute path. The output is replaced by rename,
 * never rewritten in place, so a library a proc has loaded is never changed under it.
 */
export async function publish(
  buildDir: string | undefined,
  entryDir: string,
  meta: CacheMeta,
  files: readonly { name: string; text: string }[],
): Promise<string> {
  if (!buildDir) return path.join(entryDir, meta.output);
  const dir = buildDir;
  await fsp.mkdir(dir, { recursive: true });
  const dest = path.join(dir, meta.output);
  let same: boolean;
  try {
    same = (await sha256File(dest)) === meta.sha256;
  } catch {
    same = false;
  }
  if (!same) await copyAtomic(path.join(entryDir, meta.output), dest);
  for (const f of files) {
    const listing = f.name.replace(/\.[^.]+$/, ".L");
    await fsp.writeFile(path.join(dir, f.name), f.text);
    await fsp.copyFile(path.join(entryDir, listing), path.join(dir, listing)).catch(() => {});
  }
  return dest;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fsp.copyFile(from, tmp);
    await fsp.chmod(tmp, 0o755);
    await fsp.rename(tmp, to);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}
