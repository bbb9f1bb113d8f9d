/*
 * openContext({ stackSize }) on the "VE": the kernel thread of such a context really has that
 * stack (pthread_getattr_np in a kernel, and a kernel using most of it), a stack too small for
 * a kernel faults that proc only, and bad sizes are errors before or from C.
 */
import { afterAll, describe, expect, it } from "vitest";

import { VeoFailedError, VeoKernelException, VeoProc } from "../src/index.js";
import { kernel } from "./support/kernels.js";

process.env.VE_OMP_NUM_THREADS = "1";
const MiB = 1024 * 1024;
const proc = new VeoProc(0);
const lib = proc.loadLibrary(kernel("aveo"));
const stackSize = lib.declare("uint64_t ctx_stack_size(void)");
const stackUse = lib.declare("uint64_t ctx_stack_use(uint64_t bytes)");
proc.openContext(); // the main context; the ones below are threads of their own
afterAll(() => proc.destroy());

describe("openContext({ stackSize }) on the VE", () => {
  it("the context's kernel thread gets the stack asked for", async () => {
    for (const size of [4 * MiB, 24 * MiB, 200 * MiB, 16 * MiB + 1]) {
      const ctx = proc.openContext({ stackSize: size });
      try {
        const got = Number(await stackSize(ctx));
        // pthreads may round up to whole pages, never down.
        expect(got, `stackSize ${size}`).toBeGreaterThanOrEqual(size);
        expect(got - size, `stackSize ${size}`).toBeLessThan(64 * 1024);
      } finally {
        ctx.close();
      }
    }
  });

  it("a kernel may use most of it: 136 MiB of locals (more than the 128 MiB default) on 144 MiB", async () => {
    const ctx = proc.openContext({ stackSize: 144 * MiB });
    try {
      expect(await stackUse(ctx, 136 * MiB)).toBe(BigInt((136 * MiB) / 4096));
    } finally {
      ctx.close();
    }
  });

  it("the same kernel overflows a 4 MiB stack: SIGSEGV on that proc only", async () => {
    const other = new VeoProc(0);
    try {
      const f = other.loadLibrary(kernel("aveo")).declare("uint64_t ctx_stack_use(uint64_t bytes)");
      other.openContext();
      const small = other.openContext({ stackSize: 4 * MiB });
      const err: unknown = await f(small, 16 * MiB).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VeoKernelException);
      expect((err as VeoKernelException).signal).toBe(11);
      expect(other.dead).toBe(true);
    } finally {
      other.destroy();
    }
    // This proc is untouched.
    const ctx = proc.openContext({ stackSize: 8 * MiB });
    expect(Number(await stackSize(ctx))).toBeGreaterThanOrEqual(8 * MiB);
    ctx.close();
  });

  it("bad sizes: below 4 MiB or not an integer before C; one the VE cannot map from C", () => {
    const before = proc.contexts.length;
    for (const bad of [0, 4 * MiB - 1, -1, 1.5 * MiB, Number.NaN, 2 ** 53]) {
      expect(() => proc.openContext({ stackSize: bad }), String(bad)).toThrow(RangeError);
    }
    expect(() => proc.openContext({ stackSize: "8M" as never })).toThrow(/options.stackSize of openContext/);
    expect(() => proc.openContext({ stackSize: 8n * BigInt(MiB) } as never)).toThrow(/options.stackSize/);
    // 2**52 bytes (4 PiB) passes the checks but no VE thread can have it: a typed error, and
    // the proc carries on.
    expect(() => proc.openContext({ stackSize: 2 ** 52 })).toThrow(VeoFailedError);
    expect(proc.contexts.length).toBe(before);
    expect(proc.dead).toBe(false);
  });
});
