/*
 * Requests and the pump: await / wait / peek, exactly-once collection, thousands in flight
 * on several contexts settled in per-context order, async transfers ordered with calls,
 * context close, kernel faults and a killed helper.
 */
import { describe, expect, it } from "vitest";

import {
  VeoCallError,
  VeoClosedError,
  VeoKernelException,
  VeoProc,
  VeoProcessDead,
  VeoRequest,
  type VeoCtxt,
} from "../src/index.js";
import { gone } from "./support/checks.js";
import { fileKernelProc, openKernelProc } from "./support/fixture.js";
import { closeGate } from "./support/gate.js";
import { kernel } from "./support/kernels.js";

process.env.VE_OMP_NUM_THREADS = "1";

const { proc, lib, ctx } = fileKernelProc();

describe("a request", () => {
  it("has an id and a context; await, wait and peek give the same result once collected", async () => {
    const f = lib.declare("int add_one(int x)");
    const r = f(ctx, 1);
    expect(r).toBeInstanceOf(VeoRequest);
    expect(r.ctx).toBe(ctx);
    expect(typeof r.id).toBe("number");
    expect(await r).toBe(2);
    expect(r.wait()).toBe(2);
    expect(r.peek()).toEqual({ done: true, value: 2 });
    expect(r.settled).toBe(true);
    const r2 = f(ctx, 2);
    expect(r2.wait()).toBe(3);
    expect(await r2).toBe(3);
  });

  it("then(resolve, reject) with a promise's own resolvers returns a promise that settles after them", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const order: string[] = [];
    let resolveOuter!: (v: unknown) => void;
    let rejectOuter!: (e: unknown) => void;
    const outer = new Promise((res, rej) => {
      resolveOuter = res;
      rejectOuter = rej;
    });
    void outer.then((v) => order.push(`outer ${String(v)}`));
    // Long enough that the 5 ms timer below fires first even on a loaded machine.
    const r = sleep(ctx, 1000);
    const chained = r.then(resolveOuter, rejectOuter);
    const after = chained.then((v) => order.push(`chained ${String(v)}`));
    await new Promise((res) => setTimeout(res, 5));
    expect(r.settled).toBe(false);
    expect(order).toEqual([]);
    await after;
    expect(order).toEqual(["outer 1000", "chained undefined"]);

    // A rejection handed to the promise's reject resolver is handled: the chain resolves.
    const crash = openKernelProc();
    try {
      let res2!: (v: unknown) => void;
      let rej2!: (e: unknown) => void;
      const outer2 = new Promise((a, b) => {
        res2 = a;
        rej2 = b;
      });
      const caught = outer2.catch((e: unknown) => e);
      const slowCrash = crash.lib.declare("int do_sleep(int ms)");
      const segv = crash.lib.declare("int segv(void)");
      slowCrash(crash.ctx, 20);
      const chained2 = segv(crash.ctx).then(res2, rej2);
      await expect(chained2).resolves.toBeUndefined();
      expect(await caught).toBeInstanceOf(VeoKernelException);
    } finally {
      crash.proc.destroy();
    }
  });

  it("peek never blocks: done false while running, then the value", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const r = sleep(ctx, 100);
    expect(r.peek()).toEqual({ done: false });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.peek()).toEqual({ done: true, value: 100 });
    expect(await r).toBe(100);
  });

  it("wait() on a request another then() is waiting for still works", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const r = sleep(ctx, 50);
    const p = r.then((v) => v * 2);
    expect(r.wait()).toBe(50);
    expect(await p).toBe(100);
  });

  it("wait() on a request whose await is already blocked in the pool", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    for (let i = 0; i < 5; i++) {
      const r = sleep(ctx, 60);
      const p = r.then((v) => v * 2);
      await new Promise((res) => setTimeout(res, 20));
      expect(r.wait()).toBe(60);
      expect(await p).toBe(120);
    }
  });

  it("catch and Promise.all/allSettled treat it as a promise", async () => {
    const f = lib.declare("int add_one(int x)");
    expect(await Promise.all([f(ctx, 1), f(ctx, 2)])).toEqual([2, 3]);
    const s = await Promise.allSettled([f(ctx, 5)]);
    expect(s[0]).toEqual({ status: "fulfilled", value: 6 });
    expect(await f(ctx, 1).catch(() => -1)).toBe(2);
  });

  it("long kernels resolve through the pool (the event loop stays free)", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const v = await sleep(ctx, 200);
    clearInterval(timer);
    expect(v).toBe(200);
    expect(ticks).toBeGreaterThan(5);
  });
});

describe("many requests in flight", () => {
  it("20 000 requests on 3 contexts, awaited in random order, settle in per-context order", async () => {
    const { proc: p, lib: l } = openKernelProc();
    try {
      const record = l.declare("long record(long v)");
      const ctxs = [p.contexts[0], p.openContext(), p.openContext()];
      const N = 20000;
      const reqs: VeoRequest[] = [];
      const settledOrder = new Map<VeoCtxt, number[]>(ctxs.map((c) => [c, []]));
      for (let i = 0; i < N; i++) reqs.push(record(ctxs[i % 3], i));
      const order = reqs.map((_, i) => i).sort(() => Math.random() - 0.5);
      const results = await Promise.all(
        order.map((i) =>
          reqs[i].then((v) => {
            settledOrder.get(reqs[i].ctx)!.push(i);
            return [i, v] as const;
          }),
        ),
      );
      for (const [i, v] of results) expect(v).toBe(BigInt(i));
      for (const c of ctxs) {
        const ids = settledOrder.get(c)!;
        expect(ids.length).toBeGreaterThan(6000);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
      }
      const len = l.declare("long record_len(void)");
      expect(len.callSync()).toBe(BigInt(N));
    } finally {
      p.destroy();
    }
  });

  it("submit N then wait N in reverse, and mixed wait/peek/await, collect each once", async () => {
    const f = lib.declare("long id_i64(long v)");
    const reqs = Array.from({ length: 2000 }, (_, i) => f(ctx, i));
    for (let i = reqs.length - 1; i >= 1000; i--) expect(reqs[i].wait()).toBe(BigInt(i));
    const rest = reqs.slice(0, 1000);
    const values = await Promise.all(
      rest.map((r, i) => (i % 3 === 0 ? Promise.resolve(r.wait()) : i % 3 === 1 ? r : r.then((v) => v))),
    );
    expect(values).toEqual(rest.map((_, i) => BigInt(i)));
    for (const [i, r] of reqs.entries()) expect(r.peek()).toEqual({ done: true, value: BigInt(i) });
  });

  it("awaiting only the last of 50 000 requests", async () => {
    const f = lib.declare("long id_i64(long v)");
    let last!: VeoRequest;
    for (let i = 0; i < 50000; i++) last = f(ctx, i);
    expect(await last).toBe(49999n);
  });

  it("requests nobody awaits do not keep Node busy, and a later await still works", async () => {
    const f = lib.declare("int add_one(int x)");
    const rs = Array.from({ length: 100 }, (_, i) => f(ctx, i));
    ctx.sync();
    expect(await rs[99]).toBe(100);
    expect(rs[0].wait()).toBe(1);
  });
});

describe("then() collecting its own request", () => {
  it("a request that already finished: await, Promise.resolve and then() give its result; callbacks never run inside then()", async () => {
    const f = lib.declare("int add_one(int x)");
    const r = f(ctx, 41);
    ctx.sync(); // finished in VEO, not collected yet
    let called = false;
    const p = r.then((v) => {
      called = true;
      return v;
    });
    expect(called).toBe(false);
    expect(await p).toBe(42);
    expect(called).toBe(true);
    expect(await r).toBe(42);
    expect(await Promise.resolve(r)).toBe(42);
    expect(
      await new Promise((res, rej) => {
        void r.then(res, rej);
      }),
    ).toBe(42);
    expect(r.wait()).toBe(42);
    expect(r.peek()).toEqual({ done: true, value: 42 });

    const r2 = f(ctx, 1);
    ctx.sync();
    const order: string[] = [];
    const a = r2.then((v) => order.push(`a${v}`));
    const b = r2.then((v) => order.push(`b${v}`));
    const c = Promise.resolve(r2).then((v) => order.push(`c${v}`));
    await Promise.all([a, b, c]);
    expect(order).toEqual(["a2", "b2", "c2"]);
  });

  it("a newer request awaited before an older one that also finished still settles after it", async () => {
    const f = lib.declare("int add_one(int x)");
    for (let round = 0; round < 3; round++) {
      const older = f(ctx, 1);
      proc.readMem(new Uint8Array(8), proc.allocMem(8), 8); // a synchronous command between them
      const newer = f(ctx, 2);
      ctx.sync();
      const order: number[] = [];
      const pn = Promise.resolve(newer).then((v) => order.push(v));
      const po = Promise.resolve(older).then((v) => order.push(v));
      await Promise.all([pn, po]);
      expect(order).toEqual([2, 3]);
      // one at a time, in order: each is told at once
      const reqs = Array.from({ length: 50 }, (_, i) => f(ctx, i));
      for (let i = 0; i < reqs.length; i++) expect(await reqs[i]).toBe(i + 1);
    }
  });

  it("close() right after then() collected a request still gives that request its result", async () => {
    const c = proc.openContext();
    const f = lib.declare("int add_one(int x)");
    const r = f(c, 5);
    c.sync();
    const p = r.then((v) => v);
    const q = Promise.resolve(r);
    c.close();
    expect(await p).toBe(6);
    expect(await q).toBe(6);
  });

  it("Promise.all of 50 000 requests on 3 contexts, in submission and in random order, settles per context in order", async () => {
    const { proc: p, lib: l } = openKernelProc();
    try {
      const record = l.declare("long record(long v)");
      const ctxs = [p.contexts[0], p.openContext(), p.openContext()];
      const N = 50000;
      const expected = Array.from({ length: N }, (_, i) => BigInt(i));
      const reqs: VeoRequest[] = [];
      for (let i = 0; i < N; i++) reqs.push(record(ctxs[i % 3], i));
      expect(await Promise.all(reqs)).toEqual(expected);

      const again: VeoRequest[] = [];
      for (let i = 0; i < N; i++) again.push(record(ctxs[i % 3], N + i));
      const settled = new Map<VeoCtxt, number[]>(ctxs.map((c) => [c, []]));
      const order = again.map((_, i) => i).sort(() => Math.random() - 0.5);
      const values = await Promise.all(
        order.map((i) =>
          Promise.resolve(again[i]).then((v) => {
            settled.get(again[i].ctx)!.push(i);
            return v;
          }),
        ),
      );
      expect(values).toEqual(order.map((i) => BigInt(N + i)));
      for (const c of ctxs) {
        const ids = settled.get(c)!;
        expect(ids.length).toBeGreaterThan(16000);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
      }
      expect(l.declare("long record_len(void)").callSync()).toBe(BigInt(2 * N));
    } finally {
      p.destroy();
    }
  });

  it("await on a faulting request rejects with VeoKernelException, later ones with VeoProcessDead", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const add = l.declare("int add_one(int x)");
      const segv = l.declare("int segv(void)");
      // Behind a gate: on a loaded machine the fault could otherwise kill the helper before
      // `late` is submitted, and the submission itself would throw.
      const gate = closeGate(l, c);
      const ok = add(c, 1);
      const bad = segv(c);
      const late = add(c, 2);
      gate.open();
      expect(await ok).toBe(2);
      const caught = async (r: VeoRequest) => {
        try {
          await r;
        } catch (e) {
          return e;
        }
        throw new Error("resolved");
      };
      expect(await caught(bad)).toBeInstanceOf(VeoKernelException);
      expect(await caught(late)).toBeInstanceOf(VeoProcessDead);
      expect(() => bad.wait()).toThrow(VeoKernelException);
    } finally {
      p.destroy();
    }
  });
});

describe("many contexts", () => {
  it("8 contexts awaiting long kernels at once all finish together (the libuv pool is not exhausted)", async () => {
    const { proc: p, lib: l } = openKernelProc();
    try {
      const sleep = l.declare("int do_sleep(int ms)");
      const ctxs = [p.contexts[0], ...Array.from({ length: 7 }, () => p.openContext())];
      const t0 = performance.now();
      const fsDone = import("node:fs/promises").then((fs) => fs.stat("."));
      const results = await Promise.all(ctxs.map((c) => sleep(c, 600)));
      const took = performance.now() - t0;
      expect(results).toEqual(ctxs.map(() => 600));
      // One after another would take 4.8 s; the bound leaves room for a loaded machine.
      expect(took).toBeLessThan(2400);
      await fsDone;
    } finally {
      p.destroy();
    }
  });
});

describe("async transfers", () => {
  it("are ordered with calls on the same context", async () => {
    const fill = lib.declare("void fill(double *a, int n, double v)");
    const scale = lib.declare("void scale(double *a, int n, double f)");
    const n = 1024;
    const ve = proc.allocMem(n * 8);
    const src = new Float64Array(n).fill(3);
    const mid = new Float64Array(n);
    const out = new Float64Array(n);
    const reqs = [
      fill(ctx, ve, n, 1),
      ctx.asyncWriteMem(ve, src),
      scale(ctx, ve, n, 2),
      ctx.asyncReadMem(mid, ve),
      scale(ctx, ve, n, 10),
      ctx.asyncReadMem(out, ve, n * 8),
    ];
    const results = await Promise.all(reqs);
    expect(results).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(mid.every((v) => v === 6)).toBe(true);
    expect(out.every((v) => v === 60)).toBe(true);
    proc.freeMem(ve);
  });

  it("read a global variable and write 5 unaligned bytes (AVEO test_async_mem)", async () => {
    const buf = lib.getSymbol("buffer");
    const b = new BigUint64Array(1);
    await ctx.asyncReadMem(b, buf);
    expect(b[0]).toBe(0xdeadbeefdeadbeefn);
    ctx.asyncWriteMem(buf.addr + 1n, new Uint8Array([0x00, 0x01, 0x02, 0x00, 0x00]), 5).wait();
    ctx.asyncReadMem(b, buf).wait();
    expect(b[0]).toBe(0xdead0000020100efn);
    ctx.asyncWriteMem(buf, new BigUint64Array([0xdeadbeefdeadbeefn])).wait();
  });

  it("reject bad buffers and sizes before C", () => {
    const ve = proc.allocMem(16);
    expect(() => ctx.asyncReadMem(new Uint8Array(8), ve, 9)).toThrow(RangeError);
    expect(() => ctx.asyncWriteMem(ve, new Uint8Array(8), -1)).toThrow(RangeError);
    expect(() => ctx.asyncWriteMem(ve, new Uint8Array(32))).toThrow(RangeError);
    expect(() => ctx.asyncReadMem("x" as unknown as Uint8Array, ve)).toThrow(TypeError);
    expect(() => ctx.asyncReadMem(new Uint8Array(8), "x" as unknown as bigint)).toThrow(TypeError);
    proc.freeMem(ve);
  });
});

describe("closing a context", () => {
  it("rejects its pending requests at once and refuses new ones", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const c2 = p.openContext();
      const sleep = l.declare("int do_sleep(int ms)");
      const rs = [sleep(c2, 200), sleep(c2, 1)];
      const settled = Promise.allSettled(rs.map((r) => r.then((v) => v)));
      c2.close();
      for (const s of await settled) {
        expect((s as PromiseRejectedResult).reason).toBeInstanceOf(VeoClosedError);
      }
      expect(() => sleep(c2, 1)).toThrow(VeoClosedError);
      expect(() => c2.asyncWriteMem(0n, new Uint8Array(1))).toThrow(VeoClosedError);
      expect(() => c2.sync()).toThrow(VeoClosedError);
      expect(await sleep(c, 1)).toBe(1);
    } finally {
      p.destroy();
    }
  });

  it("requests nobody awaited settle as closed when asked after close()", async () => {
    const { proc: p, lib: l } = openKernelProc();
    try {
      const c2 = p.openContext();
      const sleep = l.declare("int do_sleep(int ms)");
      const a = sleep(c2, 100);
      const b = sleep(c2, 1);
      c2.close();
      expect(() => a.wait()).toThrow(VeoClosedError);
      expect(() => b.peek()).toThrow(VeoClosedError);
      await expect(b).rejects.toBeInstanceOf(VeoClosedError);
    } finally {
      p.destroy();
    }
  });

  it("sync() waits for everything submitted; Symbol.dispose closes", () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const record = l.declare("long record(long v)");
      const len = l.declare("long record_len(void)");
      for (let i = 0; i < 100; i++) record(c, i);
      c.sync();
      expect(len.callSync()).toBe(100n);
      c[Symbol.dispose]();
      expect(c.closed).toBe(true);
    } finally {
      p.destroy();
    }
  });
});

describe("kernel faults", () => {
  it.each([
    ["segv", "int segv(void)", [], 11],
    ["fpe", "int fpe(int x)", [1], 8],
    ["abort_now", "int abort_now(void)", [], 6],
  ] as const)(
    "%s rejects with VeoKernelException and every other request with VeoProcessDead",
    async (_n, proto, args, signal) => {
      const { proc: p, lib: l, ctx: c } = openKernelProc();
      try {
        const c2 = p.openContext();
        const sleep = l.declare("int do_sleep(int ms)");
        const bad = l.declare(proto);
        const other = sleep(c2, 2000);
        const gate = closeGate(l, c); // `after` is queued before the fault can happen
        const before = sleep(c, 1);
        const r = bad(c, ...args);
        const after = sleep(c, 1);
        gate.open();
        const [rr, ro, rb, ra] = await Promise.allSettled(
          [r, other, before, after].map((q) => q.then((v) => v)),
        );
        expect(rb).toEqual({ status: "fulfilled", value: 1 });
        expect(rr.status).toBe("rejected");
        const e = (rr as PromiseRejectedResult).reason;
        expect(e).toBeInstanceOf(VeoKernelException);
        expect(e.signal).toBe(signal);
        expect(e.code).toBe("VEO_KERNEL_EXCEPTION");
        expect((ro as PromiseRejectedResult).reason).toBeInstanceOf(VeoProcessDead);
        expect((ra as PromiseRejectedResult).reason).toBeInstanceOf(VeoProcessDead);
        expect(p.dead).toBe(true);
        expect(c.state).toBe(4);
        expect(() => sleep(c, 1)).toThrow(VeoProcessDead);
        expect(() => p.allocMem(8)).toThrow(VeoProcessDead);
        expect(() => r.wait()).toThrow(VeoKernelException);
      } finally {
        p.destroy();
      }
      const { proc: p2, lib: l2, ctx: c2 } = openKernelProc();
      expect(await l2.declare("int add_one(int)")(c2, 1)).toBe(2);
      p2.destroy();
    },
  );

  it("after a fault, a request nobody awaited that finished before it still gives its result", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const add = l.declare("int add_one(int)");
      const segv = l.declare("int segv(void)");
      const gate = closeGate(l, c); // all three are queued before the fault can happen
      const ok = add(c, 1);
      const bad = segv(c);
      const late = add(c, 2);
      gate.open();
      await expect(bad).rejects.toBeInstanceOf(VeoKernelException);
      expect(ok.wait()).toBe(2);
      expect(() => late.wait()).toThrow(VeoProcessDead);
      await expect(late).rejects.toBeInstanceOf(VeoProcessDead);
    } finally {
      p.destroy();
    }
  });

  it("a submit after the helper died of a fault (not seen yet) is VeoProcessDead saying why", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const add = l.declare("int add_one(int)");
      const pid = p._helperPid();
      expect(pid).toBeGreaterThan(0);
      // Nobody looks at the faulting request: the binding learns of the death at the submit.
      const bad = l.declare("int segv(void)")(c);
      expect(await gone(pid!, 30_000)).toBe(true);
      let err: unknown;
      try {
        add(c, 2);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(VeoProcessDead);
      // The cause as far as the host can tell (the signal only while the helper is unreaped).
      expect((err as Error).message).toMatch(
        /^add_one: veo_call_async refused the request: .* is dead: the VE process/,
      );
      expect((err as Error).message).not.toMatch(/REQUEST_ID_INVALID/);
      await expect(bad).rejects.toBeInstanceOf(VeoKernelException);
      expect(() => add(c, 3)).toThrow(VeoProcessDead);
    } finally {
      p.destroy();
    }
  });

  it("a fault seen by wait() and by callSync", () => {
    const a = openKernelProc();
    try {
      expect(() => a.lib.declare("int segv(void)")(a.ctx).wait()).toThrow(VeoKernelException);
      expect(a.proc.dead).toBe(true);
    } finally {
      a.proc.destroy();
    }
    const b = openKernelProc();
    try {
      expect(() => b.lib.declare("int segv(void)").callSync()).toThrow(VeoKernelException);
      expect(b.proc.dead).toBe(true);
    } finally {
      b.proc.destroy();
    }
  });

  it("a killed helper rejects pending requests with VeoProcessDead", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const pid = p._helperPid();
      expect(pid).toBeGreaterThan(0);
      const sleep = l.declare("int do_sleep(int ms)");
      const r = sleep(c, 5000);
      const settled = r.then(
        () => "resolved",
        (e) => e,
      );
      process.kill(pid!, "SIGKILL");
      const e = await settled;
      expect(e).toBeInstanceOf(VeoProcessDead);
      expect(p.dead).toBe(true);
      expect(() => sleep(c, 1)).toThrow(VeoProcessDead);
    } finally {
      p.destroy();
    }
  });

  it("with no context open: a fault in callSync, and a killed helper seen by sync calls", async () => {
    const a = new VeoProc(0);
    try {
      const l = a.loadLibrary(kernel("basic"));
      expect(() => l.declare("int segv(void)").callSync()).toThrow(VeoKernelException);
      expect(a.dead).toBe(true);
      expect(() => a.allocMem(8)).toThrow(VeoProcessDead);
    } finally {
      a.destroy();
    }
    const b = new VeoProc(0);
    try {
      const l = b.loadLibrary(kernel("basic"));
      process.kill(b._helperPid()!, "SIGKILL");
      await new Promise((res) => setTimeout(res, 100));
      expect(() => l.declare("int add_one(int)").callSync(1)).toThrow(VeoProcessDead);
      expect(b.dead).toBe(true);
    } finally {
      b.destroy();
    }
  });

  it("a kernel that exits the helper is VeoProcessDead, not a hang", async () => {
    const { proc: p, lib: l, ctx: c } = openKernelProc();
    try {
      const e = await l
        .declare("void exit_now(void)")(c)
        .then(
          () => "resolved",
          (err) => err,
        );
      expect(e).toBeInstanceOf(VeoProcessDead);
      expect(p.dead).toBe(true);
    } finally {
      p.destroy();
    }
  });

  it("VeoCallError exists for ERROR on a live proc", () => {
    expect(new VeoCallError("x").code).toBe("VEO_CALL_ERROR");
  });
});
