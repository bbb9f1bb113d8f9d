/*
 * VeoProc's memory methods: VE memory (allocMem/freeMem), HMEM (allocHmem/freeHmem) and the
 * synchronous transfers (readMem/writeMem). Every argument is checked here before C sees it.
 */
import { describeValue } from "./ctypes.js";
import type { VePointer } from "./context.js";
import { VeoFailedError } from "./errors.js";
import { hex, logEnabled, logInfo } from "./logging.js";
import {
  byteCount,
  checkVeExtent,
  hostBuffer,
  markFreed,
  newBlock,
  vePointer,
  VeMemPtr,
  type HostBuffer,
} from "./memory.js";
import { requireFunction } from "./native/library.js";
import type { VeoProc } from "./proc.js";

/** Allocates `size` bytes of VE memory. */
export function allocMem(proc: VeoProc, size: number): VeMemPtr {
  if (size === undefined)
    throw new TypeError("Argument 0 (size) of allocMem must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 0 (size) of allocMem", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  proc._check();
  proc._syncPoint("allocMem");
  const out = new BigUint64Array(1);
  const rc = proc._api.veo_alloc_mem(proc._handle, out, n);
  if (rc !== 0) {
    proc._checkAfterFailure();
    throw new VeoFailedError("veo_alloc_mem", `veo_alloc_mem(${n}) failed (${rc}): out of memory on the VE`);
  }
  if (logEnabled) logInfo(`veo_alloc_mem: nodeid=${proc.nodeid}, addr=${hex(out[0])}, size=${n}`);
  return newBlock(proc, out[0], n);
}

/** Allocates `size` bytes of VE memory as an HMEM address (bigint, tagged with the proc). */
export function allocHmem(proc: VeoProc, size: number): bigint {
  if (size === undefined)
    throw new TypeError("Argument 0 (size) of allocHmem must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 0 (size) of allocHmem", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  proc._check();
  proc._syncPoint("allocHmem");
  const f = requireFunction(proc._native, "veo_alloc_hmem");
  const out = new BigUint64Array(1);
  const rc = f(proc._handle, out, n);
  if (rc !== 0) {
    proc._checkAfterFailure();
    throw new VeoFailedError("veo_alloc_hmem", `veo_alloc_hmem(${n}) failed (${rc})`);
  }
  if (logEnabled) logInfo(`veo_alloc_hmem: nodeid=${proc.nodeid}, addr=${hex(out[0])}, size=${n}`);
  return out[0];
}

/** Frees an HMEM address from allocHmem. */
export function freeHmem(proc: VeoProc, addr: bigint): void {
  proc._check();
  proc._syncPoint("freeHmem");
  if (typeof addr !== "bigint" || addr < 0n || addr > 0xffff_ffff_ffff_ffffn) {
    throw new TypeError(
      `Argument 0 (addr) of freeHmem must be an HMEM address (bigint), got ${describeValue(addr)}`,
    );
  }
  const f = requireFunction(proc._native, "veo_free_hmem");
  const rc = f(addr);
  if (rc !== 0)
    throw new VeoFailedError("veo_free_hmem", `veo_free_hmem(0x${addr.toString(16)}) failed (${rc})`);
  if (logEnabled) logInfo(`veo_free_hmem: nodeid=${proc.nodeid}, addr=${hex(addr)}`);
}

/** Frees VE memory from allocMem (a VeMemPtr, or a raw address). */
export function freeMem(proc: VeoProc, ptr: VePointer): void {
  proc._check();
  proc._syncPoint("freeMem");
  const addr = vePointer(proc, ptr, "Argument 0 (ptr) of freeMem");
  const rc = proc._api.veo_free_mem(proc._handle, addr);
  if (rc !== 0)
    throw new VeoFailedError("veo_free_mem", `veo_free_mem(0x${addr.toString(16)}) failed (${rc})`);
  if (ptr instanceof VeMemPtr) markFreed(ptr);
  if (logEnabled) logInfo(`veo_free_mem: nodeid=${proc.nodeid}, addr=${hex(addr)}`);
}

/** Copies `size` bytes (default: all of `dst`) from VE memory `src` into `dst`. */
export function readMem(proc: VeoProc, dst: HostBuffer, src: VePointer, size?: number): void {
  proc._check();
  proc._syncPoint("readMem");
  const len = hostBuffer(dst, "Argument 0 (dst) of readMem");
  const addr = vePointer(proc, src, "Argument 1 (src) of readMem");
  const n = byteCount(size, "Argument 2 (size) of readMem", len, "dst", len);
  checkVeExtent(src, n, "readMem");
  const rc = proc._api.veo_read_mem(proc._handle, dst, addr, n);
  if (rc !== 0) {
    proc._checkAfterFailure();
    throw new VeoFailedError(
      "veo_read_mem",
      `veo_read_mem(${n} bytes from 0x${addr.toString(16)}) failed (${rc})`,
    );
  }
  if (logEnabled) logInfo(`veo_read_mem: nodeid=${proc.nodeid}, size=${n}`);
}

/** Copies `size` bytes (default: all of `src`) from `src` into VE memory `dst`. */
export function writeMem(proc: VeoProc, dst: VePointer, src: HostBuffer, size?: number): void {
  proc._check();
  proc._syncPoint("writeMem");
  const addr = vePointer(proc, dst, "Argument 0 (dst) of writeMem");
  const len = hostBuffer(src, "Argument 1 (src) of writeMem");
  const n = byteCount(size, "Argument 2 (size) of writeMem", len, "src", len);
  checkVeExtent(dst, n, "writeMem");
  const rc = proc._api.veo_write_mem(proc._handle, addr, src, n);
  if (rc !== 0) {
    proc._checkAfterFailure();
    throw new VeoFailedError(
      "veo_write_mem",
      `veo_write_mem(${n} bytes to 0x${addr.toString(16)}) failed (${rc})`,
    );
  }
  if (logEnabled) logInfo(`veo_write_mem: nodeid=${proc.nodeid}, size=${n}`);
}
