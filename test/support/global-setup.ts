/*
 * vitest globalSetup: builds the host emulator once, before any worker starts, so parallel
 * test files find it in the cache instead of racing to build it. Exposes the library path as
 * VEO_LIBRARY (workers are forked after this runs and inherit the environment). Tests may
 * still call ensureEmulator() themselves: after this it is a fast cache hit. Also prepares
 * the TypeScript loader of child processes (ts-loader.ts), removed when the run ends.
 */
import * as fs from "node:fs";

import { ensureEmulator } from "../../src/native/emulator-build.js";
import { prepareTsLoader } from "./ts-loader.js";

export default async function setup(): Promise<() => void> {
  const build = ensureEmulator();
  if (!process.env.VEO_LIBRARY) process.env.VEO_LIBRARY = build.library;
  const loader = await prepareTsLoader();
  return () => fs.rmSync(loader, { recursive: true, force: true });
}
