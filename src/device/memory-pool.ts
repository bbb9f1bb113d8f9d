/*
 * The memory pool of one device: VE memory blocks in size classes, kept after release so
 * that repeated uploads of similar sizes do not pay a veo_alloc_mem each time. A limit
 * caps what the pool holds (in use + cached); cached blocks are freed first when a new
 * block would pass it, and when VEO runs out of memory. Everything goes with the proc.
 */
import { describeValue } from "../ctypes.js";
import { VeoFailedError } from "../errors.js";
import type { VeMemPtr } from "../memory.js";
import type { VeoProc } from "../proc.js";

/** Counters of a device's memory pool, in bytes unless said otherwise. */
export interface MemoryStats {
  /** Bytes of blocks handed out and not yet released (by size class). */
  inUse: number;
  /** Bytes of released blocks kept for reuse. */
  cached: number;
  /** The highest `inUse` so far. */
  peak: number;
  /** The cap on inUse + cached (Infinity: none). */
  limit: number;
  /** Blocks allocated from VEO (veo_alloc_mem calls). */
  allocations: number;
  /** Requests served from the cache. */
  reuses: number;
}

const MIN_CLASS = 64;
const MIB = 1 << 20;

/** The size class of a request: powers of two up to 1 MiB, then whole MiBs. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  if (bytes <= MIB) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / MIB) * MIB;
}

export function checkLimit(v: unknown, label: string): number {
  if (v === Infinity) return v;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw (typeof v === "number" ? RangeError : TypeError)(
      `${label} must be a non-negative integer number of bytes or Infinity, got ${describeValue(v)}`,
    );
  }
  return v;
}

/** A device's memory pool (device.memory): VE blocks by size class, kept for reuse, capped by `limit`. */
export class DeviceMemory {
  private readonly proc: VeoProc;
  private readonly idle: () => Promise<void>;
  private readonly free = new Map<number, VeMemPtr[]>();
  private readonly live = new Map<VeMemPtr, number>();
  private limitBytes: number;
  private inUse = 0;
  private cached = 0;
  private peak = 0;
  private allocations = 0;
  private reuses = 0;

  /** @internal Made by openDevice. */
  constructor(proc: VeoProc, limit: number, idle: () => Promise<void>) {
    this.proc = proc;
    this.idle = idle;
    this.limitBytes = limit;
  }

  /**
   * The cap on bytes in use + cached. Lowering it never takes blocks in use away; cached
   * blocks over it are freed at the next allocation (or trim()).
   */
  get limit(): number {
    return this.limitBytes;
  }

  /** Sets the cap: a non-negative integer of bytes, or Infinity (TypeError / RangeError otherwise). */
  set limit(v: number) {
    this.limitBytes = checkLimit(v, "memory.limit");
  }

  /** The pool's counters now (a snapshot). */
  stats(): MemoryStats {
    return {
      inUse: this.inUse,
      cached: this.cached,
      peak: this.peak,
      limit: this.limitBytes,
      allocations: this.allocations,
      reuses: this.reuses,
    };
  }

  /** @internal A cached block of `bytes`' size class, or undefined (never calls VEO). */
  takeCached(bytes: number): VeMemPtr | undefined {
    const cls = sizeClass(bytes);
    const reused = this.free.get(cls)?.pop();
    if (!reused) return undefined;
    this.cached -= cls;
    this.reuses++;
    return this.hand(reused, cls);
  }

  /**
   * @internal A block of at least `bytes` bytes: cached, or new from VEO (call it with the
   * main context idle). RangeError past the limit; VeoFailedError when VEO is out of memory.
   */
  allocate(bytes: number): VeMemPtr {
    const reused = this.takeCached(bytes);
    if (reused) return reused;
    const cls = sizeClass(bytes);
    if (this.inUse + cls > this.limitBytes) {
      throw new RangeError(
        `device ${this.proc.nodeid} memory: ${bytes} bytes (${cls} with rounding) would pass the limit of ` +
          `${this.limitBytes} bytes (${this.inUse} in use); raise device.memory.limit or free arrays`,
      );
    }
    this.shrinkTo(this.limitBytes - this.inUse - cls);
    let p: VeMemPtr;
    try {
      p = this.proc.allocMem(cls);
    } catch (err) {
      if (!(err instanceof VeoFailedError) || this.cached === 0) throw err;
      this.shrinkTo(0);
      p = this.proc.allocMem(cls);
    }
    this.allocations++;
    return this.hand(p, cls);
  }

  /** Takes a block back into the cache (no VEO call). TypeError for a block this pool did not hand out. */
  release(p: VeMemPtr): void {
    const cls = this.live.get(p);
    if (cls === undefined)
      throw new TypeError(`memory.release: ${describeValue(p)} is not a block of this device's pool`);
    this.live.delete(p);
    this.inUse -= cls;
    if (!alive(this.proc)) return;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(p);
    this.cached += cls;
  }

  /** Frees every cached block (blocks in use stay), once the main context is idle. */
  async trim(): Promise<void> {
    await this.idle();
    this.shrinkTo(0);
  }

  /** @internal The proc is gone: forget every block (its memory went with it). */
  _forget(): void {
    this.free.clear();
    this.live.clear();
    this.inUse = 0;
    this.cached = 0;
  }

  private hand(p: VeMemPtr, cls: number): VeMemPtr {
    this.live.set(p, cls);
    this.inUse += cls;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return p;
  }

  /** Frees cached blocks, largest first, until at most `keep` bytes stay cached. */
  private shrinkTo(keep: number): void {
    if (this.cached <= keep) return;
    const classes = [...this.free.keys()].sort((a, b) => b - a);
    for (const cls of classes) {
      const list = this.free.get(cls)!;
      while (list.length > 0 && this.cached > keep) {
        const p = list.pop()!;
        this.cached -= cls;
        if (alive(this.proc)) this.proc.freeMem(p);
      }
      if (list.length === 0) this.free.delete(cls);
    }
  }
}

function alive(proc: VeoProc): boolean {
  return !proc.destroyed && !proc.dead;
}
