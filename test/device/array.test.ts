/*
 * DeviceArray: upload, empty, toHost, write, fill, subarray, copyTo (also across devices),
 * free; and the typed errors of each.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DeviceArray, VeoClosedError, openDevice, type VeDevice } from "../../src/index.js";

let a0: VeDevice;
let a1: VeDevice;
beforeAll(async () => {
  [a0, a1] = await Promise.all([openDevice(0), openDevice(1)]);
});
afterAll(() => {
  a0?.close();
  a1?.close();
});

describe("DeviceArray", () => {
  it("upload / toHost round trip keeps dtype, length and data", async () => {
    const host = new Int16Array([1, -2, 3, -4, 5]);
    const d = await a0.upload(host);
    expect(d).toBeInstanceOf(DeviceArray);
    expect([d.dtype, d.length, d.byteLength, d.device]).toEqual(["int16", 5, 10, a0]);
    const back = await d.toHost();
    expect(back).toBeInstanceOf(Int16Array);
    expect([...back]).toEqual([1, -2, 3, -4, 5]);
    expect(back).not.toBe(host);
    const out = new Int16Array(5);
    expect(await d.toHost(out)).toBe(out);
    expect([...out]).toEqual([...host]);
    d.free();
  });

  it("write at an offset, fill, subarray views share the memory", async () => {
    const d = await a0.empty("float64", 6);
    await d.fill(1.5);
    await d.write(new Float64Array([7, 8]), 2);
    expect([...(await d.toHost())]).toEqual([1.5, 1.5, 7, 8, 1.5, 1.5]);
    const mid = d.subarray(2, 5);
    expect(mid.length).toBe(3);
    expect([...(await mid.toHost())]).toEqual([7, 8, 1.5]);
    await mid.fill(0);
    expect([...(await d.toHost())]).toEqual([1.5, 1.5, 0, 0, 0, 1.5]);
    expect(mid.ptr.addr).toBe(d.ptr.addr + 16n);
    expect(d.subarray(6).length).toBe(0);
    expect(() => mid.free()).toThrow(/subarray; free the array it was taken from/);
    d.free();
    expect(mid.freed).toBe(true);
    await expect(mid.toHost()).rejects.toThrow(VeoClosedError);
  });

  it("64-bit integer arrays fill with bigints, exactly", async () => {
    const d = await a0.empty("uint64", 3);
    await d.fill(2n ** 64n - 1n);
    expect([...(await d.toHost())]).toEqual([2n ** 64n - 1n, 2n ** 64n - 1n, 2n ** 64n - 1n]);
    await expect(d.fill(1)).rejects.toThrow(/must be a bigint, got 1/);
    await expect(d.fill(2n ** 64n)).rejects.toThrow(RangeError);
    d.free();
    const i8 = await a0.empty("int8", 2);
    await expect(i8.fill(300)).rejects.toThrow(/out of range: 300/);
    await expect(i8.fill(1.5)).rejects.toThrow(RangeError);
    await expect(i8.fill(1n)).rejects.toThrow(/must be a number/);
    i8.free();
  });

  it("copyTo on the same device and across devices", async () => {
    const src = await a0.upload(new Float32Array([1, 2, 3]));
    const same = await a0.empty("float32", 3);
    const there = await a1.empty("float32", 3);
    await src.copyTo(same);
    await src.copyTo(there);
    expect([...(await same.toHost())]).toEqual([1, 2, 3]);
    expect([...(await there.toHost())]).toEqual([1, 2, 3]);
    expect(there.device).toBe(a1);
    await expect(src.copyTo((await a1.empty("float64", 3)) as never)).rejects.toThrow(
      /dst is float64, this array float32/,
    );
    await expect(src.copyTo(await a1.empty("float32", 2))).rejects.toThrow(
      /dst has 2 elements, this array 3/,
    );
    await expect(src.copyTo(new Float32Array(3) as never)).rejects.toThrow(
      /Argument 0 \(dst\) of DeviceArray\.copyTo must be a DeviceArray/,
    );
    for (const x of [src, same, there]) x.free();
  });

  it("free is idempotent and returns the block to the pool", async () => {
    const before = a0.memory.stats();
    const d = await a0.empty("uint8", 100);
    expect(a0.memory.stats().inUse).toBe(before.inUse + 128);
    d.free();
    d.free();
    expect(a0.memory.stats().inUse).toBe(before.inUse);
    expect(d.freed).toBe(true);
    expect(() => d.ptr).toThrow(VeoClosedError);
    await expect(d.write(new Uint8Array(1))).rejects.toThrow(/the array was freed/);
  });

  it("bad arguments name themselves", async () => {
    await expect(a0.empty("double" as never, 1)).rejects.toThrow(
      /Argument 0 \(dtype\) of device\.empty must be one of/,
    );
    await expect(a0.empty("int8", -1)).rejects.toThrow(
      /Argument 1 \(length\) of device\.empty must be a non-negative integer, got -1/,
    );
    await expect(a0.empty("int8", 1.5)).rejects.toThrow(RangeError);
    await expect(a0.empty("int8", "3" as never)).rejects.toThrow(TypeError);
    await expect(a0.upload([1, 2] as never)).rejects.toThrow(
      /Argument 0 \(host\) of device\.upload must be a numeric TypedArray/,
    );
    await expect(a0.upload(new DataView(new ArrayBuffer(8)) as never)).rejects.toThrow(TypeError);
    const d = await a0.empty("int32", 4);
    await expect(d.write(new Float32Array(1) as never)).rejects.toThrow(
      /Argument 0 \(src\) of DeviceArray\.write must be a host array of int32, got a float32 array/,
    );
    await expect(d.write(new Int32Array(3), 2)).rejects.toThrow(
      /3 elements from offset 2 pass the end of the 4-element array/,
    );
    await expect(d.write(new Int32Array(1), -1)).rejects.toThrow(
      /Argument 1 \(offset\) of DeviceArray\.write must be an integer in \[0, 4\], got -1/,
    );
    await expect(d.toHost(new Int32Array(3))).rejects.toThrow(/has 3 elements, the array 4/);
    await expect(d.toHost(new Uint32Array(4) as never)).rejects.toThrow(TypeError);
    expect(() => d.subarray(3, 2)).toThrow(/end \(2\) is before begin \(3\)/);
    expect(() => d.subarray(0, 5)).toThrow(/Argument 1 \(end\) of DeviceArray\.subarray/);
    expect(() => d.subarray("1" as never)).toThrow(TypeError);
    d.free();
  });

  it("a hand-made DeviceArray (any length over a real block) is refused", async () => {
    const d = await a0.empty("float64", 2);
    const Ctor = DeviceArray as unknown as new (...a: unknown[]) => DeviceArray;
    const block = { ptr: d.ptr, freed: false, pins: 0, released: false };
    expect(() => new Ctor(a0, "float64", 1 << 30, block, 0, true)).toThrow(
      /^DeviceArray cannot be constructed directly/,
    );
    class Huge extends Ctor {}
    expect(
      () => new Huge(a0, "float64", 1 << 30, block, 0, true, Symbol("DeviceArray made by veo-ts")),
    ).toThrow(TypeError);
    expect(d.subarray(1).length).toBe(1); // veo-ts's own arrays still work
    expect(Array.from(await d.toHost())).toHaveLength(2);
    d.free();
  });

  it("arrays of a closed device are unusable, with VeoClosedError", async () => {
    const d = await openDevice(2);
    const arr = await d.upload(new Float64Array([1]));
    d.close();
    expect(arr.freed).toBe(true);
    await expect(arr.toHost()).rejects.toThrow(/device 2 is closed/);
    arr.free();
    await expect(d.empty("int8", 1)).rejects.toThrow(VeoClosedError);
    await expect(d.upload(new Int8Array(1))).rejects.toThrow(VeoClosedError);
  });
});
