/*
 * DevicePool: several devices, several contexts each, one queue of work items. Every
 * (device, context) slot keeps `depth` items in flight (default 2: the next one is queued
 * while the current one runs, so the VE does not wait for the host between items) and
 * takes the next item as soon as one finishes, so faster devices take more; results come
 * back in input order. A device that fails (its VE process dies, or it
 * is closed) rejects the items it was running and takes no more; the other devices go on
 * with the rest. An item that fails on a healthy device rejects alone.
 */
import { describeValue } from "../ctypes.js";
import { VeoProcessDead } from "../errors.js";
import type { SoOptions } from "../vebuild/index.js";
import type { VeDevice } from "./device.js";
import { openDevice, type OpenDeviceOptions } from "./open.js";
import type { DeviceKernel } from "./kernel.js";
import type { DeviceModule } from "./module.js";
import { listDevices } from "./list.js";

/** Where an item runs. */
export interface PoolSlot {
  /** The device that runs the item. */
  readonly device: VeDevice;
  /** The context index on that device (pass it to kernel.on). */
  readonly context: number;
  /** The item's index in the input. */
  readonly index: number;
}

/** Options of map, mapSettled, run and runSettled. */
export interface MapOptions {
  /** Items in flight per (device, context) slot, 1 … 64. Default 2. */
  depth?: number;
}

/** A module loaded on every device of a pool. */
export interface PoolModule {
  /** The module on each device. */
  readonly modules: ReadonlyMap<VeDevice, DeviceModule>;
  /** The kernel declared by `prototype` on every device. */
  kernel(prototype: string): Promise<PoolKernel>;
}

/** A kernel declared on every device of a pool. */
export interface PoolKernel {
  /** The kernel on each device. */
  readonly kernels: ReadonlyMap<VeDevice, DeviceKernel>;
  /** The kernel on `device`. */
  on(device: VeDevice): DeviceKernel;
}

/** Options of DevicePool.open(): openDevice's, for every device, and which nodes. */
export interface OpenPoolOptions extends OpenDeviceOptions {
  /** Nodes to open (default: every node listDevices() reports as online). */
  nodes?: readonly number[];
}

/** map()/run() rejected items: `results` has every item's outcome, in input order. */
export class DevicePoolError<R = unknown> extends AggregateError {
  /** Every item's outcome, in input order. */
  readonly results: PromiseSettledResult<R>[];

  /** `results`: every item's outcome, in input order (at least one rejected). */
  constructor(results: PromiseSettledResult<R>[]) {
    const reasons = results.flatMap((r): unknown[] => (r.status === "rejected" ? [r.reason] : []));
    const first = reasons[0];
    super(
      reasons,
      `${reasons.length} of ${results.length} pool items failed; the first: ${first instanceof Error ? first.message : String(first)}`,
    );
    this.name = "DevicePoolError";
    this.results = results;
  }
}

/** Several devices behind one queue of work items: map/run spread items over every (device, context) slot. */
export class DevicePool {
  /** Every device the pool was made with, lost ones included. */
  readonly devices: readonly VeDevice[];

  /** A pool over `devices` (at least one; each used with all its contexts). close() closes them. */
  constructor(devices: readonly VeDevice[]) {
    if (!Array.isArray(devices) || devices.length === 0) {
      throw new TypeError(
        `Argument 0 (devices) of DevicePool must be a non-empty array of VeDevice, got ${describeValue(devices)}`,
      );
    }
    devices.forEach((d, i) => {
      if (typeof d !== "object" || d === null || !("proc" in d) || !("memory" in d)) {
        throw new TypeError(
          `Argument 0 (devices) of DevicePool: element ${i} is not a VeDevice (${describeValue(d)})`,
        );
      }
    });
    if (new Set(devices).size !== devices.length)
      throw new TypeError("Argument 0 (devices) of DevicePool lists a device twice");
    this.devices = [...(devices as readonly VeDevice[])];
  }

  /** Opens `options.nodes` (default: every online node) and makes a pool of them. */
  static async open(options: OpenPoolOptions = {}): Promise<DevicePool> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Argument 0 (options) of DevicePool.open must be an object, got ${describeValue(options)}`,
      );
    }
    const { nodes: given, ...deviceOptions } = options;
    const nodes: unknown =
      given ??
      listDevices(deviceOptions.library === undefined ? {} : { library: deviceOptions.library })
        .filter((d) => d.state === "online")
        .map((d) => d.node);
    if (!Array.isArray(nodes) || nodes.length === 0) {
      throw new TypeError(
        `options.nodes of DevicePool.open must be a non-empty array of node numbers, got ${describeValue(nodes)}`,
      );
    }
    const opened = await Promise.allSettled((nodes as number[]).map((n) => openDevice(n, deviceOptions)));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed) {
      for (const o of opened) if (o.status === "fulfilled") o.value.close();
      throw failed.reason;
    }
    return new DevicePool(opened.map((o) => (o as PromiseFulfilledResult<VeDevice>).value));
  }

  /** The devices still usable. */
  get alive(): VeDevice[] {
    return this.devices.filter((d) => !d.isLost);
  }

  /** Loads a library on every live device. */
  async load(path: string): Promise<PoolModule> {
    const live = this.alive;
    const mods = await Promise.all(live.map((d) => d.load(path)));
    return poolModule(new Map(live.map((d, i) => [d, mods[i]])));
  }

  /** Builds `source` once (VeBuild caches it) and loads it on every live device. */
  async compile(source: string, options?: SoOptions): Promise<PoolModule> {
    const live = this.alive;
    const mods = await Promise.all(live.map((d) => d.compile(source, options)));
    return poolModule(new Map(live.map((d, i) => [d, mods[i]])));
  }

  /** Runs `fn(input, slot)` for every input; the outcomes in input order. */
  async mapSettled<T, R>(
    inputs: Iterable<T>,
    fn: (input: T, slot: PoolSlot) => R | PromiseLike<R>,
    options: MapOptions = {},
  ): Promise<PromiseSettledResult<R>[]> {
    if (
      inputs === null ||
      typeof (inputs as Partial<Iterable<T>> | undefined)?.[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(`Argument 0 (inputs) of pool.map must be iterable, got ${describeValue(inputs)}`);
    }
    if (typeof fn !== "function")
      throw new TypeError(`Argument 1 (fn) of pool.map must be a function, got ${describeValue(fn)}`);
    const depth = checkDepth(options);
    const items = [...inputs];
    const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
    let next = 0;
    const worker = async (device: VeDevice, context: number): Promise<void> => {
      while (next < items.length && !device.isLost) {
        const index = next++;
        try {
          results[index] = { status: "fulfilled", value: await fn(items[index], { device, context, index }) };
        } catch (reason) {
          results[index] = { status: "rejected", reason };
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (const d of this.alive) {
      for (let c = 0; c < d.contexts.length; c++) for (let k = 0; k < depth; k++) workers.push(worker(d, c));
    }
    await Promise.all(workers);
    for (let i = next; i < items.length; i++) {
      results[i] = {
        status: "rejected",
        reason: new VeoProcessDead(
          `pool item ${i}: no device of the pool is left (all ${this.devices.length} lost or closed)`,
        ),
      };
    }
    return results;
  }

  /** As mapSettled, resolving with the values; DevicePoolError (with every outcome) if any item failed. */
  async map<T, R>(
    inputs: Iterable<T>,
    fn: (input: T, slot: PoolSlot) => R | PromiseLike<R>,
    options?: MapOptions,
  ): Promise<R[]> {
    return values(await this.mapSettled(inputs, fn, options));
  }

  /** Runs `kernel` once per argument list, spread over the pool; outcomes in input order. */
  async runSettled(
    kernel: PoolKernel,
    argsList: Iterable<readonly unknown[]>,
    options?: MapOptions,
  ): Promise<PromiseSettledResult<unknown>[]> {
    if (
      typeof kernel !== "object" ||
      kernel === null ||
      typeof (kernel as Partial<PoolKernel>).on !== "function"
    ) {
      throw new TypeError(
        `Argument 0 (kernel) of pool.run must be a PoolKernel (pool module's kernel()), got ${describeValue(kernel)}`,
      );
    }
    return this.mapSettled(
      argsList,
      (args, slot) => {
        if (!Array.isArray(args))
          throw new TypeError(
            `pool.run: item ${slot.index} must be an array of kernel arguments, got ${describeValue(args)}`,
          );
        return kernel.on(slot.device).on(slot.context)(...(args as readonly unknown[]));
      },
      options,
    );
  }

  /** As runSettled, resolving with the results; DevicePoolError if any item failed. */
  async run(
    kernel: PoolKernel,
    argsList: Iterable<readonly unknown[]>,
    options?: MapOptions,
  ): Promise<unknown[]> {
    return values(await this.runSettled(kernel, argsList, options));
  }

  /** Closes every device. Idempotent. */
  close(): void {
    for (const d of this.devices) d.close();
  }

  /** close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function checkDepth(options: unknown): number {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Argument 2 (options) of pool.map must be an object, got ${describeValue(options)}`);
  }
  const depth = (options as MapOptions).depth ?? 2;
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 1 || depth > 64) {
    throw (typeof depth === "number" ? RangeError : TypeError)(
      `options.depth of pool.map must be an integer in [1, 64], got ${describeValue(depth)}`,
    );
  }
  return depth;
}

function values<R>(results: PromiseSettledResult<R>[]): R[] {
  if (results.some((r) => r.status === "rejected")) throw new DevicePoolError(results);
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

function poolModule(modules: Map<VeDevice, DeviceModule>): PoolModule {
  return {
    modules,
    async kernel(prototype: string): Promise<PoolKernel> {
      const entries = [...modules];
      const ks = await Promise.all(entries.map(([, m]) => m.kernel(prototype)));
      const kernels = new Map(entries.map(([d], i) => [d, ks[i]] as const));
      return {
        kernels,
        on(device: VeDevice): DeviceKernel {
          const k = kernels.get(device);
          if (!k) throw new TypeError(`PoolKernel.on: ${describeValue(device)} is not a device of this pool`);
          return k;
        },
      };
    },
  };
}
