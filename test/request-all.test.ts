/*
 * VeoRequest.all: one promise for many requests, results in order; the first failure
 * rejects it and leaves the others collectable; bad input is a TypeError; it never blocks
 * the event loop while a request runs.
 */
import { describe, expect, expectTypeOf, it } from "vitest";

import { VeoClosedError, VeoKernelException, VeoProcessDead, VeoRequest } from "../src/index.js";
import { fileKernelProc, openKernelProc } from "./support/fixture.js";

process.env.VE_OMP_NUM_THREADS = "1";

const { proc, lib, ctx } = fileKernelProc();

describe("VeoRequest.all", () => {
  it("resolves with every result in the order given, typed per element", async () => {
    const addOne = lib.declare("int add_one(int x)");
    const idI64 = lib.declare("int64_t id_i64(int64_t x)");
    const half = lib.declare("float half_float(float x)");
    const nothing = lib.declare("void nothing(void)");
    const p = VeoRequest.all([addOne(ctx, 1), idI64(ctx, -5), half(ctx, 3), nothing(ctx)]);
    expectTypeOf(p).toEqualTypeOf<Promise<[number, bigint, number, undefined]>>();
    expect(await p).toEqual([2, -5n, 1.5, undefined]);

    const many = Array.from({ length: 5000 }, (_, i) => addOne(ctx, i));
    expectTypeOf(VeoRequest.all(many)).toEqualTypeOf<Promise<number[]>>();
    const got = await VeoRequest.all(many);
    expect(got).toHaveLength(5000);
    expect(got.every((v, i) => v === i + 1)).toBe(true);
    expect(many.every((r) => r.settled)).toBe(true);
  });

  it("mixes contexts and procs, settled and pending, repeated requests and other awaiters", async () => {
    const addOne = lib.declare("int add_one(int x)");
    const sleep = lib.declare("int do_sleep(int ms)");
    const ctx2 = proc.openContext();
    const other = openKernelProc();
    try {
      const oAdd = other.lib.declare("int add_one(int x)");
      const done = addOne(ctx, 10);
      done.wait();
      const slow = sleep(ctx2, 50);
      const mid = addOne(ctx, 20);
      const awaitedElsewhere = addOne(ctx, 30);
      const elsewhere = awaitedElsewhere.then((v) => v * 2);
      const reqs = [done, slow, mid, oAdd(other.ctx, 40), awaitedElsewhere, mid] as const;
      expect(await VeoRequest.all(reqs)).toEqual([11, 50, 21, 41, 31, 21]);
      expect(await elsewhere).toBe(62);
    } finally {
      ctx2.close();
      other.proc.destroy();
    }
  });

  it("accepts any iterable, and an empty one", async () => {
    const addOne = lib.declare("int add_one(int x)");
    expect(await VeoRequest.all([])).toEqual([]);
    expect(await VeoRequest.all(new Set([addOne(ctx, 1), addOne(ctx, 2)]))).toEqual([2, 3]);
    function* gen() {
      yield addOne(ctx, 3);
      yield addOne(ctx, 4);
    }
    expect(await VeoRequest.all(gen())).toEqual([4, 5]);
  });

  it("rejects with a TypeError naming the argument for anything but requests", async () => {
    const addOne = lib.declare("int add_one(int x)");
    // @ts-expect-error -- not an iterable
    await expect(VeoRequest.all(42)).rejects.toThrow(
      /Argument 0 \(reqs\) of VeoRequest\.all must be an iterable/,
    );
    // @ts-expect-error -- not an iterable
    await expect(VeoRequest.all(null)).rejects.toThrow(TypeError);
    const ok = addOne(ctx, 1);
    // @ts-expect-error -- a plain promise is not a VeoRequest
    await expect(VeoRequest.all([ok, Promise.resolve(1)])).rejects.toThrow(/element 1 must be a VeoRequest/);
    // @ts-expect-error -- nor is a string
    await expect(VeoRequest.all("ab")).rejects.toThrow(/element 0 must be a VeoRequest, got the string "a"/);
    expect(ok.wait()).toBe(2); // the valid one was left alone
  });

  it("rejects with the first failure in order; the others stay collectable, none goes unhandled", async () => {
    const k = openKernelProc();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const add = k.lib.declare("int add_one(int x)");
      const fpe = k.lib.declare("int fpe(int x)");
      const sleep = k.lib.declare("int do_sleep(int ms)");
      const before = add(k.ctx, 1);
      const held = sleep(k.ctx, 100); // everything below is submitted before the fault
      const bad = fpe(k.ctx, 0);
      const after = [add(k.ctx, 2), add(k.ctx, 3)];
      const err: unknown = await VeoRequest.all([before, held, bad, ...after]).then(
        () => "resolved",
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VeoKernelException);
      let badErr: unknown;
      try {
        bad.wait();
      } catch (e) {
        badErr = e;
      }
      expect(err).toBe(badErr);
      expect(before.wait()).toBe(2);
      expect(held.wait()).toBe(100);
      // The proc died with the fault: the later ones fail, each when it is collected.
      for (const r of after) expect(() => r.wait()).toThrow(VeoProcessDead);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      k.proc.destroy();
    }
  });

  it("rejects with VeoClosedError when the context closes while it waits", async () => {
    const ctx2 = proc.openContext();
    const sleep = lib.declare("int do_sleep(int ms)");
    // Within close()'s grace period (else close() kills the VE process, and this file's proc).
    const p = VeoRequest.all([sleep(ctx2, 1), sleep(ctx2, 400)]);
    setTimeout(() => ctx2.close(), 50);
    await expect(p).rejects.toThrow(VeoClosedError);
  });

  it("keeps the event loop turning while a request of the batch runs", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const addOne = lib.declare("int add_one(int x)");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const res = await VeoRequest.all([addOne(ctx, 1), sleep(ctx, 300), addOne(ctx, 2)]);
      expect(res).toEqual([2, 300, 3]);
    } finally {
      clearInterval(timer);
    }
    // 300 ms of kernel: a blocked loop would have seen no tick at all.
    expect(ticks).toBeGreaterThan(3);
  });
});
