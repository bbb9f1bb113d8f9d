/*
 * Device kernels: host arrays move by the declared pointer constness (const in only,
 * non-const in and back out), DeviceArrays never move, transfers are ordered with the
 * call on its context, and every bad argument is a typed error naming it before anything
 * reaches the device.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  OnStack,
  VeoClosedError,
  VeoKernelException,
  type DeviceModule,
  type VeDevice,
} from "../../src/index.js";
import { openTestDevice } from "./support.js";

let device: VeDevice;
let module: DeviceModule;
beforeAll(async () => {
  ({ device, module } = await openTestDevice(0));
});
afterAll(() => device?.close());

describe("automatic transfers", () => {
  it("T * is copied in and back out: await sees the result in the host array", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    const a = new Float64Array([1, 2, 3, 4]);
    await scale(a, 4, 2.5);
    expect([...a]).toEqual([2.5, 5, 7.5, 10]);
  });

  it("const T * is copied in only: a kernel writing through it changes nothing on the host", async () => {
    const scribble = await module.kernel("long scribble(const double *a, long n)");
    const a = new Float64Array([1, 2, 3]);
    expect(await scribble(a, 3)).toBe(3n);
    expect([...a]).toEqual([1, 2, 3]);
  });

  it("the same kernel declared with T * does copy back (constness is what decides)", async () => {
    const lib = module.library;
    const other = await device.compile(
      "long scribble2(double *a, long n) { for (long i = 0; i < n; i++) a[i] = -1; return n; }",
    );
    const k = await other.kernel("long scribble2(double *a, long n)");
    const a = new Float64Array([1, 2, 3]);
    await k(a, 3);
    expect([...a]).toEqual([-1, -1, -1]);
    expect(lib.closed).toBe(false);
  });

  it("mixes DeviceArrays, host arrays and scalars; the DeviceArray stays on the device", async () => {
    const axpy = await module.kernel("void axpy(long n, double a, const double *x, double *y)");
    const x = new Float64Array([1, 2, 3]);
    const y = await device.upload(new Float64Array([10, 20, 30]));
    await axpy(3, 2, x, y);
    expect([...(await y.toHost())]).toEqual([12, 24, 36]);
    const yh = new Float64Array([1, 1, 1]);
    const dx = await device.upload(x);
    await axpy(3, -1, dx, yh);
    expect([...yh]).toEqual([0, -1, -2]);
    y.free();
    dx.free();
  });

  it("results of other types, int64 and float32 arrays", async () => {
    const sum = await module.kernel("long sum_i64(const int64_t *a, long n)");
    expect(await sum(new BigInt64Array([1n, 2n, 2n ** 40n]), 3)).toBe(3n + 2n ** 40n);
    const fsum = await module.kernel("float fsum(const float *a, long n)");
    expect(await fsum(new Float32Array([0.5, 0.25]), 2)).toBe(0.75);
    const iota = await module.kernel("void iota_i32(int32_t *a, long n, int32_t first)");
    const a = new Int32Array(5);
    await iota(a, 5, 7);
    expect([...a]).toEqual([7, 8, 9, 10, 11]);
  });

  it("empty host arrays, null, OnStack and raw VE pointers pass", async () => {
    const dot = await module.kernel("double dot(const double *a, const double *b, long n)");
    expect(await dot(new Float64Array(0), new Float64Array(0), 0)).toBe(0);
    const b = new Float64Array([3, 4]);
    expect(await dot(new OnStack(b), b, 2)).toBe(25);
    const db = await device.upload(b);
    expect(await dot(db.ptr, db.ptr.addr, 2)).toBe(25);
    db.free();
    const first = await module.kernel("long first_of(double **pp)");
    expect(await first(null)).toBe(0n);
  });

  it("kernels on several contexts of one device (VE_OMP_NUM_THREADS=1, a VEO rule)", async () => {
    const saved = process.env.VE_OMP_NUM_THREADS;
    delete process.env.VE_OMP_NUM_THREADS;
    await expect(openTestDevice(1, { contexts: 2 })).rejects.toThrow(/VE_OMP_NUM_THREADS=1/);
    process.env.VE_OMP_NUM_THREADS = "1";
    const multi = await openTestDevice(1, { contexts: 2 }).finally(() => {
      if (saved === undefined) delete process.env.VE_OMP_NUM_THREADS;
      else process.env.VE_OMP_NUM_THREADS = saved;
    });
    try {
      const scale = await multi.module.kernel("void scale(double *a, long n, double f)");
      const a = new Float64Array([1, 2]);
      const b = new Float64Array([1, 2]);
      await Promise.all([scale.on(0)(a, 2, 3), scale.on(1)(b, 2, 5)]);
      expect([...a, ...b]).toEqual([3, 6, 5, 10]);
      expect(() => scale.on(2)).toThrow(
        /Argument 0 \(index\) of scale\.on must be a context index in \[0, 1\], got 2/,
      );
      expect(() => scale.on("0" as never)).toThrow(TypeError);
    } finally {
      multi.device.close();
    }
  });
});

describe("bad arguments are typed errors naming the argument, and nothing runs", () => {
  it("wrong count, wrong dtype, wrong device, freed arrays, strings", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    await expect(scale(new Float64Array(1), 1)).rejects.toThrow(/scale takes 3 arguments .*got 2/);
    await expect(scale(new Float32Array(1), 1, 1)).rejects.toThrow(
      /Argument 1 \(a: double \*\) of scale must be a host array of float64, got a float32 array/,
    );
    await expect(scale(new Float64Array(1), "1", 1)).rejects.toThrow(/Argument 2 \(n: long\) of scale/);
    await expect(scale(new Float64Array(1), 1, 1n)).rejects.toThrow(
      /Argument 3 \(f: double\) of scale must be a number/,
    );
    await expect(scale(new Float64Array(1), 2 ** 64, 1)).rejects.toThrow(RangeError);
    await expect(scale("abc", 1, 1)).rejects.toThrow(
      /Argument 1 \(a: double \*\) of scale must be a DeviceArray, a host TypedArray, a VE pointer or null, got the string "abc"/,
    );
    await expect(scale({}, 1, 1)).rejects.toThrow(TypeError);
    const i32 = await device.empty("int32", 2);
    await expect(scale(i32, 2, 1)).rejects.toThrow(/must hold float64, got a DeviceArray of int32/);
    i32.free();
    const gone = await device.empty("float64", 2);
    gone.free();
    await expect(scale(gone, 2, 1)).rejects.toThrow(VeoClosedError);
    const first = await module.kernel("long first_of(double **pp)");
    await expect(first(new Float64Array(1))).rejects.toThrow(/pointer to pointers/);
    expect(device.memory.stats().inUse).toBe(0);
  });

  it("a DeviceArray of another device", async () => {
    const other = await openTestDevice(2);
    try {
      const foreign = await other.device.upload(new Float64Array([1]));
      const scale = await module.kernel("void scale(double *a, long n, double f)");
      await expect(scale(foreign, 1, 2)).rejects.toThrow(
        /Argument 1 \(a: double \*\) of scale is a DeviceArray of node 2, not of node 0; copy it with copyTo first/,
      );
    } finally {
      other.device.close();
    }
  });

  it("module.kernel: bad prototypes, unknown kernels, one prototype per name", async () => {
    await expect(module.kernel(7 as never)).rejects.toThrow(
      /Argument 0 \(prototype\) of module\.kernel must be a C prototype/,
    );
    await expect(module.kernel("void no_such_kernel(void)")).rejects.toThrow(/no_such_kernel/);
    const k = await module.kernel("double dot(const double *a, const double *b, long n)");
    expect(await module.kernel("double dot(const double *a, const double *b, long n)")).toBe(k);
    await expect(module.kernel("double dot(double *a, double *b, long n)")).rejects.toThrow(
      /dot is already declared/,
    );
    expect(k.kernelName).toBe("dot");
    expect(k.device).toBe(device);
    expect(String(k)).toMatch(/DeviceKernel\(double dot\(double \*a, double \*b, long n\) on node 0\)/);
  });
});

describe("a kernel that faults", () => {
  it("rejects with VeoKernelException, its host arrays untouched, and device.lost says fault", async () => {
    const d = await openTestDevice(3);
    try {
      const k = await d.module.kernel("long spin_or_segv(long i, double ms, long bad)");
      const scale = await d.module.kernel("void scale(double *a, long n, double f)");
      const a = new Float64Array([1, 2]);
      const pending = scale(a, 2, 10);
      await expect(k(1, 0, 1)).rejects.toBeInstanceOf(VeoKernelException);
      await pending;
      expect([...a]).toEqual([10, 20]);
      const lost = await d.device.lost;
      expect(lost.reason).toBe("fault");
      expect(lost.signal).toBe(11);
      expect(d.device.isLost).toBe(true);
      await expect(scale(a, 2, 10)).rejects.toThrow(/dead/);
    } finally {
      d.device.close();
    }
  });
});

describe("order on a context", () => {
  it("calls and DeviceArray transfers are submitted in call order, even when a call waits for memory", async () => {
    const d = await openTestDevice(2);
    try {
      const scale = await d.module.kernel("void scale(double *a, long n, double f)");
      const arr = await d.device.upload(new Float64Array([1, 2]));
      await d.device.memory.trim(); // the next host-array call must allocate, and so wait
      const host = new Float64Array([5, 5]);
      const spin = await d.module.kernel("long spin_item(long i, double ms)");
      const busy = spin(0, 200); // keeps context 0 (the main context) busy
      const call = scale(host, 2, 2); // waits for memory behind `busy`
      const scaled = scale(arr, 2, 10); // no memory needed, but queued after `call`
      const read = arr.toHost(); // after both calls
      await Promise.all([busy, call, scaled]);
      expect([...(await read)]).toEqual([10, 20]);
      expect([...host]).toEqual([10, 10]);
      arr.free();
    } finally {
      d.device.close();
    }
  });
});

describe("a DeviceArray freed while a call uses it", () => {
  it("goes back to the pool only once the call settled", async () => {
    const spin = await module.kernel("long spin_item(long i, double ms)");
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    await device.memory.trim();
    const arr = await device.upload(new Float64Array([1, 2]));
    (await device.upload(new Float64Array(2))).free();
    expect(device.memory.stats()).toMatchObject({ inUse: 64, cached: 64 });
    const busy = spin(0, 200); // the call below stays queued behind this one
    const call = scale(arr, 2, 10);
    arr.free();
    expect(arr.freed).toBe(true);
    // still held by the pending call: a new upload cannot be handed its memory
    expect(device.memory.stats()).toMatchObject({ inUse: 64, cached: 64 });
    await Promise.all([busy, call]);
    expect(device.memory.stats()).toMatchObject({ inUse: 0, cached: 128 });
    await expect(scale(arr, 2, 1)).rejects.toThrow(VeoClosedError);
    await expect(arr.toHost()).rejects.toThrow(/the array was freed/);
  });
});
