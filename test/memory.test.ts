/*
 * VE memory at the boundary: the proc's table of live blocks (bad frees are typed errors and
 * the VE process survives them), adoptMem, zero-size blocks, VeMemPtr's private state,
 * detached host buffers, sizes and offsets at their edges, and host buffers of pending
 * requests (in a child process, test/hostile/boundary.ts).
 */
import { describe, expect, it } from "vitest";

import { VeMemPtr, VeoClosedError, VeoError, type VeoProc } from "../src/index.js";
import { fileKernelProc } from "./support/fixture.js";
import { resizableBuffer } from "./support/buffers.js";
import { expectHostileOk } from "./support/hostile.js";

const { proc, lib, ctx } = fileKernelProc();

/** The proc still works after a refused call. */
async function usable(p: VeoProc = proc): Promise<void> {
  const m = p.allocMem(8);
  p.writeMem(m, new BigInt64Array([77n]));
  const back = new BigInt64Array(1);
  p.readMem(back, m);
  expect(back[0]).toBe(77n);
  p.freeMem(m);
  expect(await lib.declare("int add_one(int x)")(ctx, 1)).toBe(2);
  expect(p.dead).toBe(false);
}

function detach(b: ArrayBufferLike): void {
  structuredClone(b, { transfer: [b as ArrayBuffer] });
}

describe("bad frees are typed errors and the VE process survives them", () => {
  it("an interior pointer (p.offset(8))", async () => {
    const p = proc.allocMem(64);
    expect(() => proc.freeMem(p.offset(8))).toThrow(RangeError);
    expect(() => proc.freeMem(p.offset(8))).toThrow(
      /^Argument 0 \(ptr\) of freeMem .*points 8 bytes into the block/,
    );
    expect(() => proc.freeMem(p.addr + 8n)).toThrow(
      /^Argument 0 \(ptr\) of freeMem .*not the start of a live block/,
    );
    await usable();
    proc.freeMem(p);
    expect(p.freed).toBe(true);
  });

  it("a raw address twice, and a VeMemPtr after its raw address was freed", async () => {
    const p = proc.allocMem(32);
    proc.freeMem(p.addr);
    expect(p.freed).toBe(true);
    expect(() => proc.freeMem(p.addr)).toThrow(RangeError);
    expect(() => proc.freeMem(p.addr)).toThrow(
      /^Argument 0 \(ptr\) of freeMem \(0x[0-9a-f]+\) is not the start of a live block/,
    );
    expect(() => proc.freeMem(p)).toThrow(VeoClosedError);
    expect(() => proc.freeMem(p)).toThrow(/^Argument 0 \(ptr\) of freeMem .*was freed/);
    const q = proc.allocMem(16);
    proc.freeMem(Number(q.addr));
    expect(() => proc.freeMem(Number(q.addr))).toThrow(/^Argument 0 \(ptr\) of freeMem/);
    await usable();
  });

  it("an address never allocated, a data symbol, an HMEM block", async () => {
    expect(() => proc.freeMem(0x1234_5678n)).toThrow(RangeError);
    expect(() => proc.freeMem(0x1234_5678)).toThrow(/^Argument 0 \(ptr\) of freeMem \(0x12345678\)/);
    const sym = lib.getSymbol("buffer");
    expect(() => proc.freeMem(sym)).toThrow(TypeError);
    expect(() => proc.freeMem(sym)).toThrow(/^Argument 0 \(ptr\) of freeMem .*not memory from allocMem/);
    expect(() => proc.freeMem(sym.addr)).toThrow(RangeError);
    const h = proc.allocHmem(16);
    expect(() => proc.freeHmem(h + 8n)).toThrow(RangeError);
    proc.freeHmem(h);
    expect(() => proc.freeHmem(h)).toThrow(
      /^Argument 0 \(addr\) of freeHmem .*not the start of a live block/,
    );
    await usable();
  });

  it("NULL frees nothing; bad types are TypeErrors; the error classes are the documented ones", async () => {
    expect(() => proc.freeMem(0n)).not.toThrow();
    expect(() => proc.freeMem(0)).not.toThrow();
    expect(() => proc.freeMem("0x10" as unknown as bigint)).toThrow(TypeError);
    expect(() => proc.freeMem(-8n)).toThrow(RangeError);
    expect(() => proc.freeMem(Object.create(VeMemPtr.prototype) as VeMemPtr)).toThrow(
      /^Argument 0 \(ptr\) of freeMem is not a genuine VeMemPtr/,
    );
    const other = proc.allocMem(8);
    proc.freeMem(other);
    try {
      proc.freeMem(other);
    } catch (err) {
      expect(err).toBeInstanceOf(VeoError);
    }
    await usable();
  });

  it("memory a kernel allocated is adopted with adoptMem, then freed (or freed by a kernel)", async () => {
    const malloc = lib.declare("void *ve_malloc(long n)");
    const free = lib.declare("void ve_free(void *p)");
    const raw = await malloc(ctx, 24);
    expect(() => proc.freeMem(raw)).toThrow(/proc\.adoptMem/);
    const p = proc.adoptMem(raw, 24);
    expect(p.size).toBe(24);
    expect(() => proc.writeMem(p, new Uint8Array(32))).toThrow(RangeError);
    proc.writeMem(p, new Uint8Array(24).fill(3));
    proc.freeMem(raw);
    expect(p.freed).toBe(true);
    // A pointer the binding allocated, freed by a kernel: the VE may hand the address out
    // again, and the new block replaces the stale entry.
    const q = proc.allocMem(40);
    await free(ctx, q);
    const raw2 = await malloc(ctx, 40);
    const again = proc.adoptMem(raw2, 40);
    expect(q.freed).toBe(raw2 === q.addr);
    expect(again.freed).toBe(false);
    proc.freeMem(again);
    expect(() => proc.freeMem(raw2)).toThrow(/not the start of a live block/);
    const h = proc.allocHmem(8);
    expect(() => proc.adoptMem(h & ((1n << 59n) - 1n), 8)).toThrow(
      /^Argument 0 \(addr\) of adoptMem .*allocHmem block/,
    );
    proc.freeHmem(h);
    expect(() => proc.adoptMem(0n, 8)).toThrow(RangeError);
    expect(() => proc.adoptMem(proc.setProcIdentifier(0x1000n, 1), 8)).toThrow(/HMEM address/);
    expect(() => proc.adoptMem(0x1000n, undefined as unknown as number)).toThrow(TypeError);
    expect(() => proc.adoptMem(0x1000n, -1)).toThrow(/^Argument 1 \(size\) of adoptMem/);
    await usable();
  });
});

describe("freeMemAsync checks the same table", () => {
  it("refuses an interior pointer, a freed or unknown address; frees a block from allocMemAsync", async () => {
    const p = await ctx.allocMemAsync(32);
    expect(() => ctx.freeMemAsync(p.offset(8))).toThrow(
      /^Argument 0 \(ptr\) of freeMemAsync .*points 8 bytes into the block/,
    );
    expect(() => ctx.freeMemAsync(0x1234_5678n)).toThrow(RangeError);
    await ctx.freeMemAsync(p);
    expect(p.freed).toBe(true);
    expect(() => ctx.freeMemAsync(p.addr)).toThrow(
      /^Argument 0 \(ptr\) of freeMemAsync .*not the start of a live block/,
    );
    expect(() => proc.freeMem(p.addr)).toThrow(RangeError);
    const q = proc.allocMem(8);
    await ctx.freeMemAsync(q.addr);
    expect(q.freed).toBe(true);
    await ctx.freeMemAsync(0n);
    await usable();
  });
});

describe("zero-size blocks and VeMemPtr's private state", () => {
  it("allocMem(0) gives a zero-byte block: every transfer of more than 0 bytes is a RangeError", async () => {
    const z = proc.allocMem(0);
    expect(z.size).toBe(0);
    expect(() => proc.writeMem(z, new Uint8Array(1))).toThrow(
      /^writeMem: 1 bytes exceed the 0-byte VE block/,
    );
    expect(() => proc.readMem(new Uint8Array(8), z)).toThrow(RangeError);
    expect(() => ctx.asyncWriteMem(z, new Uint8Array(4))).toThrow(RangeError);
    expect(() => z.offset(1)).toThrow(/^Argument 0 \(bytes\) of offset must be an integer in \[0, 0\]/);
    proc.writeMem(z, new Uint8Array(0));
    proc.freeMem(z);
    await usable();
  });

  it("addr, size and proc cannot be changed; shadowing them changes nothing C sees", () => {
    const p = proc.allocMem(16);
    expect(() => ((p as unknown as { size: number }).size = 1 << 30)).toThrow(TypeError);
    expect(() => ((p as unknown as { addr: bigint }).addr = 0n)).toThrow(TypeError);
    Object.defineProperty(p, "size", { value: 1 << 30 });
    expect(() => proc.writeMem(p, new Uint8Array(64))).toThrow(/exceed the 16-byte VE block/);
    proc.freeMem(p);
  });

  it("offset: negative, NaN, fractional, past the end, on a freed block", () => {
    const p = proc.allocMem(16);
    for (const bad of [-1, NaN, 1.5, 17, Infinity, 2 ** 53])
      expect(() => p.offset(bad)).toThrow(/^Argument 0 \(bytes\) of offset/);
    expect(() => p.offset(8n as unknown as number)).toThrow(TypeError);
    expect(p.offset(16).size).toBe(0);
    expect(() => proc.writeMem(p.offset(16), new Uint8Array(1))).toThrow(RangeError);
    proc.freeMem(p);
    expect(() => p.offset(0)).toThrow(VeoClosedError);
  });
});

describe("host buffers and sizes at call time", () => {
  it("readMem/writeMem/async transfers with a detached buffer are TypeErrors naming it", async () => {
    const p = proc.allocMem(16);
    const d = new Uint8Array(16);
    detach(d.buffer);
    expect(() => proc.readMem(d, p)).toThrow(TypeError);
    expect(() => proc.readMem(d, p)).toThrow(/^Argument 0 \(dst\) of readMem is detached/);
    expect(() => proc.readMem(d, p, 0)).toThrow(/^Argument 0 \(dst\) of readMem is detached/);
    expect(() => proc.writeMem(p, d)).toThrow(/^Argument 1 \(src\) of writeMem is detached/);
    expect(() => ctx.asyncReadMem(d, p)).toThrow(/^Argument 0 \(dst\) of asyncReadMem is detached/);
    expect(() => ctx.asyncWriteMem(p, d)).toThrow(/^Argument 1 \(src\) of asyncWriteMem is detached/);
    const ab = new ArrayBuffer(16);
    detach(ab);
    expect(() => proc.readMem(ab, p)).toThrow(/^Argument 0 \(dst\) of readMem is detached/);
    const dvBuf = new ArrayBuffer(16);
    const dv = new DataView(dvBuf, 4);
    detach(dvBuf);
    expect(() => proc.writeMem(p, dv)).toThrow(/^Argument 1 \(src\) of writeMem is detached/);
    // A genuinely empty buffer is fine.
    proc.readMem(new Uint8Array(0), p);
    proc.freeMem(p);
    await usable();
  });

  it("async transfers refuse resizable ArrayBuffers (they could shrink before completion)", () => {
    const p = proc.allocMem(16);
    const r = new Uint8Array(resizableBuffer(16, 64));
    expect(() => ctx.asyncReadMem(r, p)).toThrow(TypeError);
    expect(() => ctx.asyncReadMem(r, p)).toThrow(
      /^Argument 0 \(dst\) of asyncReadMem is backed by a resizable ArrayBuffer/,
    );
    expect(() => ctx.asyncWriteMem(p, r)).toThrow(
      /^Argument 1 \(src\) of asyncWriteMem is backed by a resizable/,
    );
    // Synchronous transfers cannot see it shrink: fine.
    proc.writeMem(p, r);
    proc.freeMem(p);
  });

  it("sizes: NaN, negative, fractional, beyond 2**53, bigint edges", () => {
    const p = proc.allocMem(16);
    const b = new Uint8Array(16);
    for (const bad of [NaN, -1, 1.5, 2 ** 53, Infinity, 2n ** 53n, -1n])
      expect(() => proc.readMem(b, p, bad as number)).toThrow(/^Argument 2 \(size\) of readMem/);
    expect(() => proc.readMem(b, p, 17)).toThrow(/^Argument 2 \(size\) of readMem \(17\) is larger than dst/);
    proc.readMem(b, p, 16n as unknown as number);
    for (const bad of [NaN, -1, 0.5, 2 ** 53, "8"])
      expect(() => proc.allocMem(bad as number)).toThrow(/^Argument 0 \(size\) of allocMem/);
    expect(() => proc.readMem(b, 2n ** 64n)).toThrow(/^Argument 1 \(src\) of readMem/);
    expect(() => proc.readMem(b, 2 ** 53)).toThrow(/^Argument 1 \(src\) of readMem/);
    proc.freeMem(p);
  });

  it("SharedArrayBuffer views, DataViews with offsets and subarrays move exactly their bytes", async () => {
    const p = proc.allocMem(32);
    const shared = new Uint8Array(new SharedArrayBuffer(32));
    shared.fill(9);
    await ctx.asyncWriteMem(p, shared);
    const whole = new Uint8Array(48);
    const view = new DataView(whole.buffer, 8, 32);
    proc.readMem(view, p);
    expect(whole[7]).toBe(0);
    expect(whole[8]).toBe(9);
    expect(whole[39]).toBe(9);
    expect(whole[40]).toBe(0);
    const sub = new Uint8Array(64).subarray(16, 24);
    await ctx.asyncReadMem(sub, p);
    expect([...sub]).toEqual(new Array(8).fill(9));
    expect(sub.buffer.byteLength).toBe(64);
    expect(new Uint8Array(sub.buffer)[15]).toBe(0);
    expect(new Uint8Array(sub.buffer)[24]).toBe(0);
    proc.freeMem(p);
  });

  it("buffers of pending requests cannot be transferred away or collected (in a child process)", () => {
    expectHostileOk("boundary", "pending-transfer");
  });
});
