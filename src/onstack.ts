/*
 * OnStack: a host buffer passed by reference to a kernel. VEO copies it onto the VE stack
 * for the call (IN), back into the buffer when the result is collected (OUT), or both
 * (INOUT). The request holds the buffer until it completes.
 */
import { describeValue } from "./ctypes.js";
import { Intent } from "./constants.js";
import { byteCount, hostBuffer, type HostBuffer } from "./memory.js";

export interface OnStackOptions {
  /** Bytes to transfer (default: the whole buffer); may be less than the buffer. */
  size?: number;
  /** Intent.IN (default), Intent.OUT or Intent.INOUT. */
  intent?: Intent;
}

export class OnStack {
  readonly buffer: HostBuffer;
  readonly size: number;
  readonly intent: Intent;

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
