/*
 * The setup bench/await.ts and bench/breakdown.ts share: a proc with the bench kernels, the
 * `empty` kernel declared, a context, and the raw handles needed to time bare koffi calls of
 * the same C functions beside the public API. Reaches into internals on purpose (bench only).
 */
import { VeoProc } from "../../src/index.js";
import { nativeRegister } from "../../src/native/api.js";
import { ctxSlots, procSlots } from "../../src/slots.js";

export function openRawSession(kernels: string) {
  const proc = new VeoProc(0);
  const lib = proc.loadLibrary(kernels);
  const f = lib.declare("uint64_t empty(void)");
  const ctx = proc.openContext();

  return {
    proc,
    lib,
    f,
    ctx,
    api: procSlots.api(proc) as any,
    ch: ctxSlots.handle(ctx) as any,
    ph: procSlots.handle(proc) as any,
    addr: (f as any)._s.addr,
    ca: (f as any)._s.args,
    out: nativeRegister().addr,
  };
}
