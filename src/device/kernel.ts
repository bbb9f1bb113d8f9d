/*
 * DeviceKernel: a kernel of a loaded module, typed by its prototype and bound to its
 * device. `await kernel(...args)` runs it on the device's first context, `kernel.on(i)`
 * on context i; host arrays move by the prototype's pointer constness (args.ts,
 * staging.ts), DeviceArrays stay where they are.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- a kernel's result type comes from its
   prototype at run time, as VeoRequest's does (bigint, number or undefined) */
import { describeValue } from "../ctypes.js";
import type { VeoFunction } from "../function.js";
import { checkArgs } from "./args.js";
import type { VeDevice } from "./device.js";
import type { KernelSignature } from "./signature.js";
import { settleAndRelease, submitStaged } from "./staging.js";

/** A kernel of a DeviceModule, callable; host arrays move as its prototype says. */
export interface DeviceKernel {
  /** Runs the kernel on the device's first context; resolves with its result. */
  (...args: unknown[]): Promise<any>;
  /** The kernel's name. */
  readonly kernelName: string;
  /** The prototype it was declared with, parsed. */
  readonly signature: KernelSignature;
  /** The device it runs on. */
  readonly device: VeDevice;
  /** The object-model function underneath (its declared types are the prototype's). */
  readonly fn: VeoFunction;
  /** The same kernel, run on context `index` of the device. */
  on(index: number): (...args: unknown[]) => Promise<any>;
}

/** @internal Made by DeviceModule.kernel. */
export function newDeviceKernel(device: VeDevice, fn: VeoFunction, sig: KernelSignature): DeviceKernel {
  const run = (ctx: number, args: unknown[]): Promise<any> => runKernel(device, fn, sig, ctx, args);
  const k = ((...args: unknown[]) => run(0, args)) as DeviceKernel;
  Object.defineProperties(k, {
    kernelName: { value: sig.proto.name, enumerable: true },
    signature: { value: sig, enumerable: true },
    device: { value: device, enumerable: true },
    fn: { value: fn, enumerable: true },
    on: {
      value: (index: number) => {
        device._checkContext(index, `Argument 0 (index) of ${sig.proto.name}.on`);
        return (...args: unknown[]) => run(index, args);
      },
    },
    toString: { value: () => `DeviceKernel(${fn.signature} on node ${device.node})` },
  });
  return k;
}

/**
 * Checks, then (in call order on the context) allocates, writes, calls and reads back;
 * resolves once every transfer of the call is done.
 */
async function runKernel(
  device: VeDevice,
  fn: VeoFunction,
  sig: KernelSignature,
  ctx: number,
  args: unknown[],
): Promise<any> {
  device._checkOpen(sig.proto.name);
  const m = checkArgs(device, sig, args);
  const { staged, call } = await submitStaged(device, ctx, sig, m, sig.proto.name, (s) =>
    device._submitCall(ctx, fn, s.values),
  );
  return settleAndRelease(device, staged, call);
}

/** @internal For error messages. */
export function isDeviceKernel(v: unknown): v is DeviceKernel {
  return typeof v === "function" && "signature" in v && "fn" in v && "device" in v;
}

/** @internal */
export function describeKernel(v: unknown): string {
  return isDeviceKernel(v) ? v.toString() : describeValue(v);
}
