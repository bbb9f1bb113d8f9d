/*
 * vitest globalSetup: builds the host emulator once, before any worker starts, so parallel
 * test files find it in the cache instead of racing to build it. Exposes the library path as
 * VEO_LIBRARY (workers are forked after this runs and inherit the environment). Tests may
 * still call ensureEmulator() themselves: after this it is a fast cache hit.
 */
import { ensureEmulator } from "../../src/native/emulator-build.js";

export default function setup(): void {
  const build = ensureEmulator();
  if (!process.env.VEO_LIBRARY) process.env.VEO_LIBRARY = build.library;
}
