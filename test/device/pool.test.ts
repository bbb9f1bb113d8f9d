/*
 * DevicePool over the emulator's 4 virtual nodes: results in input order, work spread over
 * every device, a node whose kernel segfaults rejecting only its own item while the others
 * finish the rest, a helper killed mid-run, and typed errors.
 */
import { afterEach, describe, expect, it } from "vitest";

import {
  DevicePool,
  DevicePoolError,
  VeoKernelException,
  VeoProcessDead,
  listDevices,
  openDevice,
  type PoolKernel,
} from "../../src/index.js";
import { DEVICE_KERNELS } from "./support.js";

let pool: DevicePool | undefined;
afterEach(() => {
  pool?.close();
  pool = undefined;
});

async function openPool(): Promise<{ pool: DevicePool; spin: PoolKernel; segv: PoolKernel }> {
  pool = await DevicePool.open({ nodes: [0, 1, 2, 3] });
  const mod = await pool.compile(DEVICE_KERNELS);
  return {
    pool,
    spin: await mod.kernel("long spin_item(long i, double ms)"),
    segv: await mod.kernel("long spin_or_segv(long i, double ms, long bad)"),
  };
}

describe("DevicePool", () => {
  it("opens every online node by default", async () => {
    pool = await DevicePool.open();
    expect(pool.devices.map((d) => d.node)).toEqual(listDevices().map((d) => d.node));
    expect(pool.alive.length).toBe(4);
  });

  it("run: results in input order, items spread over all four devices", async () => {
    const { pool: p, spin } = await openPool();
    const argsList = Array.from({ length: 24 }, (_, i) => [i, 2]);
    const seen = new Map<number, number>();
    const results = await p.map(argsList, async (args, slot) => {
      seen.set(slot.device.node, (seen.get(slot.device.node) ?? 0) + 1);
      expect(slot.context).toBe(0);
      return spin.on(slot.device).on(slot.context)(...args);
    });
    expect(results).toEqual(argsList.map(([i]) => BigInt(i * i)));
    expect([...seen.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(
      await p.run(spin, [
        [3, 0],
        [4, 0],
      ]),
    ).toEqual([9n, 16n]);
  });

  it("map keeps each item's data on its device", async () => {
    const { pool: p } = await openPool();
    const mod = await p.compile(DEVICE_KERNELS);
    const scale = await mod.kernel("void scale(double *a, long n, double f)");
    const out = await p.map([1, 2, 3, 4, 5, 6], async (v, slot) => {
      const arr = await slot.device.upload(new Float64Array([v, v]));
      await scale.on(slot.device)(arr, 2, 10);
      expect(arr.device).toBe(slot.device);
      const host = await arr.toHost();
      arr.free();
      return host[1];
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it("a node whose kernel segfaults rejects its item only (depth 1); the pool finishes the rest", async () => {
    const { pool: p, segv } = await openPool();
    const bad = 5;
    const results = await p.runSettled(
      segv,
      Array.from({ length: 20 }, (_, i) => [i, 3, bad]),
      { depth: 1 },
    );
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
    expect(failed).toEqual([bad]);
    expect((results[bad] as PromiseRejectedResult).reason).toBeInstanceOf(VeoKernelException);
    results.forEach((r, i) => {
      if (i !== bad) expect(r).toEqual({ status: "fulfilled", value: BigInt(i * i) });
    });
    expect(p.alive.length).toBe(3);
    const dead = p.devices.find((d) => d.isLost)!;
    expect((await dead.lost).reason).toBe("fault");
    // the pool goes on with the devices left
    expect(
      await p.run(segv, [
        [7, 0, -1],
        [8, 0, -1],
      ]),
    ).toEqual([49n, 64n]);
    await expect(p.run(segv, [[1, 0, 1]])).rejects.toBeInstanceOf(DevicePoolError);
  });

  it("with items queued behind the faulting one (depth 2), only that device's items reject", async () => {
    const { pool: p, segv } = await openPool();
    const bad = 6;
    const ranOn = new Map<number, number>();
    const results = await p.mapSettled(
      Array.from({ length: 24 }, (_, i) => i),
      (i, slot) => {
        ranOn.set(i, slot.device.node);
        return segv.on(slot.device)(i, 3, bad);
      },
    );
    const deadNode = ranOn.get(bad)!;
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
    expect(failed).toContain(bad);
    expect(failed.length).toBeLessThanOrEqual(2);
    for (const i of failed) expect(ranOn.get(i)).toBe(deadNode);
    results.forEach((r, i) => {
      if (!failed.includes(i)) expect(r).toEqual({ status: "fulfilled", value: BigInt(i * i) });
    });
    expect(p.alive.map((d) => d.node)).not.toContain(deadNode);
  });

  it("map rejects with DevicePoolError carrying every outcome", async () => {
    const { pool: p, segv } = await openPool();
    const err = await p
      .run(segv, [
        [0, 0, -1],
        [1, 0, 1],
        [2, 0, -1],
      ])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(DevicePoolError);
    const e = err as DevicePoolError;
    expect(e.results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(e.errors).toHaveLength(1);
    expect(e.message).toMatch(/1 of 3 pool items failed/);
  });

  it("a helper killed mid-run: its running item rejects, the others complete on the other nodes", async () => {
    const { pool: p, spin } = await openPool();
    const victim = p.devices[2];
    let killed = false;
    const ranOn = new Map<number, number>();
    const results = await p.mapSettled(
      Array.from({ length: 16 }, (_, i) => i),
      async (i, slot) => {
        ranOn.set(i, slot.device.node);
        const run = spin.on(slot.device)(i, slot.device === victim && !killed ? 10_000 : 5);
        if (slot.device === victim && !killed) {
          killed = true;
          await new Promise((r) => setTimeout(r, 300)); // let the kernel start
          process.kill((victim.proc as unknown as { _helperPid(): number })._helperPid(), "SIGKILL");
        }
        return run;
      },
    );
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(2); // the running item, and the one queued behind it
    for (const i of failed) {
      expect(ranOn.get(i)).toBe(victim.node);
      expect((results[i] as PromiseRejectedResult).reason).toBeInstanceOf(VeoProcessDead);
    }
    results.forEach((r, i) => {
      if (!failed.includes(i)) expect(r).toEqual({ status: "fulfilled", value: BigInt(i * i) });
    });
    expect(victim.isLost).toBe(true);
    expect((await victim.lost).reason).toBe("exited");
  });

  it("when every device is lost, the remaining items reject without hanging", async () => {
    const { pool: p, spin } = await openPool();
    for (const d of p.devices) d.close();
    const results = await p.runSettled(spin, [
      [1, 0],
      [2, 0],
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(VeoProcessDead);
    expect(String((results[0] as PromiseRejectedResult).reason.message)).toMatch(
      /no device of the pool is left/,
    );
  });

  it("uses every context of every device (contexts: 2, VE_OMP_NUM_THREADS=1)", async () => {
    const saved = process.env.VE_OMP_NUM_THREADS;
    process.env.VE_OMP_NUM_THREADS = "1";
    try {
      pool = await DevicePool.open({ nodes: [0, 1], contexts: 2 });
    } finally {
      if (saved === undefined) delete process.env.VE_OMP_NUM_THREADS;
      else process.env.VE_OMP_NUM_THREADS = saved;
    }
    const spin = await (await pool.compile(DEVICE_KERNELS)).kernel("long spin_item(long i, double ms)");
    const slots = new Set<string>();
    const out = await pool.map(
      Array.from({ length: 16 }, (_, i) => i),
      (i, slot) => {
        slots.add(`${slot.device.node}:${slot.context}`);
        return spin.on(slot.device).on(slot.context)(i, 2);
      },
    );
    expect(out).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i * i)));
    expect([...slots].sort()).toEqual(["0:0", "0:1", "1:0", "1:1"]);
  });

  it("bad arguments are typed errors naming them", async () => {
    expect(() => new DevicePool([])).toThrow(
      /Argument 0 \(devices\) of DevicePool must be a non-empty array/,
    );
    expect(() => new DevicePool([{}] as never)).toThrow(/element 0 is not a VeDevice/);
    const d = await openDevice(0);
    try {
      expect(() => new DevicePool([d, d])).toThrow(/lists a device twice/);
      const p = new DevicePool([d]);
      await expect(p.map(5 as never, () => 1)).rejects.toThrow(
        /Argument 0 \(inputs\) of pool\.map must be iterable/,
      );
      await expect(p.map([1], 5 as never)).rejects.toThrow(
        /Argument 1 \(fn\) of pool\.map must be a function/,
      );
      await expect(p.map([1], () => 1, { depth: 0 })).rejects.toThrow(
        /options\.depth of pool\.map must be an integer in \[1, 64\], got 0/,
      );
      await expect(p.map([1], () => 1, { depth: "2" as never })).rejects.toThrow(TypeError);
      await expect(p.map([1], () => 1, null as never)).rejects.toThrow(/Argument 2 \(options\) of pool\.map/);
      expect(await p.map([1, 2, 3], (x) => x * 2, { depth: 3 })).toEqual([2, 4, 6]);
      await expect(p.runSettled({} as never, [])).rejects.toThrow(
        /Argument 0 \(kernel\) of pool\.run must be a PoolKernel/,
      );
      const mod = await p.compile(DEVICE_KERNELS);
      const k = await mod.kernel("long spin_item(long i, double ms)");
      const r = await p.runSettled(k, [5 as never]);
      expect((r[0] as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
      await expect(DevicePool.open({ nodes: [] })).rejects.toThrow(/options\.nodes of DevicePool\.open/);
      await expect(DevicePool.open({ nodes: [0, 99] })).rejects.toThrow(/veo_proc_create\(99\) failed/);
      await expect(DevicePool.open(null as never)).rejects.toThrow(
        /Argument 0 \(options\) of DevicePool\.open/,
      );
    } finally {
      d.close();
    }
  });
});
