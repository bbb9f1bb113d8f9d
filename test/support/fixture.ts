/*
 * The setup most suites share: a proc on node 0 with a test kernel library loaded and one
 * context open.
 */
import { afterAll } from "vitest";

import { VeoProc, type VeoCtxt, type VeoLibrary } from "../../src/index.js";
import { kernel, type KernelName } from "./kernels.js";

export interface KernelProc {
  proc: VeoProc;
  lib: VeoLibrary;
  ctx: VeoCtxt;
}

/** A new proc with kernel library `name` loaded and a context open; the caller destroys it. */
export function openKernelProc(name: KernelName = "basic"): KernelProc {
  const proc = new VeoProc(0);
  const lib = proc.loadLibrary(kernel(name));
  return { proc, lib, ctx: proc.openContext() };
}

/** openKernelProc for a whole test file: the proc is destroyed after the file's tests. */
export function fileKernelProc(name: KernelName = "basic"): KernelProc {
  const k = openKernelProc(name);
  afterAll(() => k.proc.destroy());
  return k;
}
