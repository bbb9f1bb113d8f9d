/*
 * The evaluator (XTC's, after TVM's time_evaluator): stage the arguments once, run the
 * kernel once untimed (and validate its outputs if asked), then `repeat` times run it
 * `number` times, doubling `number` until one repeat lasts at least `minRepeatMs`, and
 * record the time per run. Timed on the device by a generated timer (timer.ts) when one
 * can be built, else on the host around the queued calls (`measuredOn` says which).
 */
import { performance } from "node:perf_hooks";

import { describeValue } from "../ctypes.js";
import { VeoClosedError, VeoFailedError } from "../errors.js";
import type { VeoFunction } from "../function.js";
import { checkArgs } from "./args.js";
import type { VeDevice } from "./device.js";
import { DeviceArray } from "./array.js";
import type { HostArray } from "./dtype.js";
import { isDeviceKernel, describeKernel, type DeviceKernel } from "./kernel.js";
import { settleAndRelease, stageOut, submitStaged, type Staged } from "./staging.js";
import type { KernelSignature } from "./signature.js";
import { deviceTimer } from "./timer.js";

/** Options of device.evaluate(). */
export interface EvaluateOptions {
  /** Runs per repeat to start with (doubled until a repeat lasts minRepeatMs). Default 1. */
  number?: number;
  /** Timed repeats. Default 3. */
  repeat?: number;
  /** The shortest a repeat may last, in ms. Default 0 (no doubling). */
  minRepeatMs?: number;
  /** Untimed runs first (the first one is validated; with validate there is at least one). Default 1. */
  warmup?: number;
  /** Called with the kernel's non-const pointer arguments (as host arrays) after the first run. */
  validate?: (outputs: HostArray[]) => boolean;
  /** "device" (fail if no timer can be built), "host", or "auto" (default: device if possible). */
  timer?: "auto" | "device" | "host";
  /** The context to run on. Default 0. */
  context?: number;
}

/** What device.evaluate() measured. */
export interface EvaluateResult {
  /** Seconds per run, one entry per repeat. */
  times: number[];
  /** The smallest of `times`, in seconds. */
  min: number;
  /** The median of `times`, in seconds. */
  median: number;
  /** The mean of `times`, in seconds. */
  mean: number;
  /** Sample standard deviation of `times` (0 for one repeat). */
  stddev: number;
  /** Runs per repeat after doubling. */
  number: number;
  /** Timed repeats (the length of `times`). */
  repeat: number;
  /** "device": timed next to the kernel; "host": around the queued calls (offload latency included). */
  measuredOn: "device" | "host";
  /** Why the host timed it, when it did. */
  hostReason?: string;
  /** validate()'s answer, when given. */
  valid?: boolean;
}

/** No repeat runs a kernel more often than this (a guard against a kernel that takes no time). */
const MAX_NUMBER = 2 ** 32;
/** Host timing submits this many calls before it waits (bounded memory for large `number`). */
const HOST_BATCH = 4096;

function count(v: unknown, dflt: number, min: number, label: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > MAX_NUMBER) {
    throw (typeof v === "number" ? RangeError : TypeError)(
      `${label} must be an integer in [${min}, 2**32], got ${describeValue(v)}`,
    );
  }
  return v;
}

function checkOptions(
  device: VeDevice,
  o: unknown,
): Required<Omit<EvaluateOptions, "validate">> & Pick<EvaluateOptions, "validate"> {
  if (o === undefined) o = {};
  if (typeof o !== "object" || o === null)
    throw new TypeError(`Argument 2 (options) of evaluate must be an object, got ${describeValue(o)}`);
  const e = o as EvaluateOptions;
  const minRepeatMs = e.minRepeatMs ?? 0;
  if (typeof minRepeatMs !== "number" || !(minRepeatMs >= 0) || !Number.isFinite(minRepeatMs)) {
    throw (typeof minRepeatMs === "number" ? RangeError : TypeError)(
      `options.minRepeatMs of evaluate must be a finite number >= 0, got ${describeValue(minRepeatMs)}`,
    );
  }
  if (e.validate !== undefined && typeof e.validate !== "function") {
    throw new TypeError(`options.validate of evaluate must be a function, got ${describeValue(e.validate)}`);
  }
  const timer = e.timer ?? "auto";
  if (timer !== "auto" && timer !== "device" && timer !== "host") {
    throw new TypeError(
      `options.timer of evaluate must be "auto", "device" or "host", got ${describeValue(timer)}`,
    );
  }
  return {
    number: count(e.number, 1, 1, "options.number of evaluate"),
    repeat: count(e.repeat, 3, 1, "options.repeat of evaluate"),
    // validate() looks at the outputs of an untimed run: with it there is at least one.
    warmup: Math.max(count(e.warmup, 1, 0, "options.warmup of evaluate"), e.validate === undefined ? 0 : 1),
    minRepeatMs,
    validate: e.validate,
    timer,
    context: e.context === undefined ? 0 : device._checkContext(e.context, "options.context of evaluate"),
  };
}

/** device.evaluate(kernel, args, options). */
export async function evaluate(
  device: VeDevice,
  kernel: DeviceKernel,
  args: readonly unknown[],
  options?: EvaluateOptions,
): Promise<EvaluateResult> {
  device._checkOpen("evaluate");
  if (!isDeviceKernel(kernel))
    throw new TypeError(
      `Argument 0 (kernel) of evaluate must be a DeviceKernel, got ${describeKernel(kernel)}`,
    );
  if (kernel.device !== device)
    throw new TypeError(
      `Argument 0 (kernel) of evaluate belongs to node ${kernel.device.node}, not ${device.node}`,
    );
  if (!Array.isArray(args))
    throw new TypeError(
      `Argument 1 (args) of evaluate must be an array of kernel arguments, got ${describeValue(args)}`,
    );
  const o = checkOptions(device, options);
  if (kernel.fn.lib.closed) throw new VeoClosedError(`evaluate: ${kernel.kernelName}'s module was unloaded`);
  const sig = kernel.signature;
  const m = checkArgs(device, sig, args);

  let timer: VeoFunction | undefined;
  let hostReason: string | undefined;
  if (o.timer === "host") hostReason = 'options.timer is "host"';
  else {
    const t = await deviceTimer(device, sig, device.proc.veoLibrary.apiVersion < 7 ? 32 : 256);
    if (typeof t === "string") {
      if (o.timer === "device")
        throw new VeoFailedError("evaluate", `evaluate: options.timer is "device" but ${t}`);
      hostReason = t;
    } else timer = t;
  }

  const ctx = o.context;
  const { staged: st } = await submitStaged(device, ctx, sig, m, "evaluate");
  const fn = kernel.fn;
  const once = (): PromiseLike<unknown> => device._submitCall(ctx, fn, st.values);
  const runs = async (n: number): Promise<number> => {
    if (timer) {
      const ns = await device._submitCall(ctx, timer, [fn.addr, n, ...st.values]);
      return Number(ns) / 1e6;
    }
    const t0 = performance.now();
    for (let done = 0; done < n;) {
      const batch: PromiseLike<unknown>[] = [];
      for (let i = 0; i < HOST_BATCH && done < n; i++, done++) batch.push(once());
      await Promise.all(batch);
    }
    return performance.now() - t0;
  };

  let valid: boolean | undefined;
  const times: number[] = [];
  let number = o.number;
  try {
    await Promise.all(st.pending);
    for (let w = 0; w < o.warmup; w++) {
      await once();
      if (w === 0 && o.validate) valid = Boolean(o.validate(await outputs(device, ctx, sig, args, st)));
    }
    for (let r = 0; r < o.repeat; r++) {
      let ms = await runs(number);
      while (ms < o.minRepeatMs && number * 2 <= MAX_NUMBER) {
        number *= 2;
        ms = await runs(number);
      }
      times.push(ms / 1000 / number);
    }
  } catch (err) {
    device._noticeFailure(err);
    await settleAndRelease(device, st).catch(() => undefined);
    throw err;
  }
  stageOut(device, ctx, st);
  await settleAndRelease(device, st);
  return {
    ...summarize(times),
    number,
    repeat: o.repeat,
    measuredOn: timer ? "device" : "host",
    ...(hostReason ? { hostReason } : {}),
    ...(valid === undefined ? {} : { valid }),
  };
}

/** The non-const pointer arguments as host arrays, as they are on the device now. */
async function outputs(
  device: VeDevice,
  ctx: number,
  sig: KernelSignature,
  args: readonly unknown[],
  staged: Staged,
): Promise<HostArray[]> {
  const out: HostArray[] = [];
  for (let i = 0; i < args.length; i++) {
    if (sig.params[i].direction !== "inout") continue;
    const a = args[i];
    if (a instanceof DeviceArray) out.push((await a.toHost()) as HostArray);
    else {
      const rb = staged.readbacks.find(([, host]) => host === a);
      if (rb) {
        const [block, host] = rb;
        if (host.byteLength > 0) await device._read(ctx, host, block, "validate");
        out.push(host);
      }
    }
  }
  return out;
}

function summarize(times: number[]): Pick<EvaluateResult, "times" | "min" | "median" | "mean" | "stddev"> {
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = times.reduce((s, t) => s + t, 0) / n;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const stddev = n > 1 ? Math.sqrt(times.reduce((s, t) => s + (t - mean) ** 2, 0) / (n - 1)) : 0;
  return { times, min: sorted[0], median, mean, stddev };
}
