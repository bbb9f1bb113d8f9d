/*
 * Staging host arrays through the device's memory pool around kernel calls: a block per
 * host array, a write before the call, a read back after it for non-const pointers, all
 * on one context so its FIFO order makes the kernel see the data and the host see the
 * results. Blocks go back to the pool only once every request using them has settled.
 */
import type { VeMemPtr } from "../memory.js";
import type { VeDevice } from "./device.js";
import type { HostArray } from "./dtype.js";
import type { Marshalled } from "./args.js";
import type { KernelSignature } from "./signature.js";

export interface Staged {
  /** The call's arguments, host arrays replaced by their blocks. */
  readonly values: unknown[];
  /** Pool blocks to release once everything settled. */
  readonly blocks: VeMemPtr[];
  /** Host arrays to read back after the call: [block, host array, parameter name]. */
  readonly readbacks: ReadonlyArray<readonly [VeMemPtr, HostArray, string]>;
  /** Requests submitted so far (the writes). */
  readonly pending: PromiseLike<unknown>[];
}

/** Allocates and writes every host array of `m` on context `ctx`. */
export function stageIn(device: VeDevice, ctx: number, sig: KernelSignature, m: Marshalled): Staged {
  const values = m.values.slice();
  const blocks: VeMemPtr[] = [];
  const readbacks: Array<readonly [VeMemPtr, HostArray, string]> = [];
  const pending: PromiseLike<unknown>[] = [];
  try {
    for (const [i, host] of m.uploads) {
      const block = device.memory.allocate(host.byteLength);
      blocks.push(block);
      values[i] = block;
      const name = sig.params[i].name;
      if (host.byteLength > 0) pending.push(device._submitWrite(ctx, block, host, name));
      if (sig.params[i].direction === "inout") readbacks.push([block, host, name]);
    }
  } catch (err) {
    void settleAndRelease(device, { values, blocks, readbacks, pending });
    throw err;
  }
  return { values, blocks, readbacks, pending };
}

/** Queues the reads back of non-const host arrays (after the call on the same context). */
export function stageOut(device: VeDevice, ctx: number, s: Staged): void {
  for (const [block, host, name] of s.readbacks) {
    if (host.byteLength > 0) s.pending.push(device._submitRead(ctx, host, block, name));
  }
}

/**
 * Waits for every request of `s` (and `extra`, the call), releases the blocks, and returns
 * the call's result; a failure (the call's first) is thrown once everything settled.
 */
export async function settleAndRelease(device: VeDevice, s: Staged, extra?: PromiseLike<unknown>): Promise<unknown> {
  const all = extra === undefined ? s.pending : [...s.pending, extra];
  const outcomes = await Promise.allSettled(all);
  for (const b of s.blocks) {
    if (!device.closed) device.memory.release(b);
  }
  // The call's own failure says most (a later read fails only because of it).
  const last = outcomes.at(-1);
  const failed = last?.status === "rejected" ? last : outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) {
    device._noticeFailure(failed.reason);
    throw failed.reason;
  }
  return last?.status === "fulfilled" ? last.value : undefined;
}
