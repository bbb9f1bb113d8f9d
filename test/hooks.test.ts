/*
 * Proc init hooks (py-veo's set_proc_init_hook): order, duplicates, removal, a hook that
 * builds a function table (the py-vecblas use), and a hook that throws.
 */
import { describe, expect, it } from "vitest";

import { delProcInitHook, setProcInitHook, VeoProc, type VeoFunction } from "../src/index.js";
import { kernel } from "./support/kernels.js";

describe("init hooks (py-veo's set_proc_init_hook)", () => {
  it("run on every new proc in order, can load libraries, and can be removed", async () => {
    const table: Array<[VeoProc, VeoFunction]> = [];
    const seen: string[] = [];
    const first = (p: VeoProc) => {
      seen.push("first");
      table.push([p, p.loadLibrary(kernel("examples")).fn.do_sleep.argsType("int")]);
    };
    const second = () => seen.push("second");
    setProcInitHook(first);
    setProcInitHook(second);
    try {
      const p = new VeoProc(0);
      expect(seen).toEqual(["first", "second"]);
      expect(table[0][0]).toBe(p);
      expect(await table[0][1](p.openContext(), 1)).toBe(1);
      p.destroy();
      const q = await VeoProc.create(0);
      expect(seen).toEqual(["first", "second", "first", "second"]);
      q.destroy();
    } finally {
      delProcInitHook(first);
      delProcInitHook(second);
    }
    new VeoProc(0).destroy();
    expect(seen.length).toBe(4);
  });

  it("a hook that throws destroys the new proc and propagates", () => {
    let made: VeoProc | undefined;
    const bad = (p: VeoProc) => {
      made = p;
      throw new Error("hook failed");
    };
    setProcInitHook(bad);
    try {
      expect(() => new VeoProc(0)).toThrow("hook failed");
      expect(made?.destroyed).toBe(true);
    } finally {
      delProcInitHook(bad);
    }
  });

  it("duplicates run twice; removing an unknown hook is a RangeError; non-functions a TypeError", () => {
    let n = 0;
    const h = () => n++;
    setProcInitHook(h);
    setProcInitHook(h);
    try {
      new VeoProc(0).destroy();
      expect(n).toBe(2);
    } finally {
      delProcInitHook(h);
      delProcInitHook(h);
    }
    expect(() => delProcInitHook(h)).toThrow(RangeError);
    expect(() => setProcInitHook("x" as unknown as () => void)).toThrow(TypeError);
  });
});
