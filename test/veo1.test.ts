/*
 * VEO 1.x (API < 7): the binding uses only what such a library has. A shim that reports
 * API 4 and forwards to the emulator stands in for libveo.so of VEO 1.x.
 */
import { describe, expect, it } from "vitest";

import { Intent, loadVeo, OnStack, veoCapabilities, VeoProc, VeoUnsupported } from "../src/index.js";
import { expectUnsupported } from "./support/checks.js";
import { kernel, veo1Shim } from "./support/kernels.js";

describe("on a VEO 1.x library (API 4)", () => {
  it("is reported as API 4 with 32 arguments at most", () => {
    const info = loadVeo({ library: veo1Shim() });
    expect(info.apiVersion).toBe(4);
    expect(info.path).toBe(veo1Shim());
  });

  it("calls work: per-request args, 8/16-bit types through the 32-bit setters, OnStack, transfers", async () => {
    const p = new VeoProc(0, { library: veo1Shim() });
    try {
      const lib = p.loadLibrary(kernel("basic"));
      const ctx = p.openContext();
      const i8 = lib.declare("int8_t id_i8(int8_t x)");
      const u16 = lib.declare("uint16_t id_u16(uint16_t x)");
      const reqs = [i8(ctx, -5), u16(ctx, 65535), i8(ctx, 7)];
      expect(await Promise.all(reqs)).toEqual([-5, 65535, 7]);
      const out = new Int32Array(3);
      await lib.declare("int stack_out(int *p, int n)")(ctx, new OnStack(out, { intent: Intent.OUT }), 3);
      expect([...out]).toEqual([0, 1, 4]);
      const ve = p.allocMem(8);
      await ctx.asyncWriteMem(ve, new Float64Array([2.5]));
      const back = new Float64Array(1);
      ctx.asyncReadMem(back, ve).wait();
      expect(back[0]).toBe(2.5);
      const many = Array.from({ length: 500 }, (_, i) => i8(ctx, i % 100));
      ctx.sync();
      expect(many.map((r) => r.wait())).toEqual(many.map((_, i) => i % 100));
      expect(() => lib.fn.empty.argsType(...Array.from({ length: 33 }, () => "long"))).toThrow(RangeError);
    } finally {
      p.destroy();
    }
  });

  it("what VEO 1.x lacks is a VeoUnsupported naming it and the API version that added it", () => {
    const p = new VeoProc(0, { library: veo1Shim() });
    try {
      const lib = p.loadLibrary(kernel("basic"));
      const ctx = p.openContext();
      expect(() => lib.declare("int add_one(int)").callSync(1)).toThrow(/veo_call_sync is not available/);
      expect(() => p.identifier).toThrow(VeoUnsupported);
      expect(() => lib.unload()).toThrow(/veo_unload_library is not available/);
      const cases: Array<[() => unknown, string, number]> = [
        [() => ctx.callVh(() => 1), "veo_call_async_vh", 7],
        [() => ctx.allocMemAsync(8), "veo_alloc_mem_async", 14],
        [() => ctx.block(() => 0), "veo_req_block_begin", 14],
        [() => p.openContext({ stackSize: 8 << 20 }), "veo_alloc_thr_ctxt_attr", 8],
        [() => p.on("alloc", () => {}), "veo_register_hook", 13],
      ];
      expectUnsupported(cases, (_name, since) => new RegExp(`introduced in VEO API ${since}`));
      // Still usable after all of that.
      expect(lib.declare("int add_one(int)")(ctx, 1).wait()).toBe(2);
    } finally {
      p.destroy();
    }
  });

  it("veoCapabilities reports API 4 and every newer function as missing", () => {
    const caps = veoCapabilities({ library: veo1Shim() });
    expect(caps.apiVersion).toBe(4);
    expect([...caps.available].sort()).toEqual(["veo_call_async_by_name", "veo_version_string"]);
    const missing = new Map(caps.missing.map((m) => [m.function, m.sinceApi]));
    expect(missing.get("veo_call_async_vh")).toBe(7);
    expect(missing.get("veo_alloc_mem_async")).toBe(14);
    expect(missing.get("veo_get_ve_arch")).toBe(15);
    expect(caps.missing.every((m) => m.sinceApi > 4)).toBe(true);
  });
});
