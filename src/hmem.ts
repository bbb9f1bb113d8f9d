/*
 * HMEM (heterogeneous memory) helpers, py-veo's VEO_HMEM: an HMEM address is a VE address
 * tagged with bit 63 and the proc identifier in bits 62:59, usable from any proc of the
 * process. proc.allocHmem/freeHmem allocate them; these helpers inspect and copy.
 */
import { describeValue } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import { byteCount, isHostBuffer, type HostBuffer } from "./memory.js";
import type { VeoApi } from "./native/api.js";
import { getNative, requireFunction } from "./native/library.js";

/** An HMEM address (bigint) or a host buffer. */
export type HmemPointer = bigint | HostBuffer;

function need<K extends keyof VeoApi>(name: K): NonNullable<VeoApi[K]> {
  return requireFunction(getNative(), name);
}

function address(v: unknown, label: string): bigint {
  if (typeof v === "bigint" && v >= 0n && v <= 0xffff_ffff_ffff_ffffn) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw (typeof v === "bigint" || typeof v === "number" ? RangeError : TypeError)(
    `${label} must be an address (a bigint in [0, 2**64-1]), got ${describeValue(v)}`,
  );
}

function pointer(v: unknown, label: string): { ptr: bigint | HostBuffer; max: number } {
  if (isHostBuffer(v)) return { ptr: v, max: v.byteLength };
  return { ptr: address(v, label), max: Number.MAX_SAFE_INTEGER };
}

/** HMEM address helpers (py-veo's `VeoHmem`): tags, plain addresses, copies. */
export const VeoHmem = Object.freeze({
  /** True if `addr` is tagged as a VE (HMEM) address (bit 63). */
  isVeAddr(addr: bigint): boolean {
    return need("veo_is_ve_addr")(address(addr, "Argument 0 (addr) of isVeAddr")) === 1;
  },

  /** The plain VE address of an HMEM address (tag bits cleared); others unchanged. */
  getHmemAddr(addr: bigint): bigint {
    const r = need("veo_get_hmem_addr")(address(addr, "Argument 0 (addr) of getHmemAddr"));
    return r === null ? 0n : BigInt(r);
  },

  /** The proc identifier in an HMEM address, or -1 for an untagged one. */
  getProcIdentifierFromHmem(addr: bigint): number {
    return need("veo_get_proc_identifier_from_hmem")(
      address(addr, "Argument 0 (addr) of getProcIdentifierFromHmem"),
    );
  },

  /** Copies `size` bytes between HMEM addresses and host buffers, in any direction. */
  hmemcpy(dst: HmemPointer, src: HmemPointer, size: number): void {
    const d = pointer(dst, "Argument 0 (dst) of hmemcpy");
    const s = pointer(src, "Argument 1 (src) of hmemcpy");
    const n = byteCount(size ?? NaN, "Argument 2 (size) of hmemcpy", Math.min(d.max, s.max), "the buffer", 0);
    const rc = need("veo_hmemcpy")(d.ptr, s.ptr, n);
    if (rc !== 0) throw new VeoFailedError("veo_hmemcpy", `veo_hmemcpy(${n} bytes) failed (${rc})`);
  },
});
