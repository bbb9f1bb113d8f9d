/*
 * The per-device memory pool: size classes, reuse instead of new allocations, stats,
 * the limit, trim, and release of foreign blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openDevice, type VeDevice } from "../../src/index.js";
import { sizeClass } from "../../src/device/memory-pool.js";

let dev: VeDevice;
beforeAll(async () => {
  dev = await openDevice(3, { memoryLimit: 1 << 20 });
});
afterAll(() => dev?.close());

describe("sizeClass", () => {
  it("rounds to powers of two (at least 64) up to 1 MiB, then to whole MiB", () => {
    expect([0, 1, 64, 65, 1000, 4096, 4097].map(sizeClass)).toEqual([64, 64, 64, 128, 1024, 4096, 8192]);
    expect(sizeClass((1 << 20) + 1)).toBe(2 << 20);
    expect(sizeClass(3 * (1 << 20) - 5)).toBe(3 << 20);
  });
});

describe("device.memory", () => {
  it("repeated uploads reuse cached blocks: one allocation, then reuses", async () => {
    const start = dev.memory.stats();
    for (let i = 0; i < 5; i++) {
      const a = await dev.upload(new Float64Array(100));
      a.free();
    }
    const s = dev.memory.stats();
    expect(s.allocations - start.allocations).toBe(1);
    expect(s.reuses - start.reuses).toBe(4);
    expect(s.inUse).toBe(0);
    expect(s.cached).toBe(1024);
    expect(s.peak).toBeGreaterThanOrEqual(1024);
    expect(s.limit).toBe(1 << 20);
  });

  it("the limit: a request past it is a RangeError; cached blocks are freed to make room", async () => {
    await dev.memory.trim();
    expect(dev.memory.stats().cached).toBe(0);
    const big = await dev.empty("uint8", 600_000); // class 1 MiB: the whole limit
    await expect(dev.empty("uint8", 1)).rejects.toThrow(
      /would pass the limit of 1048576 bytes \(1048576 in use\)/,
    );
    big.free();
    expect(dev.memory.stats().cached).toBe(1 << 20);
    const small = await dev.empty("uint8", 10); // needs room: the cached MiB block goes
    expect(dev.memory.stats()).toMatchObject({ inUse: 64, cached: 0 });
    small.free();
  });

  it("lowering the limit frees cached blocks at the next allocation; bad limits are typed errors", async () => {
    await dev.memory.trim();
    (await dev.empty("uint8", 4096)).free();
    expect(dev.memory.stats().cached).toBe(4096);
    dev.memory.limit = 128;
    expect(dev.memory.stats().cached).toBe(4096);
    (await dev.empty("uint8", 100)).free();
    expect(dev.memory.stats()).toMatchObject({ cached: 128, inUse: 0, limit: 128 });
    dev.memory.limit = 0;
    await expect(dev.empty("uint8", 1)).rejects.toThrow(RangeError);
    dev.memory.limit = Infinity;
    expect(() => (dev.memory.limit = -1)).toThrow(/memory\.limit must be a non-negative integer/);
    expect(() => (dev.memory.limit = "1" as never)).toThrow(TypeError);
    dev.memory.limit = 1 << 20;
  });

  it("release of a block the pool did not hand out is a TypeError", () => {
    const raw = dev.proc.allocMem(64);
    expect(() => dev.memory.release(raw)).toThrow(/is not a block of this device's pool/);
    dev.proc.freeMem(raw);
  });

  it("openDevice checks memoryLimit", async () => {
    await expect(openDevice(0, { memoryLimit: -5 })).rejects.toThrow(/options\.memoryLimit of openDevice/);
    await expect(openDevice(0, { memoryLimit: 1.5 })).rejects.toThrow(RangeError);
  });
});
