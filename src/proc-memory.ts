/*
 * VeoProc's memory methods: VE memory (allocMem/freeMem), HMEM (allocHmem/freeHmem) and the
 * synchronous transfers (readMem/writeMem). Every argument is checked here before C sees it.
 */
import { describeValue } from "./ctypes.js";
import type { VePointer } from "./context.js";
import { VeoFailedError } from "./errors.js";
import { hex, logEnabled, logInfo } from "./logging.js";
import {
  blockTable,
  byteCount,
  checkVeExtent,
  hostBuffer,
  liveBlock,
  newBlock,
  releaseBlock,
  vePointer,
  type VeMemPtr,
  type HostBuffer,
} from "./memory.js";
import { requireFunction } from "./native/library.js";
import type { VeoProc } from "./proc.js";
import { procSlots } from "./slots.js";

/** HMEM tag: bit 63 marks a VE address, bits 62:59 hold the proc identifier. */
const HMEM_FLAG = 1n << 63n;
const HMEM_IDENT_SHIFT = 59n;
const HMEM_ADDR_MASK = (1n << 59n) - 1n;

/** @internal The proc identifier of an HMEM address (bits 62:59), or -1 if bit 63 is clear. */
export function hmemIdentifier(addr: bigint): number {
  return (addr & HMEM_FLAG) === 0n ? -1 : Number((addr >> HMEM_IDENT_SHIFT) & 0xfn);
}

/** @internal The plain VE address of an HMEM address (bits 58:0). */
export function hmemPlain(addr: bigint): bigint {
  return addr & HMEM_ADDR_MASK;
}

const identifiers = new WeakMap<VeoProc, number>();

/**
 * @internal The proc's VEO identifier: learnt from its first HMEM address, else asked once
 * (veo_proc_identifier, API >= 11; -1 without it). It never changes while the proc lives.
 */
export function procIdentifier(proc: VeoProc): number {
  let id = identifiers.get(proc);
  if (id === undefined) {
    id = procSlots.api(proc).veo_proc_identifier ? proc.identifier : -1;
    identifiers.set(proc, id);
  }
  return id;
}

/**
 * Allocates `size` bytes of VE memory. `allocMem(0)` gives a pointer to a zero-byte block
 * (what the VE's malloc(0) returned): every transfer through it of more than 0 bytes is a
 * RangeError, and freeMem accepts it.
 */
export function allocMem(proc: VeoProc, size: number): VeMemPtr {
  if (size === undefined)
    throw new TypeError("Argument 0 (size) of allocMem must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 0 (size) of allocMem", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  proc._check();
  proc._syncPoint("allocMem");
  const out = new BigUint64Array(1);
  const rc = procSlots.api(proc).veo_alloc_mem(procSlots.handle(proc), out, n);
  if (rc !== 0 || out[0] === 0n) {
    proc._checkAfterFailure();
    throw new VeoFailedError("veo_alloc_mem", `veo_alloc_mem(${n}) failed (${rc}): out of memory on the VE`);
  }
  if (logEnabled) logInfo(`veo_alloc_mem: nodeid=${proc.nodeid}, addr=${hex(out[0])}, size=${n}`);
  return newBlock(proc, out[0], n);
}

/**
 * Registers VE memory the binding did not allocate (a kernel's malloc, an address from
 * py-veo-style code) as a live block of `size` bytes, so that freeMem accepts it and
 * transfers through the returned pointer are bounds-checked. An address already in the
 * table was freed on the VE behind the binding's back and reused: the new block replaces it.
 */
export function adoptMem(proc: VeoProc, addr: bigint | number, size: number): VeMemPtr {
  proc._check();
  if (typeof addr !== "bigint" && typeof addr !== "number") {
    throw new TypeError(
      `Argument 0 (addr) of adoptMem must be a VE address (bigint or number), got ${describeValue(addr)}`,
    );
  }
  const a = BigInt(vePointer(proc, addr, "Argument 0 (addr) of adoptMem"));
  if (a === 0n) throw new RangeError("Argument 0 (addr) of adoptMem must not be 0 (NULL)");
  if (hmemIdentifier(a) >= 0) {
    throw new RangeError(
      `Argument 0 (addr) of adoptMem (0x${a.toString(16)}) is an HMEM address; adopt its plain address (VeoHmem.getHmemAddr)`,
    );
  }
  if (size === undefined)
    throw new TypeError("Argument 1 (size) of adoptMem must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 1 (size) of adoptMem", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  const known = blockTable(proc).get(a);
  if (known?.kind === "hmem" && !known.freed) {
    throw new RangeError(
      `Argument 0 (addr) of adoptMem (0x${a.toString(16)}) is a live allocHmem block; free it with freeHmem`,
    );
  }
  // A live entry at that address means a kernel freed it and the VE handed it out again:
  // the new block replaces it (pointers to the old one read as freed).
  return newBlock(proc, a, n, "adopted");
}

/** Allocates `size` bytes of VE memory as an HMEM address (bigint, tagged with the proc). */
export function allocHmem(proc: VeoProc, size: number): bigint {
  if (size === undefined)
    throw new TypeError("Argument 0 (size) of allocHmem must be a number of bytes, got undefined");
  const n = byteCount(size, "Argument 0 (size) of allocHmem", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
  proc._check();
  proc._syncPoint("allocHmem");
  const f = requireFunction(procSlots.native(proc), "veo_alloc_hmem");
  const out = new BigUint64Array(1);
  const rc = f(procSlots.handle(proc), out, n);
  if (rc !== 0 || out[0] === 0n) {
    proc._checkAfterFailure();
    throw new VeoFailedError("veo_alloc_hmem", `veo_alloc_hmem(${n}) failed (${rc})`);
  }
  newBlock(proc, hmemPlain(out[0]), n, "hmem");
  identifiers.set(proc, hmemIdentifier(out[0]));
  if (logEnabled) logInfo(`veo_alloc_hmem: nodeid=${proc.nodeid}, addr=${hex(out[0])}, size=${n}`);
  return out[0];
}

/** Frees an HMEM address from allocHmem. */
export function freeHmem(proc: VeoProc, addr: bigint): void {
  proc._check();
  proc._syncPoint("freeHmem");
  const label = "Argument 0 (addr) of freeHmem";
  if (typeof addr !== "bigint") {
    throw new TypeError(`${label} must be an HMEM address (bigint), got ${describeValue(addr)}`);
  }
  if (addr < 0n || addr > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`${label} must be an HMEM address in [2**63, 2**64-1], got ${addr}n`);
  }
  const ident = hmemIdentifier(addr);
  if (ident < 0) {
    throw new TypeError(
      `${label} (0x${addr.toString(16)}) is not an HMEM address (bit 63 is clear); ` +
        "freeMem frees plain VE addresses",
    );
  }
  const mine = procIdentifier(proc);
  if (ident !== mine) {
    throw new RangeError(
      `${label} (0x${addr.toString(16)}) carries proc identifier ${ident}, not this proc's (${mine})`,
    );
  }
  const block = liveBlock(proc, hmemPlain(addr), label, ["hmem"], "allocHmem");
  if (block === undefined) throw new RangeError(`${label} (0x${addr.toString(16)}) has a NULL VE address`);
  const f = requireFunction(procSlots.native(proc), "veo_free_hmem");
  releaseBlock(proc, block);
  const rc = f(addr);
  if (rc !== 0)
    throw new VeoFailedError("veo_free_hmem", `veo_free_hmem(0x${addr.toString(16)}) failed (${rc})`);
  if (logEnabled) logInfo(`veo_free_hmem: nodeid=${proc.nodeid}, addr=${hex(addr)}`);
}

/**
 * Frees VE memory: the pointer allocMem (or adoptMem) returned, or its raw address. Anything
 * else (an offset into a block, a freed or never allocated address, a symbol, an HMEM
 * block) is a typed error and nothing reaches the VE. NULL (0) does nothing, as in C.
 */
export function freeMem(proc: VeoProc, ptr: VePointer): void {
  proc._check();
  proc._syncPoint("freeMem");
  const block = liveBlock(proc, ptr, "Argument 0 (ptr) of freeMem", ["mem", "adopted"], "allocMem/adoptMem");
  if (block === undefined) return;
  releaseBlock(proc, block);
  const addr = block.addr;
  const rc = procSlots
    .api(proc)
    .veo_free_mem(procSlots.handle(proc), addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : addr);
  if (rc !== 0)
    throw new VeoFailedError("veo_free_mem", `veo_free_mem(0x${addr.toString(16)}) failed (${rc})`);
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
  const rc = procSlots.api(proc).veo_read_mem(procSlots.handle(proc), dst, addr, n);
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
  const rc = procSlots.api(proc).veo_write_mem(procSlots.handle(proc), addr, src, n);
  if (rc !== 0) {
    proc._checkAfterFailure();
    throw new VeoFailedError(
      "veo_write_mem",
      `veo_write_mem(${n} bytes to 0x${addr.toString(16)}) failed (${rc})`,
    );
  }
  if (logEnabled) logInfo(`veo_write_mem: nodeid=${proc.nodeid}, size=${n}`);
}
