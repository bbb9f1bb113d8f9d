/*
 * Staging host arrays through the device's memory pool around kernel calls: a block per
 * host array (allocated first, which may wait), then a write before the call and a read
 * back after it for non-const pointers, all submitted at once on one context so its FIFO
 * order makes the kernel see the data and the host see the results. Blocks go back to
 * the pool only once every request using them has settled.
 */
import { VeoClosedError } from "../errors.js";
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
  /** Unpins the DeviceArray arguments (see DeviceArray._pin). */
  readonly unpin: Array<() => void>;
}

/**
 * In call order on context `ctx`: allocates the blocks (which may wait), then queues the
 * writes and, with `call`, the call (which it returns) and the reads back. On a failure
 * everything submitted settles and the blocks go back before the error is thrown.
 */
export async function submitStaged(
  device: VeDevice,
  ctx: number,
  sig: KernelSignature,
  m: Marshalled,
  what: string,
  call?: (s: Staged) => PromiseLike<unknown>,
): Promise<{ staged: Staged; call: PromiseLike<unknown> | undefined }> {
  // DeviceArray arguments stay pinned (free() waits) from here until the call settled.
  if (m.arrays.some((a) => a.freed)) throw new VeoClosedError(`${what}: a DeviceArray argument was freed`);
  const unpin = m.arrays.map((a) => a._pin());
  let s: Staged | undefined;
  let submitted: PromiseLike<unknown> | undefined;
  try {
    await device._serial(
      ctx,
      () => allocateBlocks(device, m),
      (blocks) => {
        s = staged(sig, m, blocks, unpin);
        device._checkOpen(what);
        stageIn(device, ctx, sig, m, s);
        if (call) {
          submitted = call(s);
          stageOut(device, ctx, s);
        }
      },
    );
  } catch (err) {
    if (s) await settleAndRelease(device, s, submitted).catch(() => undefined);
    else for (const u of unpin) u();
    device._noticeFailure(err);
    throw err;
  }
  return { staged: s!, call: submitted };
}

/** A pool block for every host array of `m` (may wait for memory; submits nothing). */
async function allocateBlocks(device: VeDevice, m: Marshalled): Promise<VeMemPtr[]> {
  const blocks: VeMemPtr[] = [];
  try {
    for (const [, host] of m.uploads) blocks.push(await device._allocate(host.byteLength));
  } catch (err) {
    if (!device.closed) for (const b of blocks) device.memory.release(b);
    throw err;
  }
  return blocks;
}

/** The call's arguments with host arrays replaced by `blocks` (nothing submitted yet). */
function staged(sig: KernelSignature, m: Marshalled, blocks: VeMemPtr[], unpin: Array<() => void>): Staged {
  const values = m.values.slice();
  const readbacks: Array<readonly [VeMemPtr, HostArray, string]> = [];
  m.uploads.forEach(([i, host], k) => {
    values[i] = blocks[k];
    if (sig.params[i].direction === "inout") readbacks.push([blocks[k], host, sig.params[i].name]);
  });
  return { values, blocks, readbacks, pending: [], unpin };
}

/** Queues the writes of every host array of `m` on context `ctx` (recorded in `s.pending`). */
function stageIn(device: VeDevice, ctx: number, sig: KernelSignature, m: Marshalled, s: Staged): void {
  m.uploads.forEach(([i, host], k) => {
    if (host.byteLength > 0) s.pending.push(device._submitWrite(ctx, s.blocks[k], host, sig.params[i].name));
  });
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
export async function settleAndRelease(
  device: VeDevice,
  s: Staged,
  extra?: PromiseLike<unknown>,
): Promise<unknown> {
  const all = extra === undefined ? s.pending : [...s.pending, extra];
  const outcomes = await Promise.allSettled(all);
  for (const b of s.blocks) {
    if (!device.closed) device.memory.release(b);
  }
  for (const unpin of s.unpin) unpin();
  // The call's own failure says most (a later read fails only because of it).
  const last = outcomes.at(-1);
  const failed =
    last?.status === "rejected"
      ? last
      : outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) {
    device._noticeFailure(failed.reason);
    throw failed.reason;
  }
  return last?.status === "fulfilled" ? last.value : undefined;
}
