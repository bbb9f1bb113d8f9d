/*
 * veoCapabilities and VeoUnsupported against the emulator, in full and as a build that lacks
 * some optional functions (the same sources linked with those symbols made local).
 */
import { describe, expect, it } from "vitest";

import { loadVeo, veoApiVersion, veoCapabilities, veoVersion, VeoProc } from "../src/index.js";
import { API_FUNCTIONS, API_SINCE } from "../src/native/api.js";
import { expectUnsupported } from "./support/checks.js";
import { kernel, partialEmulator } from "./support/kernels.js";

const HIDDEN = [
  "veo_call_async_vh",
  "veo_alloc_mem_async",
  "veo_req_block_begin",
  "veo_context_open_with_attr",
  "veo_register_hook",
  "veo_get_proc_handle_from_hmem",
  "veo_call_sync",
] as const;

describe("veoCapabilities", () => {
  it("the emulator implements API 16 in full", () => {
    const caps = veoCapabilities();
    expect(caps.apiVersion).toBe(16);
    expect(veoApiVersion()).toBe(16);
    expect(caps.version).toBe(veoVersion());
    expect(caps.version).not.toBe("");
    expect(caps.kind).toBe("emulator");
    expect(caps.missing).toEqual([]);
    const optional = API_FUNCTIONS.filter((n) => (API_SINCE.get(n) ?? -1) > 0);
    expect([...caps.available].sort()).toEqual([...optional].sort());
    expect(caps.available).toContain("veo_alloc_mem_async");
  });

  it("lists what a library lacks, with the API version that introduced it", () => {
    const library = partialEmulator(HIDDEN);
    const caps = veoCapabilities({ library });
    expect(caps.apiVersion).toBe(16);
    expect(caps.missing.map((m) => m.function).sort()).toEqual([...HIDDEN].sort());
    const since = new Map(caps.missing.map((m) => [m.function, m.sinceApi]));
    expect(since.get("veo_call_async_vh")).toBe(7);
    expect(since.get("veo_alloc_mem_async")).toBe(14);
    expect(since.get("veo_context_open_with_attr")).toBe(8);
    expect(since.get("veo_register_hook")).toBe(13);
    expect(caps.available).not.toContain("veo_alloc_mem_async");
    expect(caps.available).toContain("veo_free_mem_async");
    expect(loadVeo({ library }).path).toBe(library);
  });

  it("a method that needs a missing function throws VeoUnsupported; the rest works", async () => {
    process.env.VE_OMP_NUM_THREADS = "1";
    const library = partialEmulator(HIDDEN);
    const p = new VeoProc(0, { library });
    try {
      const lib = p.loadLibrary(kernel("basic"));
      const ctx = p.openContext();
      const addOne = lib.declare("int add_one(int x)");
      const cases: Array<[() => unknown, string, number]> = [
        [() => ctx.callVh(() => 1), "veo_call_async_vh", 7],
        [() => ctx.allocMemAsync(8), "veo_alloc_mem_async", 14],
        [() => ctx.block(() => 0), "veo_req_block_begin", 14],
        [() => p.openContext({ stackSize: 8 << 20 }), "veo_context_open_with_attr", 8],
        [() => p.on("free", () => {}), "veo_register_hook", 13],
        [() => addOne.callSync(1), "veo_call_sync", 7],
      ];
      expectUnsupported(
        cases,
        (name) => new RegExp(`^${name} is not available: this library \\(API 16\\) does not export it`),
      );
      // Nothing was half-done: the context and the functions the library has still work.
      expect(await addOne(ctx, 1)).toBe(2);
      const m = p.allocMem(16);
      await ctx.freeMemAsync(m);
      expect(m.freed).toBe(true);
      expect(p.contexts).toEqual([ctx]); // the failed openContext left nothing behind
      expect(await ctx.callByName(lib, "add_one", 4)).toBe(5);
    } finally {
      p.destroy();
    }
  });
});
