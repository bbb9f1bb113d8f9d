/*
 * VeDevice's lifetime: openDevice arguments, load/compile, close (idempotent, pending work
 * rejects), await using, and device.lost for close, a killed helper and a fault.
 */
import { describe, expect, it } from "vitest";

import { VeBuildError, VeoClosedError, VeoProcessDead, openDevice, type VeDevice } from "../../src/index.js";
import { kernel } from "../support/kernels.js";
import { openTestDevice } from "./support.js";

describe("openDevice", () => {
  it("bad node and options are typed errors naming them", async () => {
    await expect(openDevice(-1)).rejects.toThrow(
      /Argument 0 \(node\) of openDevice must be a VE node number \(an integer >= 0\), got -1/,
    );
    await expect(openDevice(1.5)).rejects.toThrow(RangeError);
    await expect(openDevice("0" as never)).rejects.toThrow(TypeError);
    await expect(openDevice(0, 5 as never)).rejects.toThrow(
      /Argument 1 \(options\) of openDevice must be an object/,
    );
    await expect(openDevice(0, { contexts: 0 })).rejects.toThrow(
      /options\.contexts of openDevice must be an integer in \[1, 64\], got 0/,
    );
    await expect(openDevice(0, { contexts: "2" as never })).rejects.toThrow(TypeError);
  });

  it("a node the emulator does not have fails like upstream", async () => {
    await expect(openDevice(999)).rejects.toThrow(/veo_proc_create\(999\) failed/);
  });

  it("opens a node with one context, a pool and a trace; load() and compile() give modules", async () => {
    const d = await openDevice(2);
    try {
      expect(d.node).toBe(2);
      expect(d.proc.nodeid).toBe(2);
      expect(d.contexts.length).toBe(1);
      expect(d.closed).toBe(false);
      expect(d.isLost).toBe(false);
      expect(d.trace.enabled).toBe(false);
      const m = await d.load(kernel("basic"));
      expect(m.path).toBe(kernel("basic"));
      expect(await (await m.kernel("int add_one(int x)"))(41)).toBe(42);
      await expect(d.load("")).rejects.toThrow(/Argument 0 \(path\) of device\.load/);
      await expect(d.load("/nonexistent/lib.so")).rejects.toThrow(/no such file/);
      await expect(d.compile("")).rejects.toThrow(
        /Argument 0 \(source\) of device\.compile must be a non-empty string/,
      );
      await expect(d.compile("int broken( {")).rejects.toBeInstanceOf(VeBuildError);
      const c = await d.compile("int seven(void) { return 7; }");
      expect(await (await c.kernel("int seven(void)"))()).toBe(7);
      c.unload();
      expect(String(d)).toBe("VeDevice(node 2)");
    } finally {
      d.close();
    }
  });
});

describe("close and lost", () => {
  it("close() rejects pending work with VeoClosedError, resolves lost as destroyed, is idempotent", async () => {
    const { device, module } = await openTestDevice(1);
    const spin = await module.kernel("long spin_item(long i, double ms)");
    const pending = spin(3, 2000);
    device.close();
    device.close();
    await expect(pending).rejects.toBeInstanceOf(VeoClosedError);
    // proc.lost exists: device.lost forwards it.
    expect(await device.lost).toEqual({
      reason: "destroyed",
      message: expect.stringMatching(/node 1 was destroyed/),
    });
    expect(device.closed).toBe(true);
    expect(device.isLost).toBe(true);
    await expect(spin(1, 0)).rejects.toThrow(/device 1 is closed/);
    await expect(module.kernel("double dot(const double *a, const double *b, long n)")).rejects.toThrow(
      VeoClosedError,
    );
    await expect(device.load(kernel("basic"))).rejects.toThrow(VeoClosedError);
    await expect(device.compile("int x(void){return 1;}")).rejects.toThrow(VeoClosedError);
    expect(String(device)).toBe("VeDevice(node 1, closed)");
  });

  it("await using closes the device at the end of the block", async () => {
    let seen: VeDevice | undefined;
    {
      await using d = await openDevice(0);
      seen = d;
      expect(d.closed).toBe(false);
    }
    expect(seen.closed).toBe(true);
  });

  it("a helper killed mid-run: the running kernel rejects with VeoProcessDead and lost resolves", async () => {
    const { device, module } = await openTestDevice(3);
    try {
      const spin = await module.kernel("long spin_item(long i, double ms)");
      const a = new Float64Array([1, 2]);
      const scale = await module.kernel("void scale(double *a, long n, double f)");
      const running = spin(1, 10_000);
      const queued = scale(a, 2, 3); // waits for memory behind the running kernel
      await new Promise((r) => setTimeout(r, 300)); // let the kernel start
      const pid = (device.proc as unknown as { _helperPid(): number | undefined })._helperPid();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, "SIGKILL");
      await expect(running).rejects.toBeInstanceOf(VeoProcessDead);
      await expect(queued).rejects.toBeInstanceOf(VeoProcessDead);
      expect([...a]).toEqual([1, 2]);
      const lost = await device.lost;
      expect(lost.reason).toBe("exited");
      expect(lost.message).toMatch(/node 3 (has exited|is dead)/);
      expect(device.isLost).toBe(true);
      expect(device.memory.stats().inUse).toBe(0);
      await expect(device.upload(new Float64Array(1))).rejects.toThrow(VeoProcessDead);
    } finally {
      device.close();
    }
  });
});
