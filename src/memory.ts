/*
 * VE memory pointers (VeMemPtr), the per-proc table of live blocks, and host buffers. A
 * VeMemPtr keeps its address, size and block in private fields (recognised by brand, not by
 * prototype), so a pointer of another proc, a freed block, a forged object or a transfer past
 * its end is caught before C. The block table lets freeMem/freeHmem refuse anything that is
 * not the start of a live block. Host memory is any ArrayBufferView or ArrayBuffer, passed to
 * C zero-copy and re-checked (detached, shrunk) at every call; a buffer a pending request
 * still uses is pinned (see holdHostBuffer).
 */
import { markAsUntransferable } from "node:worker_threads";

import { notGenuine } from "./brand.js";
import { brands } from "./slots.js";
import { describeValue } from "./ctypes.js";
import { VeoClosedError } from "./errors.js";
import type { VeoProc } from "./proc.js";

/** A VE pointer argument as vePointer accepts it. */
type VePointerArg = VeMemPtr | bigint | number;

/** Host memory veo-ts accepts: any TypedArray, DataView, Buffer or ArrayBuffer. */
export type HostBuffer = ArrayBufferView | ArrayBuffer;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** @internal What a block came from: allocMem (or an async alloc), allocHmem, or adoptMem. */
export type BlockKind = "mem" | "hmem" | "adopted";

/** @internal One live (or freed) VE allocation; shared by a pointer and its offsets. */
export interface Block {
  readonly addr: bigint;
  readonly size: number;
  readonly kind: BlockKind;
  freed: boolean;
}

/** Every Block veo-ts made (a VeMemPtr's constructor accepts no other). */
const blockSet = new WeakSet<Block>();

/** @internal The live blocks of every proc, keyed by their (untagged) VE address. */
const tables = new WeakMap<VeoProc, Map<bigint, Block>>();

/** Procs that ever had a block (for HMEM addresses, which name their proc by identifier). */
const procsWithBlocks = new Set<WeakRef<VeoProc>>();

/** @internal The proc's table of live blocks. */
export function blockTable(proc: VeoProc): Map<bigint, Block> {
  let t = tables.get(proc);
  if (t === undefined) {
    t = new Map();
    tables.set(proc, t);
    procsWithBlocks.add(new WeakRef(proc));
  }
  return t;
}

/**
 * @internal The live proc with VEO identifier `ident` among those that allocated memory
 * through veo-ts (`identOf` asks VEO; an HMEM address can only be one veo-ts allocated, or a
 * VeMemPtr's address tagged with setProcIdentifier, so no other proc matters).
 */
export function procWithIdentifier(ident: number, identOf: (p: VeoProc) => number): VeoProc | undefined {
  for (const ref of procsWithBlocks) {
    const p = ref.deref();
    if (p === undefined || p.destroyed) {
      procsWithBlocks.delete(ref);
      if (p !== undefined) tables.delete(p);
      continue;
    }
    if (!p.dead && identOf(p) === ident) return p;
  }
  return undefined;
}

let ptrBlock: (p: VeMemPtr) => Block | undefined;
let ptrSize: (p: VeMemPtr) => number;
let ptrProc: (p: VeMemPtr) => VeoProc;
let isPtr: (v: unknown) => v is VeMemPtr;
let livePtrOf: (proc: VeoProc, v: unknown) => number | bigint | undefined;

/** A VE address owned by a proc. `size` 0 means "unknown" (symbols, raw addresses). */
export class VeMemPtr {
  readonly #proc: VeoProc;
  readonly #addr: bigint;
  /** `addr` as handed to koffi: a Number when exact (koffi converts it faster). */
  readonly #a: bigint | number;
  readonly #size: number;
  readonly #block: Block | undefined;

  /** @internal Use proc.allocMem, proc.adoptMem, lib.getSymbol or VeMemPtr.offset. */
  constructor(proc: VeoProc, addr: bigint, size: number, block?: Block) {
    if (!brands.proc(proc)) {
      throw new TypeError(`Argument 0 (proc) of VeMemPtr must be a VeoProc, got ${describeValue(proc)}`);
    }
    if (typeof addr !== "bigint" || addr < 0n || addr > MAX_U64) {
      throw new TypeError(
        `Argument 1 (addr) of VeMemPtr must be a bigint in [0, 2**64-1], got ${describeValue(addr)}`,
      );
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TypeError(
        `Argument 2 (size) of VeMemPtr must be a non-negative safe integer, got ${describeValue(size)}`,
      );
    }
    if (block !== undefined && (typeof block !== "object" || !blockSet.has(block))) {
      throw new TypeError("Argument 3 of VeMemPtr is internal; use proc.allocMem or proc.adoptMem");
    }
    this.#proc = proc;
    this.#addr = addr;
    this.#a = addr <= MAX_SAFE ? Number(addr) : addr;
    this.#size = size;
    this.#block = block;
  }

  static {
    ptrBlock = (p) => p.#block;
    ptrSize = (p) => p.#size;
    ptrProc = (p) => p.#proc;
    isPtr = (v): v is VeMemPtr => typeof v === "object" && v !== null && #a in v;
    livePtrOf = (proc, v) => {
      if (typeof v !== "object" || v === null || !(#a in v)) return undefined;
      return v.#proc === proc && (v.#block === undefined || !v.#block.freed) ? v.#a : undefined;
    };
  }

  /** The VE virtual address. */
  get addr(): bigint {
    genuinePtr(this, "addr");
    return this.#addr;
  }

  /** Bytes known to be valid from `addr` on (0 = unknown, not checked). */
  get size(): number {
    genuinePtr(this, "size");
    return this.#size;
  }

  /** The proc whose address space this is. */
  get proc(): VeoProc {
    genuinePtr(this, "proc");
    return this.#proc;
  }

  /** @internal `addr` as handed to koffi (a Number when exact). */
  get _a(): bigint | number {
    return this.#a;
  }

  /** True once proc.freeMem released this block (or the block it was derived from). */
  get freed(): boolean {
    genuinePtr(this, "freed");
    return this.#block !== undefined && this.#block.freed;
  }

  /** A pointer `bytes` further into the same block (its size shrinks accordingly). */
  offset(bytes: number): VeMemPtr {
    genuinePtr(this, "offset");
    if (typeof bytes !== "number") {
      throw new TypeError(`Argument 0 (bytes) of offset must be a number, got ${describeValue(bytes)}`);
    }
    if (!Number.isSafeInteger(bytes) || bytes < 0 || (this.#block !== undefined && bytes > this.#size)) {
      throw new RangeError(
        `Argument 0 (bytes) of offset must be an integer in [0, ${this.#block !== undefined ? this.#size : "2**53-1"}], got ${describeValue(bytes)}`,
      );
    }
    if (this.#block?.freed) throw new VeoClosedError(`offset: ${String(this)} was freed`);
    const addr = this.#addr + BigInt(bytes);
    if (addr > MAX_U64)
      throw new RangeError(
        `Argument 0 (bytes) of offset: ${bytes} bytes past ${String(this)} leave the 64-bit address space`,
      );
    const size = this.#size > 0 ? this.#size - bytes : 0;
    return new VeMemPtr(this.#proc, addr, size, this.#block);
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** The address and size, for logs. */
  toString(): string {
    if (!isPtr(this)) return "VeMemPtr(forged)";
    return `VeMemPtr(0x${this.#addr.toString(16)}${this.#block !== undefined ? `, ${this.#size} bytes` : ""})`;
  }
}

Object.freeze(VeMemPtr.prototype);

/** Brand check of a VeMemPtr method's receiver. */
function genuinePtr(p: unknown, method: string): void {
  if (!isPtr(p)) throw notGenuine("VeMemPtr", method, "use proc.allocMem, proc.adoptMem or lib.getSymbol");
}

/** @internal True for a genuine VeMemPtr (made by veo-ts), whatever its prototype says. */
export function isVeMemPtr(v: unknown): v is VeMemPtr {
  return isPtr(v);
}

/** @internal The block a pointer was derived from (undefined for symbols and raw addresses). */
export function blockOf(p: VeMemPtr): Block | undefined {
  return ptrBlock(p);
}

/**
 * @internal Records a new live block of `proc` and returns its pointer. A block already
 * recorded at that address must have been freed on the VE side (the VE reused the address):
 * it is marked freed.
 */
export function newBlock(proc: VeoProc, addr: bigint, size: number, kind: BlockKind = "mem"): VeMemPtr {
  const table = blockTable(proc);
  const old = table.get(addr);
  if (old !== undefined) old.freed = true;
  const block: Block = { addr, size, kind, freed: false };
  blockSet.add(block);
  table.set(addr, block);
  return new VeMemPtr(proc, addr, size, block);
}

/** @internal Marks a block freed and drops it from its proc's table. */
export function releaseBlock(proc: VeoProc, block: Block): void {
  block.freed = true;
  const table = blockTable(proc);
  if (table.get(block.addr) === block) table.delete(block.addr);
}

/**
 * @internal Checks what a free function was given: a VeMemPtr at the start of a live block
 * of `kinds`, or a raw address that is one. Returns that block (not yet released). `0`/`0n`
 * (NULL) returns undefined: freeing NULL does nothing, as in C.
 */
export function liveBlock(
  proc: VeoProc,
  v: unknown,
  label: string,
  kinds: readonly BlockKind[],
  how: string,
): Block | undefined {
  let addr: bigint;
  if (isPtr(v)) {
    addr = BigInt(vePointer(proc, v, label));
    const block = ptrBlock(v);
    if (block === undefined) {
      throw new TypeError(
        `${label} (${String(v)}) is not memory from ${how} (a symbol or derived address); only a block's start can be freed`,
      );
    }
    if (addr !== block.addr) {
      throw new RangeError(
        `${label} (${String(v)}) points ${addr - block.addr} bytes into the block at 0x${block.addr.toString(16)}; pass the pointer ${how} returned`,
      );
    }
  } else if (typeof v === "bigint" || typeof v === "number") {
    addr = BigInt(vePointer(proc, v, label));
    if (addr === 0n) return undefined;
  } else {
    vePointer(proc, v, label); // throws the right TypeError
    throw new TypeError(`${label} must be a VE pointer, got ${describeValue(v)}`);
  }
  const block = blockTable(proc).get(addr);
  if (block === undefined || block.freed || !kinds.includes(block.kind)) {
    const other =
      block !== undefined && !block.freed
        ? ` (it is a live ${block.kind === "hmem" ? "allocHmem" : "allocMem"} block)`
        : "";
    throw new RangeError(
      `${label} (0x${addr.toString(16)}) is not the start of a live block from ${how} of this proc${other}: ` +
        "never allocated, already freed, or an interior/symbol address. Memory a kernel allocated " +
        "on the VE can be registered with proc.adoptMem(addr, size) first",
    );
  }
  return block;
}

/**
 * @internal The live block of `proc` that contains [addr, addr + size), or undefined. Exact
 * starts are one Map lookup; interior addresses scan the proc's blocks.
 */
export function blockContaining(proc: VeoProc, addr: bigint, size: number): Block | undefined {
  const table = blockTable(proc);
  const exact = table.get(addr);
  const fits = (b: Block): boolean =>
    !b.freed && addr >= b.addr && addr + BigInt(size) <= b.addr + BigInt(b.size);
  if (exact !== undefined) return fits(exact) ? exact : undefined;
  for (const b of table.values()) if (fits(b)) return b;
  return undefined;
}

/**
 * @internal Checks a VE pointer argument: a VeMemPtr of `proc` (not freed, not of a destroyed
 * proc), or a raw address as bigint or non-negative safe-integer number. Returns the address.
 */
export function vePointer(proc: VeoProc, v: unknown, label: string): bigint | number {
  const live = livePtrOf(proc, v);
  if (live !== undefined) return live;
  if (isPtr(v)) {
    const owner = ptrProc(v);
    if (owner !== proc) {
      if (owner.destroyed) throw new VeoClosedError(`${label} belongs to a destroyed proc`);
      throw new TypeError(`${label} is a VeMemPtr of another proc (node ${owner.nodeid})`);
    }
    throw new VeoClosedError(`${label} (${String(v)}) was freed with freeMem`);
  }
  if (typeof v === "bigint") {
    if (v < 0n || v > MAX_U64) {
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
  if (v instanceof VeMemPtr) {
    throw new TypeError(`${label} is not a genuine VeMemPtr (made with Object.create or a subclass trick?)`);
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

// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(view)
const typedArraySlice = (Object.getPrototypeOf(Uint8Array.prototype) as Uint8Array).slice;

/**
 * True when a host buffer of byteLength 0 cannot be used: its ArrayBuffer was detached
 * (transferred, structuredClone'd away), or it is a view that fell outside a shrunk resizable
 * ArrayBuffer. (A genuinely empty buffer is fine.)
 */
function unusableEmpty(v: HostBuffer): boolean {
  try {
    if (v instanceof ArrayBuffer) new Uint8Array(v);
    else if (!(v instanceof DataView)) typedArraySlice.call(v, 0, 0);
    return false;
  } catch {
    return true;
  }
}

function detachedError(label: string): TypeError {
  return new TypeError(
    `${label} is detached (its ArrayBuffer was transferred or structuredClone'd away) or lies outside its shrunk resizable ArrayBuffer`,
  );
}

/**
 * @internal Checks a host buffer argument and returns its current byte length; a detached
 * buffer (or a view out of bounds of its shrunk buffer) is a TypeError.
 */
export function hostBuffer(v: unknown, label: string): number {
  if (ArrayBuffer.isView(v)) {
    let n: number;
    try {
      n = v.byteLength; // a DataView over a detached buffer throws here
    } catch {
      throw detachedError(label);
    }
    if (n === 0 && unusableEmpty(v)) throw detachedError(label);
    return n;
  }
  if (v instanceof ArrayBuffer) {
    const n = v.byteLength;
    if (n === 0 && unusableEmpty(v)) throw detachedError(label);
    return n;
  }
  throw new TypeError(
    `${label} must be a host buffer (TypedArray, DataView, Buffer or ArrayBuffer), got ${describeValue(v)}`,
  );
}

/** The last ArrayBuffer pinned (a loop over one buffer skips the native call). */
let lastPinned: ArrayBufferLike | undefined;

/**
 * @internal Makes a host buffer safe to hand to a request that writes (or reads) it after the
 * call returns: its ArrayBuffer is marked untransferable (node:worker_threads), so
 * postMessage/structuredClone transfer lists copy it instead of detaching it (Node 20; newer
 * Node throws DataCloneError), and the request holds a reference until it completes. A
 * SharedArrayBuffer needs nothing (it is never detached, and only grows). A resizable
 * ArrayBuffer could shrink under the request: TypeError.
 */
export function holdHostBuffer(v: HostBuffer, label: string): void {
  const ab = ArrayBuffer.isView(v) ? v.buffer : v;
  if (ab === lastPinned) return;
  if (!(ab instanceof ArrayBuffer)) return; // SharedArrayBuffer
  if ((ab as { resizable?: boolean }).resizable === true) {
    throw new TypeError(
      `${label} is backed by a resizable ArrayBuffer, which could shrink before the request completes; ` +
        "use a fixed-length buffer for asynchronous transfers and OUT/INOUT stack arguments",
    );
  }
  // Marking again is cheap (≈ 30 ns); remembering marked buffers in a WeakSet cost more
  // (≈ 600 ns per new buffer, in the garbage collector's weak-entry work).
  markAsUntransferable(ab);
  lastPinned = ab;
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
 * @internal The size check of a VE pointer's known extent (blocks from allocMem/adoptMem;
 * symbols and raw addresses are not checked). `p` has passed vePointer.
 */
export function checkVeExtent(p: VePointerArg, size: number, label: string): void {
  if (typeof p === "object" && ptrBlock(p) !== undefined && size > ptrSize(p)) {
    throw new RangeError(`${label}: ${size} bytes exceed the ${ptrSize(p)}-byte VE block ${String(p)}`);
  }
}
