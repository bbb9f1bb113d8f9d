/*
 * VeoProc: creation, libraries, memory, contexts, identity, destroy/dispose, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  VeMemPtr,
  VeoClosedError,
  VeoCtxt,
  VeoFailedError,
  VeoLibrary,
  VeoProc,
  type VeoRequest,
} from "../src/index.js";
import { kernel } from "./support/kernels.js";

let proc: VeoProc;
let lib: VeoLibrary;

beforeAll(() => {
  proc = new VeoProc(0);
  lib = proc.loadLibrary(kernel("basic"));
});
afterAll(() => proc?.destroy());

describe("creation", () => {
  it("new VeoProc(node) and VeoProc.create(node)", async () => {
    const p = await VeoProc.create(1);
    try {
      expect(p.nodeid).toBe(1);
      expect(p.destroyed).toBe(false);
      expect(p.dead).toBe(false);
      expect(p.contexts).toEqual([]);
      expect(p.libs.size).toBe(0);
    } finally {
      p.destroy();
    }
    expect(proc.nodeid).toBe(0);
    expect(new VeoProc().nodeid).toBe(0);
  });

  it("bad node numbers and options are rejected before C", () => {
    expect(() => new VeoProc(-2)).toThrow(RangeError);
    expect(() => new VeoProc(1.5)).toThrow(RangeError);
    expect(() => new VeoProc("0" as unknown as number)).toThrow(TypeError);
    expect(() => new VeoProc(0, 5 as unknown as object)).toThrow(TypeError);
    expect(() => new VeoProc(0, { veorun: "" })).toThrow(TypeError);
    return expect(VeoProc.create(-5)).rejects.toThrow(RangeError);
  });

  it("a node that does not exist is a VeoFailedError", async () => {
    expect(() => new VeoProc(999)).toThrow(VeoFailedError);
    await expect(VeoProc.create(999)).rejects.toThrow(/veo_proc_create\(999\) failed/);
  });

  it("a missing veorun helper is a VeoFailedError saying so", () => {
    expect(() => new VeoProc(0, { veorun: "/nonexistent/veorun" })).toThrow(/does not exist/);
  });

  it("an unknown library path is VeoLibraryNotFound", () => {
    expect(() => new VeoProc(0, { library: "/nonexistent/libveo.so.1" })).toThrow(
      expect.objectContaining({ name: "VeoLibraryNotFound", code: "VEO_LIBRARY_NOT_FOUND" }),
    );
  });

  it("Symbol.dispose destroys", () => {
    let p: VeoProc;
    {
      p = new VeoProc(0);
      p[Symbol.dispose]();
    }
    expect(p.destroyed).toBe(true);
  });

  it("`using` destroys the proc and closes the context at the end of the block", () => {
    let outer: VeoProc | undefined;
    let c: VeoCtxt | undefined;
    {
      using p = new VeoProc(0);
      using ctx = p.openContext();
      outer = p;
      c = ctx;
      expect(p.destroyed).toBe(false);
    }
    expect(c?.closed).toBe(true);
    expect(outer?.destroyed).toBe(true);
  });

  it("identifier is the index in VEO's process list", () => {
    const p = new VeoProc(0);
    try {
      expect(typeof proc.identifier).toBe("number");
      expect(p.identifier).not.toBe(proc.identifier);
    } finally {
      p.destroy();
    }
    expect(() => p.identifier).toThrow(VeoClosedError);
  });
});

describe("libraries", () => {
  it("loadLibrary returns a library registered in libs; loading again returns it", () => {
    expect(lib).toBeInstanceOf(VeoLibrary);
    expect(lib.name).toBe(kernel("basic"));
    expect(lib.proc).toBe(proc);
    expect(typeof lib.handle).toBe("bigint");
    expect(proc.libs.get(kernel("basic"))).toBe(lib);
    expect(proc.loadLibrary(kernel("basic"))).toBe(lib);
  });

  it("bad paths", () => {
    expect(() => proc.loadLibrary("/nonexistent/lib.so")).toThrow(/no such file/);
    expect(() => proc.loadLibrary("")).toThrow(TypeError);
    expect(() => proc.loadLibrary(5 as unknown as string)).toThrow(TypeError);
  });

  it("getSymbol gives a VeMemPtr to a global variable, cached", () => {
    const p = lib.getSymbol("buffer");
    expect(p).toBeInstanceOf(VeMemPtr);
    expect(lib.getSymbol("buffer")).toBe(p);
    expect(lib.symbol.get("buffer")).toBe(p);
    const out = new BigUint64Array(1);
    proc.readMem(out, p, 8);
    expect(out[0]).toBe(0xdeadbeefdeadbeefn);
    expect(() => lib.getSymbol("nope_nothing")).toThrow(VeoFailedError);
    expect(() => lib.getSymbol("x".repeat(256))).toThrow(RangeError);
  });

  it("getFunction searches every loaded library", () => {
    const f = proc.getFunction("add_one");
    expect(f.name).toBe("add_one");
    expect(proc.getFunction("add_one")).toBe(f);
    expect(() => proc.getFunction("missing_everywhere")).toThrow(VeoFailedError);
  });

  it("unloadLibrary unloads and forgets", () => {
    const p = new VeoProc(0);
    try {
      const l = p.loadLibrary(kernel("basic"));
      expect(() => proc.unloadLibrary(l)).toThrow(/another proc/);
      expect(() => p.unloadLibrary({} as VeoLibrary)).toThrow(TypeError);
      p.unloadLibrary(l);
      expect(l.closed).toBe(true);
      expect(p.libs.has(l.name)).toBe(false);
    } finally {
      p.destroy();
    }
  });

  it("staticLibrary is handle 0; the stock helper has no static symbols", () => {
    const s = proc.staticLibrary();
    expect(s.name).toBe("__static__");
    expect(s.handle).toBe(0n);
    expect(proc.staticLibrary()).toBe(s);
    expect(() => s.findFunction("add_one")).toThrow(VeoFailedError);
  });
});

describe("memory", () => {
  it("allocMem/writeMem/readMem/freeMem with every host buffer kind", () => {
    const ve = proc.allocMem(64);
    expect(ve.size).toBe(64);
    expect(ve.proc).toBe(proc);
    expect(typeof ve.addr).toBe("bigint");
    proc.writeMem(ve, new Float64Array([1.5, 2.5]));
    const f = new Float64Array(2);
    proc.readMem(f, ve);
    expect([...f]).toEqual([1.5, 2.5]);
    const b = Buffer.alloc(16);
    proc.readMem(b, ve, 16);
    expect(b.readDoubleLE(8)).toBe(2.5);
    const ab = new ArrayBuffer(8);
    proc.readMem(ab, ve.addr + 8n);
    expect(new Float64Array(ab)[0]).toBe(2.5);
    const dv = new DataView(new ArrayBuffer(24), 8, 8);
    proc.readMem(dv, Number(ve.addr));
    expect(dv.getFloat64(0, true)).toBe(1.5);
    proc.writeMem(ve.offset(8), new Uint8Array([1, 2, 3]), 2);
    const u = new Uint8Array(3);
    proc.readMem(u, ve.offset(8));
    expect([...u]).toEqual([1, 2, 0]);
    proc.freeMem(ve);
    expect(ve.freed).toBe(true);
  });

  it("sizes: larger than the buffer or the VE block, negative, non-integer", () => {
    const ve = proc.allocMem(8);
    try {
      expect(() => proc.writeMem(ve, new Uint8Array(4), 5)).toThrow(RangeError);
      expect(() => proc.readMem(new Uint8Array(4), ve, 8)).toThrow(/larger than dst/);
      expect(() => proc.writeMem(ve, new Uint8Array(16))).toThrow(/exceed the 8-byte VE block/);
      expect(() => proc.readMem(new Uint8Array(4), ve, -1)).toThrow(RangeError);
      expect(() => proc.readMem(new Uint8Array(4), ve, 1.5)).toThrow(RangeError);
      expect(() => proc.readMem(new Uint8Array(4), ve, "4" as unknown as number)).toThrow(TypeError);
      expect(() => proc.allocMem(-1)).toThrow(RangeError);
      expect(() => proc.allocMem(undefined as unknown as number)).toThrow(TypeError);
      expect(() => proc.readMem([0] as unknown as Uint8Array, ve)).toThrow(TypeError);
      expect(() => proc.writeMem(ve, "abc" as unknown as Uint8Array)).toThrow(TypeError);
      expect(() => proc.readMem(new Uint8Array(1), -1)).toThrow(RangeError);
      expect(() => ve.offset(9)).toThrow(RangeError);
    } finally {
      proc.freeMem(ve);
    }
  });

  it("freed memory and memory of another or destroyed proc are refused", () => {
    const ve = proc.allocMem(8);
    proc.freeMem(ve);
    expect(() => proc.writeMem(ve, new Uint8Array(8))).toThrow(VeoClosedError);
    expect(() => proc.freeMem(ve)).toThrow(VeoClosedError);
    expect(() => ve.offset(1) && proc.readMem(new Uint8Array(1), ve.offset(1))).toThrow(VeoClosedError);
    const other = new VeoProc(0);
    const om = other.allocMem(8);
    expect(() => proc.readMem(new Uint8Array(8), om)).toThrow(/another proc/);
    expect(() => proc.freeMem(om)).toThrow(TypeError);
    other.destroy();
    expect(() => proc.readMem(new Uint8Array(8), om)).toThrow(VeoClosedError);
  });

  it("large transfers (16 MiB) round-trip", () => {
    const n = 16 << 20;
    const src = new Uint8Array(n);
    for (let i = 0; i < n; i += 4093) src[i] = i & 0xff;
    const ve = proc.allocMem(n);
    proc.writeMem(ve, src);
    const dst = new Uint8Array(n);
    proc.readMem(dst, ve);
    expect(Buffer.compare(src, dst)).toBe(0);
    proc.freeMem(ve);
  });
});

describe("contexts", () => {
  it("openContext/closeContext and proc.contexts", () => {
    const p = new VeoProc(0);
    try {
      const c = p.openContext();
      expect(c).toBeInstanceOf(VeoCtxt);
      expect(c.proc).toBe(p);
      expect(c.state).toBe(1);
      expect(p.contexts).toEqual([c]);
      p.closeContext(c);
      expect(c.closed).toBe(true);
      expect(c.state).toBe(4);
      expect(p.contexts).toEqual([]);
      c.close();
      expect(() => proc.closeContext(c)).toThrow(/another proc/);
      expect(() => p.closeContext({} as VeoCtxt)).toThrow(TypeError);
    } finally {
      p.destroy();
    }
  });

  it("a second context needs VE_OMP_NUM_THREADS=1, and the error says so", () => {
    const saved = process.env.VE_OMP_NUM_THREADS;
    const p = new VeoProc(0);
    try {
      p.openContext();
      process.env.VE_OMP_NUM_THREADS = "4";
      expect(() => p.openContext()).toThrow(/VE_OMP_NUM_THREADS=1/);
      process.env.VE_OMP_NUM_THREADS = "1";
      const c2 = p.openContext();
      expect(p.contexts.length).toBe(2);
      c2.close();
    } finally {
      if (saved === undefined) delete process.env.VE_OMP_NUM_THREADS;
      else process.env.VE_OMP_NUM_THREADS = saved;
      p.destroy();
    }
  });
});

describe("destroy", () => {
  it("is idempotent, closes contexts and libraries, rejects pending requests", async () => {
    const p = new VeoProc(0);
    const l = p.loadLibrary(kernel("basic"));
    const c = p.openContext();
    const sleep = l.declare("int do_sleep(int ms)");
    const reqs: VeoRequest[] = [sleep(c, 300), sleep(c, 1), sleep(c, 1)];
    const awaited = Promise.allSettled(reqs.map((r) => r.then((v) => v)));
    const t0 = Date.now();
    p.destroy();
    p.destroy();
    const results = await awaited;
    expect(Date.now() - t0).toBeLessThan(5000);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(VeoClosedError);
    }
    expect(() => reqs[1].wait()).toThrow(VeoClosedError);
    expect(p.destroyed).toBe(true);
    expect(c.closed).toBe(true);
    expect(l.closed).toBe(true);
    expect(p.contexts).toEqual([]);
  });

  it("any use after destroy is a VeoClosedError", () => {
    const p = new VeoProc(0);
    const l = p.loadLibrary(kernel("basic"));
    const c = p.openContext();
    const f = l.declare("int add_one(int)");
    const m = p.allocMem(8);
    p.destroy();
    const calls: Array<() => unknown> = [
      () => p.loadLibrary(kernel("basic")),
      () => p.allocMem(8),
      () => p.freeMem(m),
      () => p.readMem(new Uint8Array(8), m),
      () => p.writeMem(m, new Uint8Array(8)),
      () => p.openContext(),
      () => p.staticLibrary(),
      () => p.getFunction("add_one"),
      () => f(c, 1),
      () => f.callSync(1),
      () => l.findFunction("add_one"),
      () => l.getSymbol("buffer"),
      () => c.asyncReadMem(new Uint8Array(8), m),
      () => c.sync(),
      () => f.argsType("int"),
    ];
    for (const call of calls) expect(call).toThrow(VeoClosedError);
    c.close();
    l.unload();
  });
});
