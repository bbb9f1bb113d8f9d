/*
 * The pump's adaptive spinning: after spins that found nothing (a long kernel), awaits go
 * straight to the pool wait for a while. Whatever path they take, awaited requests still
 * settle with their own results and in submission order. (No timing is asserted.)
 */
import { describe, expect, it } from "vitest";

import { fileKernelProc } from "./support/fixture.js";

process.env.VE_OMP_NUM_THREADS = "1";

const { lib, ctx } = fileKernelProc();

describe("adaptive spinning", () => {
  it("after long kernels made the spins miss, short awaits still settle in order with their results", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const addOne = lib.declare("int add_one(int x)");
    const record = lib.declare("long record(long v)");
    const reset = lib.declare("void record_reset(void)");
    const len = lib.declare("long record_len(void)");
    const at = lib.declare("long record_at(long i)");
    // Each 5 ms kernel outlasts a whole spin: every one is a miss, the backoff grows.
    for (let i = 0; i < 6; i++) expect(await sleep(ctx, 5)).toBe(5);
    await reset(ctx);
    const order: number[] = [];
    const reqs = Array.from({ length: 200 }, (_, i) => record(ctx, i));
    const shorts = Array.from({ length: 50 }, (_, i) => addOne(ctx, i));
    // Awaited out of order: listeners are still told in submission order.
    const done = [...reqs].reverse().map((r) => r.then((v) => order.push(Number(v))));
    for (let i = 0; i < shorts.length; i++) expect(await shorts[i]).toBe(i + 1);
    await Promise.all(done);
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await len(ctx)).toBe(200n);
    expect(await at(ctx, 199)).toBe(199n);
    // And one at a time, each awaited alone after the misses.
    for (let i = 0; i < 100; i++) expect(await addOne(ctx, i)).toBe(i + 1);
  });
});
