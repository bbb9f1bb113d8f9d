/*
 * The one bridge between building and loading: build a source with VeBuild.so() and hand
 * the path to anything with a loadLibrary(path) method (a VeoProc). VeBuild never imports
 * the object model; VeoProc#loadSource delegates here.
 */

import { ownBag } from "./args.js";
import { chooseToolchain } from "./toolchain.js";
import { VeBuild, type SoOptions } from "./vebuild.js";

/** What loadSource needs of a proc. */
export interface LibraryLoader<T> {
  /** Loads the shared library at `path`. */
  loadLibrary(path: string): T;
  /** The libveo the proc runs on; picks the toolchain as VEO_LIBRARY would. */
  readonly veoLibrary?: {
    /** The library's path. */
    readonly path: string;
  };
}

/** Builds `source` (a text, or a file URL; cached) and loads it into `proc`; resolves to what loadLibrary returns. */
export async function loadSource<T>(
  proc: LibraryLoader<T>,
  source: string | URL,
  options: SoOptions = {},
): Promise<T> {
  const opts = ownBag(options);
  if (proc === null || typeof proc !== "object" || typeof proc.loadLibrary !== "function") {
    throw new TypeError("loadSource: proc must have a loadLibrary(path) method (a VeoProc)");
  }
  let buildOpts = opts;
  const library = proc.veoLibrary?.path;
  if (opts.toolchain === undefined && library !== undefined) {
    buildOpts = {
      ...opts,
      toolchain: chooseToolchain(undefined, { ...process.env, VEO_LIBRARY: library }).name,
    };
  }
  const path = await VeBuild.so(source, buildOpts);
  return proc.loadLibrary(path);
}
