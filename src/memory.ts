/*
 * VE memory pointers (VeMemPtr) and host buffers. A VeMemPtr knows its proc and size, so a
 * pointer of another proc, a freed block or a transfer past its end is caught before C. Host
 * memory is any ArrayBufferView or ArrayBuffer, passed to C zero-copy.
 */
import { describeValue } from "./ctypes.js";
import { VeoClosedError } from "./errors.js";
import type { VeoProc } from "./proc.js";

/** A VE pointer argument as vePointer accepts it. */
type VePointerArg = VeMemPtr | bigint | number;

/** Host memory veo-ts accepts: any TypedArray, DataView, Buffer or ArrayBuffer. */
export type HostBuffer = ArrayBufferView | ArrayBuffer;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Shared by a pointer and the pointers derived from it with `offset`. */
interface Block {
  freed: boolean;
}

/** A VE address owned by a proc. `size` 0 means "unknown" (symbols, derived addresses). */
export class VeMemPtr {
  /** The VE virtual address. */
  readonly addr: bigint;
  /** Bytes known to be valid from `addr` on (0 = unknown, not checked). */
  readonly size: number;
  /** The proc whose address space this is. */
  readonly proc: VeoProc;
  /** @internal */
  readonly _block: Block | undefined;
  /** @internal `addr` as handed to koffi: a Number when exact (koffi converts it faster). */
  readonly _a: bigint | number;

  /** @internal Use proc.allocMem, lib.getSymbol or VeMemPtr.offset. */
  constructor(proc: VeoProc, addr: bigint, size: number, block?: Block) {
    this.proc = proc;
    this.addr = addr;
    this._a = addr <= MAX_SAFE ? Number(addr) : addr;
    this.size = size;
    this._block = block;
  }

  /** True once proc.freeMem released this block (or the block it was derived from). */
  get freed(): boolean {
    return this._block !== undefined && this._block.freed;
  }

  /** A pointer `bytes` further into the same block (its size shrinks accordingly). */
  offset(bytes: number): VeMemPtr {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || (this.size > 0 && bytes > this.size)) {
      throw new RangeError(
        `Argument 0 (bytes) must be an integer in [0, ${this.size || "2**53"}], got ${describeValue(bytes)}`,
      );
    }
    const size = this.size > 0 ? this.size - bytes : 0;
    return new VeMemPtr(this.proc, this.addr + BigInt(bytes), size, this._block);
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** The address and size, for logs. */
  toString(): string {
    return `VeMemPtr(0x${this.addr.toString(16)}${this.size ? `, ${this.size} bytes` : ""})`;
  }
}

const VE_MEM_PTR = VeMemPtr.prototype;

/** @internal Marks a block freed (all pointers derived from it become unusable). */
export function markFreed(p: VeMemPtr): void {
  if (p._block) p._block.freed = true;
}

/** @internal A new owned block. */
export function newBlock(proc: VeoProc, addr: bigint, size: number): VeMemPtr {
  return new VeMemPtr(proc, addr, size, { freed: false });
}

/**
 * @internal Checks a VE pointer argument: a VeMemPtr of `proc` (not freed, not of a destroyed
 * proc), or a raw address as bigint or non-negative safe-integer number. Returns the address.
 */
export function vePointer(proc: VeoProc, v: unknown, label: string): bigint | number {
  // The usual case first, without `instanceof` (a generic builtin call from other modules):
  // a live VeMemPtr of this proc.
  if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === VE_MEM_PTR) {
    const p = v as VeMemPtr;
    if (p.proc === proc && !p.freed) return p._a;
  }
  if (v instanceof VeMemPtr) {
    if (v.proc !== proc) {
      if (v.proc.destroyed) throw new VeoClosedError(`${label} belongs to a destroyed proc`);
      throw new TypeError(`${label} is a VeMemPtr of another proc (node ${v.proc.nodeid})`);
    }
    if (v.freed) throw new VeoClosedError(`${label} (${String(v)}) was freed with freeMem`);
    return v._a;
  }
  if (typeof v === "bigint") {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`${label} must be a VE address in [0, 2**64-1], got ${v}n`);
    }
    return v;
  }
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `${label} must be a VE address (a non-negative safe integer, or a bigint), got ${v}`,
      );
    }
    return v;
  }
  throw new TypeError(
    `${label} must be a VE pointer (VeMemPtr, bigint or number), got ${describeValue(v)}` +
      (isHostBuffer(v) ? "; host buffers go through OnStack or writeMem" : ""),
  );
}

/** @internal */
export function isHostBuffer(v: unknown): v is HostBuffer {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

/** @internal Checks a host buffer argument and returns its byte length. */
export function hostBuffer(v: unknown, label: string): number {
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength;
  throw new TypeError(
    `${label} must be a host buffer (TypedArray, DataView, Buffer or ArrayBuffer), got ${describeValue(v)}`,
  );
}

/**
 * @internal Checks a byte count: a non-negative safe integer (number or bigint) no larger
 * than `max`. `undefined` means `dflt`.
 */
export function byteCount(v: unknown, label: string, max: number, maxWhat: string, dflt: number): number {
  if (v === undefined) return dflt;
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "bigint" && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(v);
  else if (typeof v === "bigint")
    throw new RangeError(`${label} must be a byte count in [0, 2**53-1], got ${v}n`);
  else throw new TypeError(`${label} must be a number of bytes, got ${describeValue(v)}`);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${label} must be a non-negative integer number of bytes, got ${n}`);
  }
  if (n > max) {
    throw new RangeError(`${label} (${n}) is larger than ${maxWhat} (${max} bytes)`);
  }
  return n;
}

/**
 * @internal The size check of a VE pointer's known extent (size 0 = unknown). `p` has passed
 * vePointer, so an object is a VeMemPtr.
 */
export function checkVeExtent(p: VePointerArg, size: number, label: string): void {
  if (typeof p === "object" && p.size > 0 && size > p.size) {
    throw new RangeError(`${label}: ${size} bytes exceed the ${p.size}-byte VE block ${String(p)}`);
  }
}
