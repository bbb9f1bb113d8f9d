/*
 * The one bridge between building and loading: build a source with VeBuild.so() and hand
 * the path to anything with a loadLibrary(path) method (a VeoProc). VeBuild never imports
 * the object model; VeoProc#loadSource delegates here.
 */

import { VeBuild, type SoOptions } from "./vebuild.js";

/** What loadSource needs of a proc. */
export interface LibraryLoader<T> {
  loadLibrary(path: string): T;
}

/** Builds `source` (cached) and loads it into `proc`; resolves to what loadLibrary returns. */
export async function loadSource<T>(proc: LibraryLoader<T>, source: string, opts: SoOptions = {}): Promise<T> {
  if (proc === null || typeof proc !== "object" || typeof proc.loadLibrary !== "function") {
    throw new TypeError("loadSource: proc must have a loadLibrary(path) method (a VeoProc)");
  }
  const path = await VeBuild.so(source, opts);
  return proc.loadLibrary(path);
}
