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
import type { VeoProc } from "./proc.js";
import { liveProcs } from "./veo-hooks.js";

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

  /**
   * The VeoProc an HMEM address belongs to (veo_get_proc_handle_from_hmem), or undefined
   * for an untagged address or one whose proc is not a live proc of this process.
   */
  getProcHandleFromHmem(addr: bigint): VeoProc | undefined {
    need("veo_get_proc_handle_from_hmem");
    const a = address(addr, "Argument 0 (addr) of getProcHandleFromHmem");
    if (a >> 63n === 0n) return undefined;
    const ident = Number((a >> 59n) & 0xfn);
    // Asked only about identifiers VEO knows: for one beyond its process list, AVEO throws
    // a C++ exception nobody catches (the process would abort).
    for (const p of liveProcs()) {
      let id: number;
      try {
        id = p.identifier;
      } catch {
        continue;
      }
      if (id !== ident) continue;
      const f = p._api.veo_get_proc_handle_from_hmem;
      if (f === undefined || f(a) === p._handle) return p;
    }
    return undefined;
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
