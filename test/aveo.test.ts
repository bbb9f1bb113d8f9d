/*
 * AVEO API 16 beyond py-veo, on the emulator: host callbacks in queue order (callVh),
 * asynchronous memory, request blocks, context attributes, callByName, memory hooks as
 * listeners, HMEM completeness.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { isMainThread } from "node:worker_threads";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  ContextState,
  VeMemPtr,
  VeoClosedError,
  VeoDeadlockError,
  VeoFailedError,
  VeoHmem,
  VeoProc,
  VeoProcessDead,
  type VeoCtxt,
  type VeoHookEvent,
  type VeoLibrary,
  type VeoRequest,
} from "../src/index.js";
import { gone } from "./support/checks.js";
import { closeGate } from "./support/gate.js";
import { kernel } from "./support/kernels.js";
import { ctxSlots } from "../src/slots.js";

/** Resolves after pending microtasks and one macrotask (hook events are asynchronous). */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

let proc: VeoProc;
let lib: VeoLibrary;
let ctx: VeoCtxt;

beforeAll(() => {
  process.env.VE_OMP_NUM_THREADS = "1";
  proc = new VeoProc(0);
  lib = proc.loadLibrary(kernel("basic"));
  ctx = proc.openContext();
});
afterAll(() => proc.destroy());

describe("ctx.callVh", () => {
  it("runs the function on the main thread, in a later turn, and resolves with what it returned", async () => {
    let where: boolean | undefined;
    let during = true;
    const r = ctx.callVh((a: number) => {
      where = isMainThread;
      expect(during).toBe(false);
      return a * 2;
    }, 21);
    during = false;
    expect(await r).toBe(42);
    expect(where).toBe(true);
    expect(await ctx.callVh(() => -5)).toBe(-5);
    expect(await ctx.callVh(() => 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(await ctx.callVh((o: { v: string }) => o.v.length, { v: "four" })).toBe(4);
  });

  it("a function that throws rejects its own request and nothing else", async () => {
    const addOne = lib.declare("int add_one(int x)");
    const before = addOne(ctx, 1);
    const boom = new Error("boom");
    const bad = ctx.callVh(() => {
      throw boom;
    });
    const after = addOne(ctx, 2);
    const good = ctx.callVh(() => 9);
    await expect(bad).rejects.toBe(boom);
    expect(await Promise.all([before, after, good])).toEqual([2, 3, 9]);
    const notNumber = ctx.callVh((() => "x") as unknown as () => number);
    await expect(notNumber).rejects.toThrow(TypeError);
    const promise = ctx.callVh((async () => 1) as unknown as () => number);
    await expect(promise).rejects.toThrow(/synchronously/);
    expect(await addOne(ctx, 5)).toBe(6);
  });

  it("checks its arguments before VEO sees anything", () => {
    expect(() => ctx.callVh(undefined as unknown as () => number)).toThrow(TypeError);
    expect(() => ctx.callVh("f" as unknown as () => number)).toThrow(/Argument 0 \(fn\) of callVh/);
  });

  it("runs in queue order, interleaved with kernel calls", async () => {
    const record = lib.declare("long record(long v)");
    lib.declare("void record_reset(void)")(ctx).wait();
    const n = 40;
    const kernels: VeoRequest[] = [];
    const seen: Array<[number, boolean, boolean]> = [];
    const cbs: VeoRequest[] = [];
    for (let i = 0; i < n; i++) {
      kernels.push(record(ctx, i));
      cbs.push(
        ctx.callVh((k: number) => {
          // Everything before me has finished; nothing after me has started.
          seen.push([k, kernels[k].peek().done, k + 1 < n ? kernels[k + 1].peek().done : false]);
          return k;
        }, i),
      );
    }
    expect(await Promise.all(cbs)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect((await Promise.all(kernels)).map(Number)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => [i, true, false]));
    const len = Number(await lib.declare("long record_len(void)")(ctx));
    const at = lib.declare("long record_at(long i)");
    const order = await Promise.all(Array.from({ length: len }, (_, i) => at(ctx, i)));
    expect(order.map(Number)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("runs while other contexts are busy", async () => {
    const other = proc.openContext();
    try {
      const sleep = lib.declare("int do_sleep(int ms)");
      // `other` is held by a gate (not a sleep, which a loaded machine could outlast).
      const gate = closeGate(lib, other);
      const r = ctx.callVh(() => 1);
      expect(await r).toBe(1);
      expect(gate.request.peek().done).toBe(false);
      // A blocking wait on the busy context does not need the callback of another one: the
      // gate opens from another process while this thread is blocked.
      const cb = ctx.callVh(() => 2);
      gate.openAfter(300);
      expect(sleep(other, 1).wait()).toBe(1);
      expect(gate.request.peek()).toEqual({ done: true, value: 1 });
      expect(await cb).toBe(2);
    } finally {
      other.close();
    }
  });

  it("a blocking call behind a queued function runs it instead of hanging", () => {
    const addOne = lib.declare("int add_one(int x)");
    const sleep = lib.declare("int do_sleep(int ms)");
    const ran: string[] = [];
    sleep(ctx, 20);
    const cb = ctx.callVh(() => (ran.push("cb"), 5));
    const k = addOne(ctx, 1);
    expect(k.wait()).toBe(2); // wait() ran cb first, on this thread
    expect(ran).toEqual(["cb"]);
    expect(cb.wait()).toBe(5);
    const cb2 = ctx.callVh(() => (ran.push("cb2"), 6));
    expect(cb2.wait()).toBe(6); // waiting for the callback itself
    ctx.callVh(() => (ran.push("cb3"), 0));
    ctx.sync();
    ctx.callVh(() => (ran.push("cb4"), 0));
    const m = proc.allocMem(8); // synchronous call on the main context
    proc.freeMem(m);
    const cb5 = ctx.callVh(() => (ran.push("cb5"), 0));
    expect(addOne.callSync(1)).toBe(2);
    expect(ran).toEqual(["cb", "cb2", "cb3", "cb4", "cb5"]);
    expect(cb5.settled || cb5.peek().done).toBe(true);
  });

  it("a blocking call inside a function that would wait for that function throws VeoDeadlockError", async () => {
    const addOne = lib.declare("int add_one(int x)");
    const before = addOne(ctx, 1);
    const queued: { later?: VeoRequest } = {};
    const errors: unknown[] = [];
    const cb = ctx.callVh(() => {
      expect(before.wait()).toBe(2); // queued before: finished already, fine
      for (const f of [
        () => (queued.later as VeoRequest).wait(),
        () => ctx.sync(),
        () => addOne.callSync(1),
        () => proc.allocMem(8),
        () => cb.wait(),
      ]) {
        try {
          f();
          errors.push("no error");
        } catch (e) {
          errors.push(e);
        }
      }
      return 1;
    });
    const later = (queued.later = addOne(ctx, 2));
    expect(await cb).toBe(1);
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e).toBeInstanceOf(VeoDeadlockError);
    expect((errors[0] as Error).message).toMatch(/wait\(\) would wait forever/);
    expect(await later).toBe(3);
  });

  it("a loop polling with peek() makes progress (no event-loop turn needed)", () => {
    const r = ctx.callVh(() => 3);
    const until = Date.now() + 20_000;
    let p = r.peek();
    while (!p.done && Date.now() < until) p = r.peek();
    expect(p).toEqual({ done: true, value: 3 });
  });

  it("a function that closes its own context lets VEO's thread go at once", async () => {
    const c = proc.openContext();
    const addOne = lib.declare("int add_one(int x)");
    let took = -1;
    const cb = c.callVh(() => {
      const t0 = Date.now();
      c.close();
      took = Date.now() - t0;
      return 1;
    });
    const after = addOne(c, 1);
    // Await nothing on `c` until the function ran: an await would park a pool thread on it,
    // and close() would then be deferred until that thread returns.
    const until = Date.now() + 20_000;
    while (took < 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await expect(cb).rejects.toThrow(VeoClosedError);
    await expect(after).rejects.toThrow(VeoClosedError);
    // Without the early release the emulator gives its VH thread 2 s before it gives up.
    expect(took).toBeGreaterThanOrEqual(0);
    expect(took).toBeLessThan(1800);
  });

  it("close() with a function queued rejects it and never runs it", async () => {
    const c = proc.openContext();
    const sleep = lib.declare("int do_sleep(int ms)");
    const k = sleep(c, 200);
    let ran = false;
    const cb = c.callVh(() => ((ran = true), 1));
    const t0 = Date.now();
    c.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(cb).rejects.toThrow(VeoClosedError);
    await expect(k).rejects.toThrow(VeoClosedError);
    await tick();
    expect(ran).toBe(false);
  });

  it("a VE process that dies before the function rejects it, unrun", async () => {
    const p = new VeoProc(0);
    try {
      const l = p.loadLibrary(kernel("basic"));
      const c = p.openContext();
      let ran = false;
      // Behind a gate: on a loaded machine the fault could otherwise kill the helper before
      // callVh submits, and the submission itself would fail.
      const segv = l.declare("int segv(void)");
      const gate = closeGate(l, c);
      const fault = segv(c);
      const cb = c.callVh(() => ((ran = true), 1));
      gate.open();
      expect(await gate.request).toBe(1);
      await expect(fault).rejects.toThrow();
      await expect(cb).rejects.toThrow(VeoProcessDead);
      await tick();
      expect(ran).toBe(false);
    } finally {
      p.destroy();
    }
  });

  it("process exit with functions queued neither hangs nor aborts, and leaves no helper", async () => {
    const script = path.resolve(__dirname, "support/callvh-exit.ts");
    for (const mode of ["exit", "throw"]) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ["--import", "tsx", script, mode], {
        encoding: "utf8",
        timeout: 60_000,
        // The 2 s kernel is still running at exit; a grace well above it (the binding's and
        // the emulator's) means the emulator gives up on a helper (and logs it) only if a VH
        // thread is left blocked.
        env: {
          ...process.env,
          VE_OMP_NUM_THREADS: "1",
          VEO_LOG_DEBUG: "1",
          VEO_EMU_KILL_GRACE_MS: "10000",
          VEO_KILL_GRACE_MS: "10000",
        },
      });
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.signal, out).toBeNull();
      expect(r.status, out).toBe(mode === "exit" ? 0 : 1);
      expect(out).not.toMatch(/RAN|Abort|core dumped/);
      // No VH thread was left blocked for the emulator to give up on.
      expect(out).not.toMatch(/still busy|did not exit/);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const pids = [...r.stdout.matchAll(/^helper (\d+)$/gm)].map((m) => Number(m[1]));
      expect(pids.length, out).toBe(2);
      for (const pid of pids) expect(await gone(pid)).toBe(true);
    }
  });
});

describe("allocMemAsync / freeMemAsync", () => {
  it("allocate and free in queue order; the pointer works with every transfer", async () => {
    const p = await ctx.allocMemAsync(64);
    expect(p).toBeInstanceOf(VeMemPtr);
    expect(p.size).toBe(64);
    expect(p.proc).toBe(proc);
    const src = Float64Array.from({ length: 8 }, (_, i) => i * 1.5);
    ctx.asyncWriteMem(p, src);
    const back = new Float64Array(8);
    const read = ctx.asyncReadMem(back, p);
    const free = ctx.freeMemAsync(p); // queued after the read
    expect(p.freed).toBe(true);
    expect(() => ctx.asyncReadMem(back, p)).toThrow(VeoClosedError);
    expect(() => proc.freeMem(p)).toThrow(VeoClosedError);
    await read;
    expect([...back]).toEqual([...src]);
    expect(await free).toBeUndefined();
  });

  it("checks arguments and reports VE out-of-memory as a rejection", async () => {
    expect(() => ctx.allocMemAsync(-1)).toThrow(RangeError);
    expect(() => ctx.allocMemAsync("8" as unknown as number)).toThrow(TypeError);
    expect(() => ctx.allocMemAsync(undefined as unknown as number)).toThrow(
      /Argument 0 \(size\) of allocMemAsync/,
    );
    expect(() => ctx.freeMemAsync("x" as unknown as bigint)).toThrow(TypeError);
    await expect(ctx.allocMemAsync(2 ** 52)).rejects.toThrow(VeoFailedError);
    const other = new VeoProc(0);
    try {
      const q = other.allocMem(8);
      expect(() => ctx.freeMemAsync(q)).toThrow(/another proc/);
    } finally {
      other.destroy();
    }
  });
});

describe("ctx.block", () => {
  /** Submits from a pool thread: it would block forever if the block were still held. */
  function submitFromPool(c: VeoCtxt): Promise<void> {
    const buf = new Uint8Array(8);
    const api = ctxSlots.api(c);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the submission lock is still held")), 20_000);
      api.veo_async_write_mem.async(ctxSlots.handle(c), 0, buf, 0, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  it("returns the body's value; submissions inside are adjacent; blocks nest", async () => {
    const addOne = lib.declare("int add_one(int x)");
    const reqs = ctx.block(() => {
      const a = addOne(ctx, 1);
      const inner = ctx.block(() => [addOne(ctx, 2), ctx.callVh(() => 7)]);
      return [a, ...inner, addOne(ctx, 3)];
    });
    // callVh submits two requests (its gate, then itself).
    expect(reqs.map((r) => r.id - reqs[0].id)).toEqual([0, 1, 3, 4]);
    expect(await Promise.all(reqs)).toEqual([2, 3, 7, 4]);
    await submitFromPool(ctx);
  });

  it("ends the block when the body throws or returns a promise", async () => {
    const err = new Error("body");
    expect(() =>
      ctx.block(() => {
        throw err;
      }),
    ).toThrow(err);
    await submitFromPool(ctx);
    expect(() => ctx.block(async () => 1)).toThrow(TypeError);
    await submitFromPool(ctx);
    expect(() => ctx.block(1 as unknown as () => void)).toThrow(/Argument 0 \(body\) of block/);
  });
});

describe("contexts", () => {
  it("openContext({ stackSize }), proc.contexts in VEO's order, state, close", async () => {
    expect(() => proc.openContext({ stackSize: 1024 })).toThrow(RangeError);
    expect(() => proc.openContext({ stackSize: "big" as unknown as number })).toThrow(/options.stackSize/);
    expect(() => proc.openContext(5 as unknown as { stackSize: number })).toThrow(TypeError);
    const before = proc.contexts;
    expect(before[0]).toBe(ctx);
    const c = proc.openContext({ stackSize: 16 * 1024 * 1024 });
    try {
      expect(proc.contexts).toEqual([...before, c]);
      expect(c.state).toBe(ContextState.RUNNING);
      expect(await lib.declare("int add_one(int x)")(c, 41)).toBe(42);
    } finally {
      c.close();
    }
    expect(c.state).toBe(ContextState.EXIT);
    expect(proc.contexts).toEqual(before);
  });

  it("syncAsync resolves once everything submitted before it has finished, without blocking", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const k = sleep(ctx, 100);
    const failed = ctx.callVh(() => {
      throw new Error("ignored by syncAsync");
    });
    failed.catch(() => {});
    const last = sleep(ctx, 30);
    let resolved = false;
    const s = ctx.syncAsync().then(() => (resolved = true));
    expect(resolved).toBe(false);
    await s;
    expect(k.peek()).toEqual({ done: true, value: 100 });
    expect(last.settled).toBe(true);
    await ctx.syncAsync(); // nothing pending: resolves at once
  });
});

describe("ctx.callByName", () => {
  it("uses the declared types of a function of that name", async () => {
    lib.declare("double id_double(double x)");
    expect(await ctx.callByName(lib, "id_double", 1.25)).toBe(1.25);
    expect(() => ctx.callByName(lib, "id_double", "x")).toThrow(TypeError);
  });

  it("falls back to the loose rules for an undeclared function", async () => {
    const p = new VeoProc(0);
    try {
      const l = p.loadLibrary(kernel("basic"));
      const c = p.openContext();
      expect(await c.callByName(l, "sum5l", 1, 2, 3, 4, 5n)).toBe(1 + 4 + 9 + 16 + 25);
      const ve = p.allocMem(8);
      p.writeMem(ve, BigInt64Array.of(77n));
      expect(await c.callByName(l, "id_ptr", ve)).toBe(Number(ve.addr & 0xffffffffn) | 0); // int result
      expect(() => c.callByName(l, "sum5l", "1")).toThrow(/Argument 2 of callByName\(sum5l\)/);
      expect(() => c.callByName(l, "sum5l", 2n ** 64n)).toThrow(RangeError);
      expect(() => c.callByName({} as VeoLibrary, "sum5l")).toThrow(/Argument 0 \(lib\)/);
      expect(() => c.callByName(l, "")).toThrow(/Argument 1 \(name\)/);
      expect(() => c.callByName(l, "no_such_function")).toThrow(VeoFailedError);
      expect(() => ctx.callByName(l, "sum5l")).toThrow(/Argument 0 \(lib\)/); // another proc's library
    } finally {
      p.destroy();
    }
  });
});

describe("proc.on / proc.off (VEO memory hooks)", () => {
  it("tells listeners about allocations, asynchronously and in order", async () => {
    const events: VeoHookEvent[] = [];
    const all = (e: VeoHookEvent): void => void events.push(e);
    for (const t of ["alloc", "free", "allocHmem", "freeHmem", "allocAsync", "freeAsync"] as const)
      proc.on(t, all);
    try {
      const m = proc.allocMem(100);
      expect(events).toHaveLength(0); // not inside the call
      proc.freeMem(m);
      const h = proc.allocHmem(48);
      proc.freeHmem(h);
      const a = await ctx.allocMemAsync(32);
      await ctx.freeMemAsync(a);
      await tick();
      const seen = events.map((e) => [e.type, e.addr, e.size]);
      const plain = VeoHmem.getHmemAddr(h);
      expect(seen).toEqual([
        ["alloc", m.addr, 100],
        ["free", m.addr, undefined],
        ["alloc", plain, 48], // veo_alloc_hmem allocates through veo_alloc_mem
        ["allocHmem", h, 48],
        ["free", plain, undefined],
        ["freeHmem", h, undefined],
        ["allocAsync", a.addr, 32],
        ["freeAsync", a.addr, undefined],
      ]);
      expect(events.every((e) => e.proc === proc)).toBe(true);
      expect(events[6].ctx).toBe(ctx);
    } finally {
      for (const t of ["alloc", "free", "allocHmem", "freeHmem", "allocAsync", "freeAsync"] as const)
        proc.off(t, all);
    }
    proc.freeMem(proc.allocMem(8));
    await tick();
    expect(events).toHaveLength(8);
  });

  it("only the proc's own listeners hear; a throwing listener does not stop the others", async () => {
    const other = new VeoProc(0);
    try {
      const mine: bigint[] = [];
      const theirs: bigint[] = [];
      const listener = (e: VeoHookEvent): void => void theirs.push(e.addr);
      proc.on("alloc", (e) => void mine.push(e.addr));
      other.on("alloc", listener);
      const m = proc.allocMem(8);
      await tick();
      expect(mine).toEqual([m.addr]);
      expect(theirs).toEqual([]);
      const o = other.allocMem(8);
      await tick();
      expect(theirs).toEqual([o.addr]);
      other.off("alloc", listener);
      other.off("alloc", listener); // no-op
      other.allocMem(8);
      await tick();
      expect(theirs).toHaveLength(1);
    } finally {
      other.destroy();
    }
    expect(() => proc.on("malloc" as "alloc", () => {})).toThrow(/Argument 0 \(event\) of on/);
    expect(() => proc.on("alloc", null as unknown as () => void)).toThrow(/Argument 1 \(listener\) of on/);
    expect(() => proc.off("alloc", 1 as unknown as () => void)).toThrow(TypeError);
  });
});

describe("HMEM", () => {
  it("getProcHandleFromHmem finds the proc an HMEM address belongs to", () => {
    const other = new VeoProc(0);
    try {
      const a = proc.allocHmem(8);
      const b = other.allocHmem(8);
      expect(VeoHmem.getProcHandleFromHmem(a)).toBe(proc);
      expect(VeoHmem.getProcHandleFromHmem(b)).toBe(other);
      expect(VeoHmem.getProcHandleFromHmem(0x1000n)).toBeUndefined();
      // A tag no live proc has: undefined (VEO itself would abort on it).
      expect(VeoHmem.getProcHandleFromHmem((1n << 63n) | (15n << 59n) | 0x1000n)).toBeUndefined();
      expect(() => VeoHmem.getProcHandleFromHmem("x" as unknown as bigint)).toThrow(TypeError);
      expect(() => VeoHmem.getProcHandleFromHmem(-1n)).toThrow(RangeError);
      proc.freeHmem(a);
      other.freeHmem(b);
    } finally {
      other.destroy();
    }
    const ident = proc.identifier;
    const dead = new VeoProc(0);
    const h = dead.allocHmem(8);
    dead.destroy();
    expect(VeoHmem.getProcHandleFromHmem(h)).toBeUndefined();
    expect(proc.identifier).toBe(ident);
  });

  it("HMEM addresses are pointer arguments of kernels", async () => {
    const k = proc.loadLibrary(kernel("aveo"));
    const h = proc.allocHmem(8);
    try {
      VeoHmem.hmemcpy(h, BigInt64Array.of(1234n), 8);
      const read = k.declare("long hmem_read(long *p)");
      const add = k.declare("long hmem_add(long *p, long v)");
      expect(await read(ctx, h)).toBe(1234n);
      expect(await add(ctx, h, 6)).toBe(1240n);
      expect(await ctx.callByName(k, "hmem_read", h)).toBe(1240n);
      const out = new BigInt64Array(1);
      VeoHmem.hmemcpy(out, h, 8);
      expect(out[0]).toBe(1240n);
    } finally {
      proc.freeHmem(h);
    }
  });
});
