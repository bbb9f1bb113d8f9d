/*
 * One proc with the bench kernels loaded and one context, through the binding's public API,
 * the same setup the C client makes (proc on node 0, library, first context = main context).
 */
import { VeoProc, type VeoCtxt, type VeoLibrary } from "../../src/index.js";

export interface Session {
  proc: VeoProc;
  /** performance.now() when the proc had been created (warm-ups last WARMUP_MS from here). */
  createdMs: number;
  lib: VeoLibrary;
  ctx: VeoCtxt;
  close(): void;
}

export function openSession(kernels: string | undefined): Session {
  const proc = new VeoProc(0);
  const createdMs = performance.now();
  const lib = kernels ? proc.loadLibrary(kernels) : (undefined as unknown as VeoLibrary);
  const ctx = proc.openContext();
  return {
    proc,
    createdMs,
    lib,
    ctx,
    close() {
      proc.destroy();
    },
  };
}
