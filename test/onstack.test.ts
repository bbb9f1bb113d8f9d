/*
 * OnStack: private, immutable state recognised by brand; the per-call re-check of its buffer
 * (detached, shrunk); the VE stack limit; OUT buffers pinned while the request runs. The
 * cases that used to crash Node run in a child process (test/hostile/boundary.ts).
 */
import { describe, expect, it } from "vitest";

import { Intent, OnStack } from "../src/index.js";
import { fileKernelProc, openKernelProc } from "./support/fixture.js";
import { resizableBuffer } from "./support/buffers.js";
import { expectHostileOk } from "./support/hostile.js";

const { proc, lib, ctx } = fileKernelProc();

describe("OnStack state", () => {
  it("is fixed at construction: size, buffer and intent cannot be changed", async () => {
    const a = new Int32Array([1, 2, 3, 4]);
    const st = new OnStack(a, { size: 8 });
    expect(st.size).toBe(8);
    expect(st.buffer).toBe(a);
    expect(st.intent).toBe(Intent.IN);
    expect(() => ((st as unknown as { size: number }).size = 16)).toThrow(TypeError);
    expect(() => ((st as unknown as { intent: number }).intent = Intent.OUT)).toThrow(TypeError);
    expect(st.size).toBe(8);
    // Shadowing the getters with own properties changes what a user reads, not what C gets.
    Object.defineProperty(st, "size", { value: 1 << 30 });
    const f = lib.declare("long stack_in(const int *p, int n)");
    expect(await f(ctx, st, 2)).toBe(3n);
    expect(String(new OnStack(a, { intent: Intent.INOUT }))).toBe("OnStack(16 bytes, INOUT)");
  });

  it("forged, detached or shrunk OnStacks, forged contexts and hand-made VeMemPtrs are typed errors naming the argument (in a child process)", () => {
    expectHostileOk("boundary", "onstack-forged", "onstack-detached", "forged-objects");
  });

  it("a forged OnStack is a TypeError in this process too, and the proc lives on", async () => {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const forged = Object.create(OnStack.prototype) as OnStack;
    expect(() => f(ctx, forged, 4)).toThrow(TypeError);
    expect(() => f(ctx, forged, 4)).toThrow(/^Argument 1 \(p: int \*\) of stack_in is not a genuine OnStack/);
    expect(await f(ctx, new OnStack(new Int32Array([5, 6])), 2)).toBe(11n);
    expect(proc.dead).toBe(false);
  });
});

describe("OnStack buffers at call time", () => {
  it("a buffer detached after construction is a TypeError, not VEO_REQUEST_ID_INVALID", async () => {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const a = new Int32Array([1, 2, 3, 4]);
    const st = new OnStack(a);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    expect(() => f(ctx, st, 4)).toThrow(TypeError);
    expect(() => f(ctx, st, 4)).toThrow(/^Argument 1 \(p: int \*\) of stack_in \(an OnStack\) is detached/);
    expect(() => new OnStack(a)).toThrow(/^Argument 0 \(buffer\) of OnStack is detached/);
    expect(await f(ctx, new OnStack(new Int32Array([1, 1])), 2)).toBe(2n);
  });

  it("a zero-length buffer is fine; a DataView or subarray passes exactly its own bytes", async () => {
    const f = lib.declare("long stack_in(const int *p, int n)");
    expect(await f(ctx, new OnStack(new Int32Array(0)), 0)).toBe(0n);
    const whole = new Int32Array([100, 1, 2, 3, 100]);
    expect(await f(ctx, new OnStack(whole.subarray(1, 4)), 3)).toBe(6n);
    expect(await f(ctx, new OnStack(new DataView(whole.buffer, 4, 12)), 3)).toBe(6n);
    const shared = new Int32Array(new SharedArrayBuffer(16));
    shared.set([1, 2, 3, 4]);
    expect(await f(ctx, new OnStack(shared), 4)).toBe(10n);
    const out = lib.declare("int stack_out(int *p, int n)");
    const sharedOut = new Int32Array(new SharedArrayBuffer(16));
    expect(await out(ctx, new OnStack(sharedOut, { intent: Intent.OUT }), 4)).toBe(4);
    expect([...sharedOut]).toEqual([0, 1, 4, 9]);
  });

  it("an OUT buffer stays ours while the request runs: transfers copy (Node 20) or throw", async () => {
    const sleep = lib.declare("int do_sleep(int ms)");
    const out = lib.declare("int stack_out(int *p, int n)");
    const first = sleep(ctx, 100);
    const o = new Int32Array(4);
    const req = out(ctx, new OnStack(o, { intent: Intent.OUT }), 4);
    let threw: unknown;
    try {
      structuredClone(o.buffer, { transfer: [o.buffer] });
    } catch (err) {
      threw = err;
    }
    if (threw !== undefined) expect((threw as Error).name).toBe("DataCloneError");
    expect(o.byteLength).toBe(16);
    expect(await first).toBe(100);
    expect(await req).toBe(4);
    expect([...o]).toEqual([0, 1, 4, 9]);
  });
});

describe("callByName", () => {
  it("re-checks OnStacks by brand in the undeclared (loose) form too", async () => {
    const k = openKernelProc(); // stack_in not declared there: the loose form
    try {
      const forged = Object.create(OnStack.prototype) as OnStack;
      const call = (v: unknown): unknown => k.ctx.callByName(k.lib, "stack_in", v, 4);
      expect(() => call(forged)).toThrow(TypeError);
      expect(() => call(forged)).toThrow(/^Argument 2 of callByName\(stack_in\) is not a genuine OnStack/);
      const a = new Int32Array([1, 2, 3, 4]);
      const st = new OnStack(a);
      Object.defineProperty(st, "size", { value: 1 << 30 });
      expect(await (call(st) as Promise<number>)).toBe(10);
      structuredClone(a.buffer, { transfer: [a.buffer] });
      expect(() => call(st)).toThrow(/^Argument 2 of callByName\(stack_in\) \(an OnStack\) is detached/);
      expect(k.proc.dead).toBe(false);
    } finally {
      k.proc.destroy();
    }
  });
});

describe("synchronous calls", () => {
  it("callSync re-checks its OnStacks but pins nothing: the buffer stays transferable", () => {
    const out = lib.declare("int stack_out(int *p, int n)");
    const o = new Int32Array(resizableBuffer(16, 64));
    expect(out.callSync(new OnStack(o, { intent: Intent.OUT }), 4)).toBe(4);
    expect([...o]).toEqual([0, 1, 4, 9]);
    const plain = new Int32Array(4);
    expect(out.callSync(new OnStack(plain, { intent: Intent.OUT }), 4)).toBe(4);
    structuredClone(plain.buffer, { transfer: [plain.buffer] });
    expect(plain.byteLength).toBe(0);
    expect(() => out.callSync(new OnStack(o, { intent: Intent.OUT, size: 16 }), 4)).not.toThrow();
  });
});

describe("the VE stack limit", () => {
  it("one OnStack over 63 MiB is a RangeError naming options.size", () => {
    const big = new Uint8Array(64 << 20);
    expect(() => new OnStack(big)).toThrow(RangeError);
    expect(() => new OnStack(big)).toThrow(
      /^options\.size of OnStack \(67108864 bytes\) exceeds the VE stack limit/,
    );
    expect(() => new OnStack(big, { size: 62 << 20 })).not.toThrow();
  });

  it("several OnStacks together over the limit name the argument that crossed it", async () => {
    const g = lib.declare("long mod_buff(const long *a, long *b, int n)");
    const a = new BigInt64Array((32 << 20) >> 3);
    const b = new BigInt64Array((32 << 20) >> 3);
    expect(() => g(ctx, new OnStack(a), new OnStack(b, { intent: Intent.OUT }), 1)).toThrow(RangeError);
    expect(() => g(ctx, new OnStack(a), new OnStack(b, { intent: Intent.OUT }), 1)).toThrow(
      /^Argument 2 \(b: long \*\) of mod_buff: the call's stack arguments \(67108864 bytes/,
    );
    a[0] = 5n;
    const small = new BigInt64Array(1);
    expect(await g(ctx, new OnStack(a.subarray(0, 1)), new OnStack(small, { intent: Intent.OUT }), 1)).toBe(
      5n,
    );
    expect(small[0]).toBe(7n);
    expect(proc.dead).toBe(false);
  });
});
