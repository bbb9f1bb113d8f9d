/*
 * OnStack: a host buffer passed by reference to a kernel. VEO copies it onto the VE stack
 * for the call (IN), back into the buffer when the result is collected (OUT), or both
 * (INOUT). Its state is private and fixed at construction; a call recognises a genuine
 * OnStack by its private field (not its prototype) and re-checks the buffer (detached,
 * shrunk) before anything reaches C. OUT/INOUT buffers are held (and pinned) until the
 * request completes.
 */
import { notGenuine, ownOptions } from "./brand.js";
import { describeValue } from "./ctypes.js";
import { Intent } from "./constants.js";
import { byteCount, holdHostBuffer, hostBuffer, type HostBuffer } from "./memory.js";

/** How much of an OnStack buffer travels, and which way. */
export interface OnStackOptions {
  /** Bytes to transfer (default: the whole buffer); may be less than the buffer. */
  size?: number;
  /** Intent.IN (default), Intent.OUT or Intent.INOUT. */
  intent?: Intent;
}

/**
 * The most stack-argument bytes one call may carry: the VEO documentation's limit ("63 MB",
 * taken as 63 MiB; the VE stack is 64 MiB and AVEO reserves 512 KiB below it). It counts
 * each stack buffer rounded up to 8 bytes plus the register save and parameter area
 * (176 + 8 bytes per argument), as AVEO lays the image out.
 */
export const STACK_ARGS_MAX = 63 * 1024 * 1024;

/** VE register save area below the parameters (AVEO's PARAM_AREA_OFFSET). */
const PARAM_AREA = 176;

let stackBuffer: (s: OnStack) => HostBuffer;
let stackSize: (s: OnStack) => number;
let stackIntent: (s: OnStack) => Intent;
let isOnStackImpl: (v: unknown) => v is OnStack;

/**
 * A host buffer passed by reference to a kernel (py-veo's `OnStack`): VEO copies it onto the
 * VE stack for the call and/or back after it, as `intent` says. Pass it where the kernel
 * takes a pointer; the request keeps the buffer until it completes.
 */
export class OnStack {
  readonly #buffer: HostBuffer;
  readonly #size: number;
  readonly #intent: Intent;

  /**
   * @param buffer - any ArrayBufferView or ArrayBuffer
   * @param options - `size` (default: the whole buffer) and `intent` (default Intent.IN)
   * @throws TypeError or RangeError naming the bad argument
   */
  constructor(buffer: HostBuffer, options?: OnStackOptions) {
    // Own properties only, each read once (a polluted Object.prototype changes nothing); the
    // buffer's length is read after them, so an option getter that detaches it is caught.
    const o = ownOptions(options, ["size", "intent"], "Argument 1 (options) of OnStack");
    const length = hostBuffer(buffer, "Argument 0 (buffer) of OnStack");
    const size = byteCount(o.size, "options.size of OnStack", length, "the buffer", length);
    if (size + PARAM_AREA + 8 > STACK_ARGS_MAX) {
      throw new RangeError(
        `options.size of OnStack (${size} bytes) exceeds the VE stack limit for stack arguments (${STACK_ARGS_MAX} bytes, 63 MiB); ` +
          "pass large data through allocMem and writeMem instead",
      );
    }
    const intent = o.intent ?? Intent.IN;
    if (intent !== Intent.IN && intent !== Intent.OUT && intent !== Intent.INOUT) {
      throw new RangeError(
        `options.intent of OnStack must be Intent.IN (0), Intent.INOUT (1) or Intent.OUT (2), got ${describeValue(intent)}`,
      );
    }
    this.#buffer = buffer;
    this.#size = size;
    this.#intent = intent;
  }

  static {
    stackBuffer = (s) => s.#buffer;
    stackSize = (s) => s.#size;
    stackIntent = (s) => s.#intent;
    isOnStackImpl = (v): v is OnStack => typeof v === "object" && v !== null && #buffer in v;
  }

  /** The host buffer. */
  get buffer(): HostBuffer {
    genuineStack(this, "buffer");
    return this.#buffer;
  }

  /** Bytes transferred (fixed at construction). */
  get size(): number {
    genuineStack(this, "size");
    return this.#size;
  }

  /** Intent.IN, Intent.OUT or Intent.INOUT. */
  get intent(): Intent {
    genuineStack(this, "intent");
    return this.#intent;
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** `OnStack(<size> bytes, <intent>)`. */
  toString(): string {
    if (!isOnStackImpl(this)) return "OnStack(forged)";
    const intent = this.#intent === Intent.IN ? "IN" : this.#intent === Intent.OUT ? "OUT" : "INOUT";
    return `OnStack(${this.#size} bytes, ${intent})`;
  }
}

Object.freeze(OnStack.prototype);

/** Brand check of an OnStack method's receiver. */
function genuineStack(s: unknown, method: string): void {
  if (!isOnStackImpl(s)) throw notGenuine("OnStack", method, "use new OnStack(buffer, options)");
}

/** @internal True for an OnStack made by its constructor (Object.create forgeries are not). */
export function isOnStack(v: unknown): v is OnStack {
  return isOnStackImpl(v);
}

/**
 * @internal Re-checks a genuine OnStack at call time: its buffer must still hold `size` bytes
 * (not detached, not shrunk), and for an asynchronous call an OUT/INOUT buffer (any buffer
 * with `pinIn`) is pinned for the request. Returns the
 * bytes it adds to the VE stack image. `label` names the argument (position, declared type).
 */
export function checkStackArg(s: OnStack, label: string, async: boolean, pinIn: boolean): number {
  const size = stackSize(s);
  const buffer = stackBuffer(s);
  const now = hostBuffer(buffer, `${label} (an OnStack)`);
  if (now < size) {
    throw new RangeError(
      `${label} (an OnStack of ${size} bytes) now has a buffer of only ${now} bytes (a resizable ArrayBuffer shrank)`,
    );
  }
  if (async && stackIntent(s) !== Intent.IN) {
    holdHostBuffer(buffer, `${label} (an OnStack with OUT/INOUT intent)`);
  } else if (async && pinIn) {
    holdHostBuffer(buffer, `${label} (an OnStack, read until completion by VEO 1.x)`);
  }
  return Math.ceil(size / 8) * 8;
}

/** @internal What C is given for a checked OnStack. */
export { stackBuffer, stackIntent, stackSize };

/** @internal The fixed part of a call's stack image: save area and one slot per argument. */
export function stackImageBase(nargs: number): number {
  return PARAM_AREA + 8 * nargs;
}
