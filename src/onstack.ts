/*
 * OnStack: a host buffer passed by reference to a kernel. VEO copies it onto the VE stack
 * for the call (IN), back into the buffer when the result is collected (OUT), or both
 * (INOUT). The request holds the buffer until it completes.
 */
import { describeValue } from "./ctypes.js";
import { Intent } from "./constants.js";
import { byteCount, hostBuffer, type HostBuffer } from "./memory.js";

/** How much of an OnStack buffer travels, and which way. */
export interface OnStackOptions {
  /** Bytes to transfer (default: the whole buffer); may be less than the buffer. */
  size?: number;
  /** Intent.IN (default), Intent.OUT or Intent.INOUT. */
  intent?: Intent;
}

/**
 * A host buffer passed by reference to a kernel (py-veo's `OnStack`): VEO copies it onto the
 * VE stack for the call and/or back after it, as `intent` says. Pass it where the kernel
 * takes a pointer; the request keeps the buffer until it completes.
 */
export class OnStack {
  /** The host memory that travels. */
  readonly buffer: HostBuffer;
  /** How many bytes of it travel. */
  readonly size: number;
  /** Which way it travels (Intent.IN, Intent.OUT or Intent.INOUT). */
  readonly intent: Intent;

  /**
   * @param buffer - any ArrayBufferView or ArrayBuffer
   * @param options - `size` (default: the whole buffer) and `intent` (default Intent.IN)
   * @throws TypeError or RangeError naming the bad argument
   */
  constructor(buffer: HostBuffer, options: OnStackOptions = {}) {
    const length = hostBuffer(buffer, "Argument 0 (buffer) of OnStack");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Argument 1 (options) of OnStack must be an object, got ${describeValue(options)}`);
    }
    this.buffer = buffer;
    this.size = byteCount(options.size, "options.size of OnStack", length, "the buffer", length);
    const intent = options.intent ?? Intent.IN;
    if (intent !== Intent.IN && intent !== Intent.OUT && intent !== Intent.INOUT) {
      throw new RangeError(
        `options.intent of OnStack must be Intent.IN (0), Intent.INOUT (1) or Intent.OUT (2), got ${describeValue(intent)}`,
      );
    }
    this.intent = intent;
  }
}
