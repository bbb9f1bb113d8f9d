/*
 * DeviceArray: typed data that lives in one device's memory (a block of its pool) and
 * never moves unless asked: upload/toHost/write/fill/copyTo are the only transfers, each
 * queued on the device's first context and awaited. A subarray is a view of the same block.
 * As a kernel argument it is passed as its VE address.
 */
import { describeValue } from "../ctypes.js";
import { VeoClosedError } from "../errors.js";
import type { VeMemPtr } from "../memory.js";
import { dtypeOf, itemSize, newHostArray, type DType, type HostArray, type HostArrayOf } from "./dtype.js";
import type { VeDevice } from "./device.js";

/** Shared by an array and its subarrays. */
interface Block {
  readonly ptr: VeMemPtr;
  freed: boolean;
  /** Requests in flight that use the block: free() returns it to the pool after the last. */
  pins: number;
  released: boolean;
}

/** Typed data in one device's memory; it moves only by upload, toHost, write, fill or copyTo. */
export class DeviceArray<D extends DType = DType> {
  /** The device whose memory holds the data. */
  readonly device: VeDevice;
  /** The element type. */
  readonly dtype: D;
  /** Elements. */
  readonly length: number;
  /** @internal */
  readonly _block: Block;
  /** @internal Bytes from the block's start. */
  readonly _offset: number;
  /** @internal False for subarrays (they cannot be freed themselves). */
  readonly _owner: boolean;

  /** @internal Use device.upload / device.empty / subarray. */
  constructor(device: VeDevice, dtype: D, length: number, block: Block, offset: number, owner: boolean) {
    this.device = device;
    this.dtype = dtype;
    this.length = length;
    this._block = block;
    this._offset = offset;
    this._owner = owner;
    // Its block, offset and length bound every transfer: none can be reassigned.
    Object.freeze(this);
  }

  /** length × bytes per element. */
  get byteLength(): number {
    return this.length * itemSize(this.dtype);
  }

  /** True once free() ran on the array (or the one it was taken from), or the device closed. */
  get freed(): boolean {
    return this._block.freed || this.device.closed;
  }

  /** The VE address of the first element (a VeMemPtr of the device's proc). */
  get ptr(): VeMemPtr {
    this._check("ptr");
    return this._block.ptr.offset(this._offset);
  }

  /** @internal */
  _check(what: string): void {
    if (this.device.closed)
      throw new VeoClosedError(`DeviceArray.${what}: device ${this.device.node} is closed`);
    if (this._block.freed) throw new VeoClosedError(`DeviceArray.${what}: the array was freed`);
  }

  /** Copies the data into a host array (a new one, or `out` of the same dtype and length). */
  async toHost(out?: HostArrayOf[D]): Promise<HostArrayOf[D]> {
    this._check("toHost");
    let dst: HostArrayOf[D];
    if (out === undefined) dst = newHostArray(this.dtype, this.length);
    else {
      checkHostArray(out, this.dtype, "Argument 0 (out) of DeviceArray.toHost");
      if (out.length !== this.length) {
        throw new RangeError(
          `Argument 0 (out) of DeviceArray.toHost has ${out.length} elements, the array ${this.length}`,
        );
      }
      dst = out;
    }
    if (this.length > 0) await pinned(this, () => this.device._read(0, dst, this.ptr, "toHost"));
    return dst;
  }

  /** Writes host data (same dtype) into the array, starting at element `offset`. */
  async write(src: HostArrayOf[D], offset = 0): Promise<void> {
    this._check("write");
    checkHostArray(src, this.dtype, "Argument 0 (src) of DeviceArray.write");
    checkIndex(offset, this.length, "Argument 1 (offset) of DeviceArray.write");
    if (offset + src.length > this.length) {
      throw new RangeError(
        `DeviceArray.write: ${src.length} elements from offset ${offset} pass the end of the ${this.length}-element array`,
      );
    }
    if (src.length > 0)
      await pinned(this, () =>
        this.device._write(0, this.ptr.offset(offset * itemSize(this.dtype)), src, "write"),
      );
  }

  /** Sets every element to `value` (a number, or a bigint for int64/uint64). */
  async fill(value: number | bigint): Promise<void> {
    this._check("fill");
    const big = this.dtype === "int64" || this.dtype === "uint64";
    const label = `Argument 0 (value) of DeviceArray.fill for ${this.dtype}`;
    if (typeof value !== (big ? "bigint" : "number")) {
      throw new TypeError(`${label} must be a ${big ? "bigint" : "number"}, got ${describeValue(value)}`);
    }
    const probe = newHostArray(this.dtype, 1) as { [i: number]: unknown };
    probe[0] = value;
    if (!this.dtype.startsWith("float") && probe[0] !== value) {
      throw new RangeError(`${label} is out of range: ${describeValue(value)}`);
    }
    const host = newHostArray(this.dtype, this.length) as { fill(v: unknown): unknown };
    host.fill(value);
    if (this.length > 0) await pinned(this, () => this.device._write(0, this.ptr, host as HostArray, "fill"));
  }

  /** A view of elements [begin, end) on the same device memory (no copy). */
  subarray(begin = 0, end = this.length): DeviceArray<D> {
    this._check("subarray");
    checkIndex(begin, this.length, "Argument 0 (begin) of DeviceArray.subarray");
    checkIndex(end, this.length, "Argument 1 (end) of DeviceArray.subarray");
    if (end < begin) throw new RangeError(`DeviceArray.subarray: end (${end}) is before begin (${begin})`);
    return new DeviceArray(
      this.device,
      this.dtype,
      end - begin,
      this._block,
      this._offset + begin * itemSize(this.dtype),
      false,
    );
  }

  /**
   * Copies the data into `dst` (same dtype and length), on this device or another: read
   * into host memory here, then written there.
   */
  async copyTo(dst: DeviceArray<D>): Promise<void> {
    this._check("copyTo");
    if (!(dst instanceof DeviceArray)) {
      throw new TypeError(
        `Argument 0 (dst) of DeviceArray.copyTo must be a DeviceArray, got ${describeValue(dst)}`,
      );
    }
    dst._check("copyTo");
    if (dst.dtype !== this.dtype)
      throw new TypeError(`DeviceArray.copyTo: dst is ${dst.dtype}, this array ${this.dtype}`);
    if (dst.length !== this.length) {
      throw new RangeError(`DeviceArray.copyTo: dst has ${dst.length} elements, this array ${this.length}`);
    }
    if (this.length === 0) return;
    const host = await this.toHost();
    await pinned(dst, () => dst.device._write(0, dst.ptr, host, "copyTo"));
  }

  /**
   * Returns the memory to the device's pool (once no pending request uses it). Idempotent;
   * subarrays cannot be freed themselves.
   */
  free(): void {
    if (!this._owner)
      throw new TypeError("DeviceArray.free: this is a subarray; free the array it was taken from");
    if (this._block.freed) return;
    this._block.freed = true;
    releaseIfDone(this.device, this._block);
  }

  /** @internal Marks the block in use by a request until the returned function is called. */
  _pin(): () => void {
    const b = this._block;
    b.pins++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      b.pins--;
      releaseIfDone(this.device, b);
    };
  }

  /** `DeviceArray(dtype[length] on node N)`, with ", freed" when so. */
  toString(): string {
    return `DeviceArray(${this.dtype}[${this.length}] on node ${this.device.node}${this.freed ? ", freed" : ""})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** @internal A new array over `ptr`, a pool block of `device`. */
export function newDeviceArray<D extends DType>(
  device: VeDevice,
  dtype: D,
  length: number,
  ptr: VeMemPtr,
): DeviceArray<D> {
  return new DeviceArray(device, dtype, length, { ptr, freed: false, pins: 0, released: false }, 0, true);
}

/** Runs `transfer` with `arr`'s block pinned. */
async function pinned(arr: DeviceArray, transfer: () => Promise<void>): Promise<void> {
  const unpin = arr._pin();
  try {
    await transfer();
  } finally {
    unpin();
  }
}

function releaseIfDone(device: VeDevice, b: Block): void {
  if (!b.freed || b.pins > 0 || b.released) return;
  b.released = true;
  if (!device.closed) device.memory.release(b.ptr);
}

function checkHostArray(v: unknown, dtype: DType, label: string): asserts v is HostArray {
  const d = dtypeOf(v);
  if (d !== dtype) {
    throw new TypeError(
      `${label} must be a host array of ${dtype}, got ${d === undefined ? describeValue(v) : `a ${d} array`}`,
    );
  }
}

function checkIndex(v: unknown, max: number, label: string): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw (typeof v === "number" ? RangeError : TypeError)(
      `${label} must be an integer in [0, ${max}], got ${describeValue(v)}`,
    );
  }
}
