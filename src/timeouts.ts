/*
 * Bounded waits: the `{ timeoutMs, signal }` options every wait takes, the errors a wait
 * gives up with (VeoTimeoutError, or the signal's reason / an "AbortError" DOMException as
 * fetch does), a promise race that cleans up its timer and listener, and a blocking nap that
 * sleeps instead of burning a core.
 */
import { ownOptions } from "./brand.js";
import { describeValue } from "./ctypes.js";
import { VeoTimeoutError } from "./errors.js";

/** How long a wait may take, and a signal that cancels it. */
export interface WaitOptions {
  /** Give up after this many milliseconds with VeoTimeoutError (default: no limit). */
  timeoutMs?: number;
  /** Give up when this signal aborts, with its reason (an "AbortError" DOMException by default). */
  signal?: AbortSignal;
}

/** Checks `options` of `where` (e.g. "wait"); returns them with a checked timeoutMs. */
export function checkWaitOptions(options: unknown, where: string): WaitOptions {
  // Own properties only: a polluted Object.prototype must not set a timeout.
  const { timeoutMs, signal } = ownOptions(
    options,
    ["timeoutMs", "signal"],
    `Argument 0 (options) of ${where}`,
  );
  checkTimeout(timeoutMs, `options.timeoutMs of ${where}`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal of ${where} must be an AbortSignal, got ${describeValue(signal)}`);
  }
  return { timeoutMs: timeoutMs as number | undefined, signal };
}

/** A timeout is a number of milliseconds >= 0 (Infinity: no limit). */
export function checkTimeout(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new (typeof value === "number" ? RangeError : TypeError)(
      `${name} must be a number of milliseconds >= 0, got ${describeValue(value)}`,
    );
  }
}

/** What an aborted wait throws: the signal's reason, else an "AbortError" as fetch throws. */
export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

/** The error of a wait on `what` that ran out of `timeoutMs`. */
export function timeoutError(what: string, timeoutMs: number): VeoTimeoutError {
  return new VeoTimeoutError(`${what} did not finish within ${timeoutMs} ms`, timeoutMs);
}

/**
 * Settles like `p`, unless `timeoutMs` runs out or `signal` aborts first. `p` itself is left
 * alone: a request raced here can still be awaited afterwards.
 */
export function raceWait<T>(p: PromiseLike<T>, options: WaitOptions, what: string): Promise<T> {
  const { timeoutMs, signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if ((timeoutMs === undefined || timeoutMs === Infinity) && signal === undefined) {
    return new Promise<T>((resolve, reject) => {
      p.then(resolve, reject);
    });
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      done();
      reject(abortError(signal as AbortSignal));
    };
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      timer = setTimeout(() => {
        done();
        reject(timeoutError(what, timeoutMs));
      }, timeoutMs);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}

/** The absolute deadline (performance.now() time) of a wait of `timeoutMs` from now. */
export function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
}

const napCell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the calling thread for `ms` (fractions allowed) without spinning. */
export function nap(ms: number): void {
  if (ms > 0) Atomics.wait(napCell, 0, 0, ms);
}

/**
 * Polls `done()` until it returns true or `deadline` passes: spins for the first 50 µs, then
 * sleeps between polls, 20 µs doubling up to 1 ms. Returns done()'s last answer.
 */
export function pollUntil(done: () => boolean, deadline: number): boolean {
  const start = performance.now();
  let sleep = 0.02;
  for (;;) {
    if (done()) return true;
    const now = performance.now();
    if (now >= deadline) return false;
    if (now - start > 0.05) {
      nap(Math.min(sleep, deadline - now));
      sleep = Math.min(sleep * 2, 1);
    }
  }
}
