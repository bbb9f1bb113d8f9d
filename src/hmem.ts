/*
 * HMEM (heterogeneous memory) helpers, py-veo's VEO_HMEM: an HMEM address is a VE address
 * tagged with bit 63 and the proc identifier in bits 62:59, usable from any proc of the
 * process. proc.allocHmem/freeHmem allocate them; these helpers inspect and copy.
 */
import { describeValue } from "./ctypes.js";
import { VeoClosedError, VeoFailedError } from "./errors.js";
import {
  blockContaining,
  byteCount,
  hostBuffer,
  isHostBuffer,
  procWithIdentifier,
  type HostBuffer,
} from "./memory.js";
import type { VeoApi } from "./native/api.js";
import { getNative, requireFunction } from "./native/library.js";
import { hmemIdentifier, hmemPlain, procIdentifier } from "./proc-memory.js";
import type { VeoProc } from "./proc.js";
import {
  addHmemListener,
  liveProcs,
  removeHmemListener,
  type VeoHmemHookEventType,
  type VeoHmemHookListener,
} from "./veo-hooks.js";

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

/**
 * One side of hmemcpy: a host buffer (its current length bounds the copy), or an HMEM address
 * of a live proc inside a block veo-ts allocated there (allocHmem, allocMem, adoptMem; the
 * rest of that block bounds the copy). An untagged number would be used as a host pointer
 * inside Node: TypeError.
 */
function side(
  v: unknown,
  label: string,
): { ptr: bigint | HostBuffer; max: number; check: (n: number) => void } {
  if (isHostBuffer(v)) {
    const max = hostBuffer(v, label);
    return { ptr: v, max, check: () => {} };
  }
  if (typeof v !== "bigint") {
    throw new TypeError(
      `${label} must be an HMEM address (bigint from allocHmem) or a host buffer, got ${describeValue(v)}`,
    );
  }
  return liveHmem(v, label);
}

/**
 * @internal An HMEM address of a live VeoProc of this process, and `check(n)`: throws unless
 * `n` bytes from it lie inside a live block veo-ts allocated there (allocHmem, allocMem,
 * adoptMem). Anything else is a TypeError/RangeError naming `label`.
 */
export function liveHmem(
  v: unknown,
  label: string,
): { ptr: bigint; proc: VeoProc; max: number; check: (n: number) => void } {
  if (typeof v !== "bigint") {
    throw new TypeError(`${label} must be an HMEM address (bigint from allocHmem), got ${describeValue(v)}`);
  }
  const addr = address(v, label);
  const ident = hmemIdentifier(addr);
  if (ident < 0) {
    throw new TypeError(
      `${label} (0x${addr.toString(16)}) is not an HMEM address (bit 63 is clear): VEO would use it as a ` +
        "host pointer; pass a host buffer for host memory, or an address from allocHmem",
    );
  }
  const proc = procWithIdentifier(ident, procIdentifier);
  if (proc === undefined) {
    throw new RangeError(
      `${label} (0x${addr.toString(16)}) names proc identifier ${ident}, which is no live VeoProc of this process`,
    );
  }
  const plain = hmemPlain(addr);
  return {
    ptr: addr,
    proc,
    max: Number.MAX_SAFE_INTEGER,
    check: (n) => {
      if (blockContaining(proc, plain, n) === undefined) {
        throw new RangeError(
          `${label} (0x${addr.toString(16)}): ${n} bytes from there are not inside a live block of proc ${ident} ` +
            "(allocHmem, allocMem or adoptMem; freed blocks do not count)",
        );
      }
      if (!proc._alive) throw new VeoClosedError(`${label} belongs to a proc that is no longer usable`);
    },
  };
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

  /**
   * Calls `listener` after every VE allocation ("alloc") or free ("free") of the default
   * library's procs (loadVeo()), with the block's HMEM address
   * (veo_register_hmem_hook_functions): allocMem/freeMem, allocHmem/freeHmem (which allocate
   * through them) and allocMemAsync/freeMemAsync. Listeners run on the main thread, a microtask after the
   * event, in order. Main thread only (VeoFailedError in a worker); VeoUnsupported when the
   * library lacks the function (API < 15). proc.on("alloc"/"free") keep working beside it.
   */
  on(type: VeoHmemHookEventType, listener: VeoHmemHookListener): void {
    addHmemListener(type, listener);
  },

  /** Removes the last registration of `listener` for `type` (no-op if none). */
  off(type: VeoHmemHookEventType, listener: VeoHmemHookListener): void {
    removeHmemListener(type, listener);
  },

  /** Copies `size` bytes between HMEM addresses and host buffers, in any direction. */
  hmemcpy(dst: HmemPointer, src: HmemPointer, size: number): void {
    const d = side(dst, "Argument 0 (dst) of hmemcpy");
    const s = side(src, "Argument 1 (src) of hmemcpy");
    const n = byteCount(
      size === undefined ? NaN : size,
      "Argument 2 (size) of hmemcpy",
      Math.min(d.max, s.max),
      "the buffer",
      0,
    );
    d.check(n);
    s.check(n);
    const rc = need("veo_hmemcpy")(d.ptr, s.ptr, n);
    if (rc !== 0) throw new VeoFailedError("veo_hmemcpy", `veo_hmemcpy(${n} bytes) failed (${rc})`);
  },
});
