/*
 * VeoHmem.on / off (veo_register_hmem_hook_functions): HMEM addresses of every allocation
 * path, the async ones completed on the emulator's VH thread, proc.on beside it, argument
 * checks, exit with hooks registered (child processes), and VeoUnsupported without the symbol.
 */
import { afterAll, describe, expect, it } from "vitest";

import { VeoHmem, VeoProc, type VeoHmemHookEvent, type VeoHookEvent } from "../src/index.js";
import { functionAddress, getNative } from "../src/native/library.js";
import { runChild } from "./support/child.js";
import { partialEmulator } from "./support/kernels.js";

process.env.VE_OMP_NUM_THREADS = "1";
const proc = new VeoProc(0);
const ctx = proc.openContext();
afterAll(() => proc.destroy());

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const tag = (addr: bigint): bigint => (1n << 63n) | (BigInt(proc.identifier) << 59n) | addr;

/** The native hook VEO holds for `fn` (0 when none). */
function hookOf(fn: string): bigint {
  const native = getNative();
  const r = native.api.veo_get_hook?.(functionAddress(native, fn));
  return r === null || r === undefined ? 0n : BigInt(r);
}

describe("VeoHmem.on", () => {
  it("reports HMEM addresses of allocMem, allocHmem and allocMemAsync, in order", async () => {
    const events: VeoHmemHookEvent[] = [];
    const listener = (e: VeoHmemHookEvent): void => void events.push(e);
    VeoHmem.on("alloc", listener);
    VeoHmem.on("free", listener);
    try {
      // The async keys are not left to VEO: its progress thread would call JS.
      expect(hookOf("veo_alloc_mem_async")).toBe(0n);
      expect(hookOf("veo_free_mem_async")).toBe(0n);
      expect(hookOf("veo_alloc_mem")).not.toBe(0n);
      const m = proc.allocMem(100);
      expect(events).toHaveLength(0); // a microtask later, not inside the C call
      proc.freeMem(m);
      const h = proc.allocHmem(48);
      proc.freeHmem(h);
      const a = await ctx.allocMemAsync(32); // done by the emulator's VH thread
      await ctx.freeMemAsync(a);
      await tick();
      expect(events.map((e) => [e.type, e.addr, e.size])).toEqual([
        ["alloc", tag(m.addr), 100],
        ["free", tag(m.addr), undefined],
        ["alloc", h, 48], // veo_alloc_hmem allocates through veo_alloc_mem: once
        ["free", h, undefined],
        ["alloc", tag(a.addr), 32],
        ["free", tag(a.addr), undefined],
      ]);
      expect(events.every((e) => e.proc === proc && Object.isFrozen(e))).toBe(true);
      expect(VeoHmem.getHmemAddr(events[0].addr)).toBe(m.addr);
    } finally {
      VeoHmem.off("alloc", listener);
      VeoHmem.off("free", listener);
    }
    expect(hookOf("veo_alloc_mem")).toBe(0n); // unregistered with the last listener
    proc.freeMem(proc.allocMem(8));
    await ctx.freeMemAsync(await ctx.allocMemAsync(8));
    await tick();
    expect(events).toHaveLength(6);
  });

  it("proc.on listeners keep hearing while HMEM hooks own VEO's keys, and after", async () => {
    const procEvents: Array<[string, bigint]> = [];
    const hmemEvents: bigint[] = [];
    const onProc = (e: VeoHookEvent): void => void procEvents.push([e.type, e.addr]);
    const onHmem = (e: VeoHmemHookEvent): void => void hmemEvents.push(e.addr);
    proc.on("alloc", onProc);
    const trampoline = hookOf("veo_alloc_mem");
    VeoHmem.on("alloc", onHmem);
    proc.on("free", onProc); // added while the HMEM hooks own veo_free_mem
    try {
      expect(hookOf("veo_alloc_mem")).not.toBe(trampoline);
      const m = proc.allocMem(16);
      proc.freeMem(m);
      await tick();
      expect(procEvents).toEqual([
        ["alloc", m.addr],
        ["free", m.addr],
      ]);
      expect(hmemEvents).toEqual([tag(m.addr)]);
    } finally {
      VeoHmem.off("alloc", onHmem);
    }
    // veo_unregister_hmem_hook_functions erased the keys; proc.on's hooks are back.
    expect(hookOf("veo_alloc_mem")).toBe(trampoline);
    const n = proc.allocMem(8);
    proc.freeMem(n);
    await tick();
    proc.off("alloc", onProc);
    proc.off("free", onProc);
    expect(procEvents.slice(2)).toEqual([
      ["alloc", n.addr],
      ["free", n.addr],
    ]);
    expect(hmemEvents).toHaveLength(1);
    expect(hookOf("veo_alloc_mem")).toBe(0n);
    expect(hookOf("veo_free_mem")).toBe(0n);
  });

  it("proc.on events keep their order while HMEM hooks are registered", async () => {
    const seen: Array<[string, bigint]> = [];
    const onProc = (e: VeoHookEvent): void => void seen.push([e.type, e.addr]);
    const onHmem = (e: VeoHmemHookEvent): void => void seen.push([`hmem ${e.type}`, e.addr]);
    const types = ["alloc", "free", "allocHmem", "freeHmem", "allocAsync", "freeAsync"] as const;
    for (const t of types) proc.on(t, onProc);
    VeoHmem.on("alloc", onHmem);
    VeoHmem.on("free", onHmem);
    try {
      const h = proc.allocHmem(48);
      proc.freeHmem(h);
      const a = await ctx.allocMemAsync(16);
      await ctx.freeMemAsync(a);
      await tick();
      const plain = VeoHmem.getHmemAddr(h);
      // As without HMEM hooks (test/aveo.test.ts), each proc event followed by its HMEM one.
      expect(seen).toEqual([
        ["alloc", plain],
        ["hmem alloc", h],
        ["allocHmem", h],
        ["free", plain],
        ["hmem free", h],
        ["freeHmem", h],
        ["hmem alloc", tag(a.addr)],
        ["allocAsync", a.addr],
        ["hmem free", tag(a.addr)],
        ["freeAsync", a.addr],
      ]);
    } finally {
      VeoHmem.off("alloc", onHmem);
      VeoHmem.off("free", onHmem);
      for (const t of types) proc.off(t, onProc);
    }
  });

  it("a throwing listener does not stop the others; bad arguments are TypeErrors", async () => {
    const seen: bigint[] = [];
    const bad = (): void => {
      throw new Error("listener failed");
    };
    const good = (e: VeoHmemHookEvent): void => void seen.push(e.addr);
    const errors: unknown[] = [];
    const onError = (err: unknown): void => void errors.push(err);
    process.on("uncaughtException", onError);
    VeoHmem.on("alloc", bad);
    VeoHmem.on("alloc", good);
    try {
      const m = proc.allocMem(8);
      await tick();
      await tick();
      expect(seen).toEqual([tag(m.addr)]);
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).message).toBe("listener failed");
    } finally {
      VeoHmem.off("alloc", bad);
      VeoHmem.off("alloc", good);
      process.off("uncaughtException", onError);
    }
    expect(() => VeoHmem.on("allocAsync" as "alloc", good)).toThrow(
      /Argument 0 \(event\) of VeoHmem.on must be/,
    );
    expect(() => VeoHmem.on("alloc", 1 as never)).toThrow(/Argument 1 \(listener\) of VeoHmem.on/);
    expect(() => VeoHmem.off("free", good)).not.toThrow(); // not registered: no-op
    expect(() => VeoHmem.off(7 as never, good)).toThrow(TypeError);
    expect(hookOf("veo_alloc_mem")).toBe(0n);
  });
});

describe("VeoHmem.on at exit and without the symbol", () => {
  it("exit with listeners registered, an async alloc in flight, or after off: no hang, no abort", async () => {
    for (const mode of ["registered", "off", "throw"]) {
      const r = await runChild(
        `
        import { VeoHmem, VeoProc } from "SRC";
        const p = new VeoProc(0);
        const ctx = p.openContext();
        const seen = [];
        const l = (e) => seen.push(e.type);
        VeoHmem.on("alloc", l);
        VeoHmem.on("free", l);
        p.freeMem(p.allocMem(8));
        await ctx.freeMemAsync(await ctx.allocMemAsync(8));
        await new Promise((r) => setTimeout(r, 0));
        console.log("seen " + seen.join(","));
        if (${JSON.stringify(mode)} === "off") { VeoHmem.off("alloc", l); VeoHmem.off("free", l); }
        ctx.allocMemAsync(64); // in flight at exit
        if (${JSON.stringify(mode)} === "throw") throw new Error("boom");
        process.exit(0);
        `,
        { timeoutMs: 60_000 },
      );
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.timedOut, out).toBe(false);
      expect(r.signal, out).toBeNull();
      expect(r.code, out).toBe(mode === "throw" ? 1 : 0);
      expect(r.stdout).toContain("seen alloc,free,alloc,free");
      expect(out).not.toMatch(/Abort|core dumped|FATAL/);
    }
  });

  it("workers: VeoHmem.on is refused there; their allocations reach the main thread's listeners", async () => {
    const r = await runChild(
      `
      import { Worker } from "node:worker_threads";
      import { pathToFileURL } from "node:url";
      import { VeoHmem, VeoProc } from "SRC";
      const main = new VeoProc(0);
      const seen = [];
      VeoHmem.on("alloc", (e) => seen.push(e.size + ":" + (e.proc === undefined ? "none" : e.proc === main ? "main" : "?")));
      const code = \`
        (async () => {
          const { parentPort } = await import("node:worker_threads");
          (await import(\${JSON.stringify(pathToFileURL("node_modules/tsx/dist/esm/api/index.mjs").href)})).register();
          const { VeoHmem, VeoProc } = await import(\${JSON.stringify(pathToFileURL("SRC").href)});
          let refused = "no";
          try { VeoHmem.on("alloc", () => {}); } catch (e) { refused = e.name + ": " + e.message; }
          const p = new VeoProc(0);
          p.allocMem(24);
          p.destroy();
          parentPort.postMessage(refused);
        })();
      \`;
      const w = new Worker(code, { eval: true });
      const refused = await new Promise((res, rej) => { w.once("message", res); w.once("error", rej); });
      await new Promise((res) => w.once("exit", res));
      main.allocMem(40);
      await new Promise((res) => setTimeout(res, 0));
      console.log("refused " + refused);
      console.log("seen " + seen.join(","));
      main.destroy();
      `,
      { timeoutMs: 90_000 },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.timedOut, out).toBe(false);
    expect(r.code, out).toBe(0);
    expect(r.stdout).toMatch(/refused VeoFailedError: VeoHmem.on works on the main thread only/);
    expect(r.stdout).toContain("seen 24:none,40:main");
  });

  it("a library without veo_register_hmem_hook_functions: VeoUnsupported, proc.on unaffected", async () => {
    const library = partialEmulator(["veo_register_hmem_hook_functions"]);
    const r = await runChild(
      `
      import { VeoHmem, VeoProc, VeoUnsupported } from "SRC";
      const p = new VeoProc(0);
      try { VeoHmem.on("alloc", () => {}); console.log("no error"); }
      catch (e) { console.log(e instanceof VeoUnsupported ? "unsupported " + e.function + " " + e.sinceApi : "other " + e); }
      const seen = [];
      p.on("alloc", (e) => seen.push(e.size));
      p.allocMem(24);
      await new Promise((r) => setTimeout(r, 0));
      console.log("proc.on " + seen.join(","));
      p.destroy();
      `,
      { env: { VEO_LIBRARY: library } },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.code, out).toBe(0);
    expect(r.stdout).toContain("unsupported veo_register_hmem_hook_functions 15");
    expect(r.stdout).toContain("proc.on 24");
  });
});
