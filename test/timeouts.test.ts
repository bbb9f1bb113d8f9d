/*
 * Bounded waits (src/timeouts.ts and the waits that use it): req.wait({ timeoutMs }),
 * req.result({ timeoutMs, signal }), ctx.sync({ timeoutMs, signal }) and
 * VeoProc.create(node, { timeoutMs, signal }). A wait that gives up leaves its request alone.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { VeoClosedError, VeoProc, VeoTimeoutError } from "../src/index.js";
import { fileKernelProc, openKernelProc } from "./support/fixture.js";
import { runChild, waitGone } from "./support/child.js";

const { lib, ctx } = fileKernelProc();
const sleep = lib.declare("int do_sleep(int ms)");
const addOne = lib.declare("int add_one(int x)");

/** Live (non-zombie) child processes of this process. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const tid of fs.readdirSync("/proc/self/task")) {
    let kids: string;
    try {
      kids = fs.readFileSync(`/proc/self/task/${tid}/children`, "utf8");
    } catch {
      continue;
    }
    for (const pid of kids.split(" ").filter(Boolean).map(Number)) {
      try {
        if (!/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, "latin1"))) pids.push(pid);
      } catch {
        /* gone */
      }
    }
  }
  return pids;
}

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}

describe("req.wait({ timeoutMs })", () => {
  it("gives up with VeoTimeoutError; the request is collected by a later wait", () => {
    const r = sleep(ctx, 400);
    const err = caught(() => r.wait({ timeoutMs: 10 }));
    expect(err).toBeInstanceOf(VeoTimeoutError);
    expect((err as VeoTimeoutError).code).toBe("VEO_TIMEOUT");
    expect((err as VeoTimeoutError).timeoutMs).toBe(10);
    expect((err as Error).message).toMatch(/do_sleep \(request \d+\) did not finish within 10 ms/);
    expect(r.settled).toBe(false);
    expect(r.wait({ timeoutMs: 30_000 })).toBe(400);
    expect(addOne(ctx, 1).wait()).toBe(2);
  });

  it("returns at once for a finished request, and after the result with a generous limit", () => {
    const r = addOne(ctx, 41);
    expect(r.wait({ timeoutMs: 30_000 })).toBe(42);
    expect(r.wait({ timeoutMs: 0 })).toBe(42);
    expect(sleep(ctx, 20).wait({ timeoutMs: Infinity })).toBe(20);
  });

  it("a timed-out request can still be awaited", async () => {
    const r = sleep(ctx, 200);
    expect(() => r.wait({ timeoutMs: 1 })).toThrow(VeoTimeoutError);
    expect(await r).toBe(200);
  });

  it("an aborted signal throws its reason (or an AbortError) before waiting", () => {
    const r = sleep(ctx, 50);
    const err = caught(() => r.wait({ signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("AbortError");
    const reason = new Error("stop");
    expect(caught(() => r.wait({ signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(r.wait()).toBe(50);
  });

  it("checks its options", () => {
    const r = addOne(ctx, 1);
    expect(() => r.wait({ timeoutMs: -1 })).toThrow(RangeError);
    expect(() => r.wait({ timeoutMs: -1 })).toThrow(/options\.timeoutMs of wait/);
    expect(() => r.wait({ timeoutMs: NaN })).toThrow(/options\.timeoutMs/);
    expect(() => r.wait({ timeoutMs: "5" as never })).toThrow(TypeError);
    expect(() => r.wait({ signal: {} as never })).toThrow(/options\.signal of wait must be an AbortSignal/);
    expect(() => r.wait(5 as never)).toThrow(/Argument 0 \(options\) of wait/);
    expect(r.wait()).toBe(2);
  });
});

describe("req.result({ timeoutMs, signal })", () => {
  it("rejects with VeoTimeoutError; awaiting again gives the result", async () => {
    const r = sleep(ctx, 300);
    await expect(r.result({ timeoutMs: 10 })).rejects.toBeInstanceOf(VeoTimeoutError);
    expect(await r.result({ timeoutMs: 30_000 })).toBe(300);
    expect(await r).toBe(300);
  });

  it("rejects with an AbortError when the signal aborts, or with its reason", async () => {
    const ac = new AbortController();
    const r = sleep(ctx, 300);
    const p = r.result({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    const reason = new Error("enough");
    const ac2 = new AbortController();
    const p2 = r.result({ signal: ac2.signal });
    ac2.abort(reason);
    await expect(p2).rejects.toBe(reason);
    expect(await r).toBe(300);
  });

  it("resolves like await when in time; rejects bad options instead of throwing", async () => {
    expect(await addOne(ctx, 9).result({ timeoutMs: 30_000 })).toBe(10);
    expect(await addOne(ctx, 9).result()).toBe(10);
    const r = addOne(ctx, 1);
    const bad = r.result({ timeoutMs: -5 });
    await expect(bad).rejects.toBeInstanceOf(RangeError);
    expect(await r).toBe(2);
  });
});

describe("ctx.sync({ timeoutMs, signal })", () => {
  it("resolves once everything submitted finished, without blocking", async () => {
    const rs = [sleep(ctx, 30), sleep(ctx, 30), addOne(ctx, 1)];
    const p = ctx.sync({ timeoutMs: 30_000 });
    expect(p).toBeInstanceOf(Promise);
    expect(rs.every((r) => !r.settled)).toBe(true);
    await p;
    expect(rs.map((r) => r.peek())).toEqual([
      { done: true, value: 30 },
      { done: true, value: 30 },
      { done: true, value: 2 },
    ]);
  });

  it("gives up with VeoTimeoutError or AbortError; the context keeps working", async () => {
    const r = sleep(ctx, 300);
    await expect(ctx.sync({ timeoutMs: 5 })).rejects.toBeInstanceOf(VeoTimeoutError);
    await expect(ctx.sync({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    await ctx.sync({});
    expect(r.peek()).toEqual({ done: true, value: 300 });
    expect(await addOne(ctx, 2)).toBe(3);
  });

  it("rejects on a closed context", async () => {
    const k = openKernelProc();
    try {
      k.ctx.close();
      await expect(k.ctx.sync({ timeoutMs: 1000 })).rejects.toBeInstanceOf(VeoClosedError);
      expect(() => k.ctx.sync()).toThrow(VeoClosedError);
    } finally {
      k.proc.destroy();
    }
  });
});

describe("VeoProc.create(node, { timeoutMs, signal })", () => {
  it("checks its options; the constructor refuses the ones it cannot honour", async () => {
    await expect(VeoProc.create(0, { timeoutMs: -1 })).rejects.toThrow(
      /options\.timeoutMs of VeoProc\.create/,
    );
    await expect(VeoProc.create(0, { signal: "x" as never })).rejects.toThrow(/options\.signal/);
    expect(() => new VeoProc(0, { timeoutMs: 100 })).toThrow(/apply to VeoProc\.create only/);
    expect(() => new VeoProc(0, { killGraceMs: -1 })).toThrow(/options\.killGraceMs/);
  });

  it("an aborted signal rejects at once; within the limit a proc is made", async () => {
    await expect(VeoProc.create(0, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
    const p = await VeoProc.create(0, { timeoutMs: 60_000 });
    expect(p.destroyed).toBe(false);
    p.destroy();
  });

  it("a VE process that starts after the caller gave up is destroyed", async () => {
    const before = childPids();
    const ac = new AbortController();
    // "pipe": the next creation waits until this one's C call returned.
    const made = VeoProc.create(0, { signal: ac.signal, stdout: "pipe" });
    ac.abort(); // the creation is already running on the pool
    await expect(made).rejects.toMatchObject({ name: "AbortError" });
    const next = await VeoProc.create(0);
    const mine = next._helperPid();
    next.destroy();
    const until = Date.now() + 20_000;
    let extra = childPids().filter((p) => !before.includes(p) && p !== mine);
    while (extra.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      extra = childPids().filter((p) => !before.includes(p) && p !== mine);
    }
    expect(extra).toEqual([]);
  });

  it("a helper that never attaches: rejects at the limit, and the late VE process is ended", async () => {
    // A "helper" that never talks to the library: creation can only end by its own bound.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-noattach-"));
    const helper = path.join(dir, "veorun");
    fs.writeFileSync(helper, '#!/bin/sh\necho $$ > "$0.pid"\nexec sleep 4\n', { mode: 0o755 });
    const r = await runChild(
      `
      import { VeoProc } from "SRC";
      const t0 = performance.now();
      try {
        await VeoProc.create(0, { veorun: ${JSON.stringify(helper)}, timeoutMs: 300 });
        console.log("created");
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, code: e.code, ms: performance.now() - t0 }));
      }
      const ac = new AbortController();
      const p = VeoProc.create(0, { veorun: ${JSON.stringify(helper)}, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      const t1 = performance.now();
      try { await p; } catch (e) { console.log(JSON.stringify({ name: e.name, ms: performance.now() - t1 })); }
      process.exit(0);
      `,
      { env: { VEO_EMU_START_TIMEOUT_MS: "3000" }, timeoutMs: 90_000 },
    );
    const pid = Number(fs.readFileSync(`${helper}.pid`, "utf8"));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.timedOut, r.stderr).toBe(false);
    expect(await waitGone([pid])).toEqual([]);
    const lines = r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"));
    expect(lines, r.stdout + r.stderr).toHaveLength(2);
    const timedOut = JSON.parse(lines[0]) as { name: string; code: string; ms: number };
    expect(timedOut).toMatchObject({ name: "VeoTimeoutError", code: "VEO_TIMEOUT" });
    // Rejected by our timer, not by the library's own (much later) bound.
    expect(timedOut.ms).toBeLessThan(2500);
    expect(JSON.parse(lines[1])).toMatchObject({ name: "AbortError" });
  });
});
