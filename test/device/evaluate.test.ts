/*
 * The evaluator: XTC's doubling loop, device-side timing through a generated timer (also
 * for a kernel of a prebuilt library), host timing when asked, validate(), statistics,
 * and typed errors for bad options.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { VeoFailedError, type DeviceModule, type VeDevice } from "../../src/index.js";
import { parseSignature } from "../../src/device/signature.js";
import { timerSource } from "../../src/device/timer.js";
import { kernel, WIDE_ARGS } from "../support/kernels.js";
import { openTestDevice } from "./support.js";

let device: VeDevice;
let module: DeviceModule;
beforeAll(async () => {
  ({ device, module } = await openTestDevice(2));
});
afterAll(() => device?.close());

describe("timerSource", () => {
  it("calls the kernel by address with its declared types, pointers as void *", () => {
    const { name, source } = timerSource(
      parseSignature("float f(const double *a, unsigned char c, int8_t d, float e)", "p"),
    );
    expect(name).toMatch(/^veots_timeit_[0-9a-f]{12}$/);
    expect(source).toContain(
      `uint64_t ${name}(uint64_t fn, uint64_t number, void * a0, unsigned char a1, int8_t a2, float a3)`,
    );
    expect(source).toContain(
      "((float (*)(void *, unsigned char, int8_t, float))(uintptr_t)fn)(a0, a1, a2, a3)",
    );
    const empty = timerSource(parseSignature("void g(void)", "p"));
    expect(empty.source).toContain("((void (*)(void))(uintptr_t)fn)()");
    expect(empty.name).not.toBe(name);
  });
});

describe("device.evaluate", () => {
  it("times a kernel on the device: per-run seconds, stats, doubling until minRepeatMs", async () => {
    const spin = await module.kernel("long spin_item(long i, double ms)");
    const r = await device.evaluate(spin, [1, 0.2], { number: 1, repeat: 3, minRepeatMs: 2 });
    expect(r.measuredOn).toBe("device");
    expect(r.hostReason).toBeUndefined();
    expect(r.repeat).toBe(3);
    expect(r.times).toHaveLength(3);
    // 0.2 ms per run, at least 2 ms per repeat: doubled from 1 to at least 8 runs.
    expect(r.number).toBeGreaterThanOrEqual(8);
    for (const t of r.times) expect(t).toBeGreaterThanOrEqual(0.2e-3 * 0.99);
    expect(r.min).toBe(Math.min(...r.times));
    expect(r.median).toBe([...r.times].sort((a, b) => a - b)[1]);
    expect(r.mean).toBeCloseTo(r.times.reduce((a, b) => a + b) / 3, 15);
    expect(r.stddev).toBeGreaterThanOrEqual(0);
  });

  it("without minRepeatMs, number stays as given", async () => {
    const spin = await module.kernel("long spin_item(long i, double ms)");
    const r = await device.evaluate(spin, [1, 0.05], { number: 5, repeat: 1 });
    expect(r.number).toBe(5);
    expect(r.stddev).toBe(0);
    expect(r.times[0]).toBeGreaterThanOrEqual(0.05e-3 * 0.99);
  });

  it("host arrays are staged once; validate sees the non-const outputs after the first run", async () => {
    const axpy = await module.kernel("void axpy(long n, double a, const double *x, double *y)");
    const x = new Float64Array([1, 2, 3]);
    const y = new Float64Array([0, 0, 0]);
    const seen: number[][] = [];
    const r = await device.evaluate(axpy, [3, 1, x, y], {
      repeat: 2,
      number: 2,
      validate: (outs) => {
        seen.push(...outs.map((o) => [...(o as Float64Array)]));
        return outs.length === 1 && (outs[0] as Float64Array)[2] === 3;
      },
    });
    expect(r.valid).toBe(true);
    expect(seen).toEqual([[1, 2, 3]]);
    // 1 warm-up + 2 repeats × 2 runs = 5 runs of y += x, read back at the end
    expect([...y]).toEqual([5, 10, 15]);
    expect(device.memory.stats().inUse).toBe(0);
  });

  it("validate returning false is reported, DeviceArray outputs are read for it", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    const a = await device.upload(new Float64Array([1, 2]));
    const r = await device.evaluate(scale, [a, 2, 3], {
      repeat: 1,
      validate: (outs) => (outs[0] as Float64Array)[1] === 999,
    });
    expect(r.valid).toBe(false);
    a.free();
  });

  it("timer: 'host' times around the queued calls and says so", async () => {
    const empty = await module.kernel("long empty_kernel(void)");
    const r = await device.evaluate(empty, [], { timer: "host", repeat: 2, number: 10 });
    expect(r.measuredOn).toBe("host");
    expect(r.hostReason).toMatch(/options\.timer is "host"/);
    expect(r.times.every((t) => t > 0)).toBe(true);
  });

  it("a kernel of a prebuilt library is timed on the device too (by address)", async () => {
    const basic = await device.load(kernel("basic"));
    const add = await basic.kernel("int add_one(int x)");
    const r = await device.evaluate(add, [1], { repeat: 1, number: 100 });
    expect(r.measuredOn).toBe("device");
  });

  it("a kernel with too many arguments for a timer is timed on the host, with the reason", async () => {
    const wide = await (
      await device.load(kernel("wide"))
    ).kernel(`long sum_wide(${Array.from({ length: WIDE_ARGS }, (_, i) => `long a${i}`).join(", ")})`);
    const args = Array.from({ length: WIDE_ARGS }, (_, i) => i);
    const r = await device.evaluate(wide, args, { repeat: 1 });
    expect(r.measuredOn).toBe("host");
    expect(r.hostReason).toMatch(/256 arguments leave no room for the timer's two \(maximum 256\)/);
    await expect(device.evaluate(wide, args, { timer: "device" })).rejects.toThrow(VeoFailedError);
  });

  it("validate with warmup 0 still looks at an untimed run; an unloaded module is VeoClosedError", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    let seen: number[] = [];
    await device.evaluate(scale, [new Float64Array([1]), 1, 2], {
      warmup: 0,
      repeat: 1,
      validate: (o) => ((seen = [...(o[0] as Float64Array)]), true),
    });
    expect(seen).toEqual([2]);
    const m = await device.compile("long gone(void) { return 1; }");
    const gone = await m.kernel("long gone(void)");
    m.unload();
    await expect(device.evaluate(gone, [])).rejects.toThrow(/gone's module was unloaded/);
    await expect(gone()).rejects.toThrow(/unloaded/);
  });

  it("bad kernels, arguments and options are typed errors naming them", async () => {
    const scale = await module.kernel("void scale(double *a, long n, double f)");
    const a = new Float64Array(1);
    await expect(device.evaluate((() => 1) as never, [])).rejects.toThrow(
      /Argument 0 \(kernel\) of evaluate must be a DeviceKernel/,
    );
    await expect(device.evaluate(scale, "x" as never)).rejects.toThrow(
      /Argument 1 \(args\) of evaluate must be an array/,
    );
    await expect(device.evaluate(scale, [a, 1])).rejects.toThrow(/scale takes 3 arguments/);
    await expect(device.evaluate(scale, [a, 1, 1], 3 as never)).rejects.toThrow(
      /Argument 2 \(options\) of evaluate/,
    );
    await expect(device.evaluate(scale, [a, 1, 1], { number: 0 })).rejects.toThrow(
      /options\.number of evaluate must be an integer in \[1, 2\*\*32\], got 0/,
    );
    await expect(device.evaluate(scale, [a, 1, 1], { repeat: 1.5 })).rejects.toThrow(RangeError);
    await expect(device.evaluate(scale, [a, 1, 1], { warmup: -1 })).rejects.toThrow(/options\.warmup/);
    await expect(device.evaluate(scale, [a, 1, 1], { minRepeatMs: NaN })).rejects.toThrow(
      /options\.minRepeatMs/,
    );
    await expect(device.evaluate(scale, [a, 1, 1], { validate: 1 as never })).rejects.toThrow(
      /options\.validate/,
    );
    await expect(device.evaluate(scale, [a, 1, 1], { timer: "gpu" as never })).rejects.toThrow(
      /options\.timer/,
    );
    await expect(device.evaluate(scale, [a, 1, 1], { context: 1 })).rejects.toThrow(
      /options\.context of evaluate must be a context index in \[0, 0\], got 1/,
    );
    const other = await openTestDevice(3);
    try {
      const foreign = await other.module.kernel("void scale(double *a, long n, double f)");
      await expect(device.evaluate(foreign, [a, 1, 1])).rejects.toThrow(/belongs to node 3, not 2/);
    } finally {
      other.device.close();
    }
    expect(device.memory.stats().inUse).toBe(0);
  });
});
