/*
 * HMEM: tagged VE addresses from allocHmem, the VeoHmem helpers, hmemcpy both ways, and a
 * kernel that strips the tag.
 */
import { describe, expect, it } from "vitest";

import { VeoHmem, VeoProc } from "../src/index.js";
import { fileKernelProc } from "./support/fixture.js";
import { expectHostileOk } from "./support/hostile.js";

const { proc, lib, ctx } = fileKernelProc();

describe("HMEM", () => {
  it("allocHmem gives a tagged address carrying the proc identifier", () => {
    const h = proc.allocHmem(64);
    try {
      expect(typeof h).toBe("bigint");
      expect(VeoHmem.isVeAddr(h)).toBe(true);
      expect(VeoHmem.getProcIdentifierFromHmem(h)).toBe(proc.identifier);
      const plain = VeoHmem.getHmemAddr(h);
      expect(plain >> 59n).toBe(0n);
      expect(VeoHmem.isVeAddr(plain)).toBe(false);
      expect(VeoHmem.getProcIdentifierFromHmem(plain)).toBe(-1);
    } finally {
      proc.freeHmem(h);
    }
  });

  it("hmemcpy host -> VE -> host, and a kernel reading through the tag", async () => {
    const h = proc.allocHmem(8 * 4);
    try {
      VeoHmem.hmemcpy(h, new BigInt64Array([1n, 2n, 3n, 4n]), 32);
      const sum = lib.declare("long hmem_sum(long *p, int n)");
      expect(await sum(ctx, h, 4)).toBe(10n);
      expect(lib.declare("int hmem_is_ve(void *p)")(ctx, h).wait()).toBe(1);
      const back = new BigInt64Array(4);
      VeoHmem.hmemcpy(back, h, 32);
      expect([...back]).toEqual([1n, 2n, 3n, 4n]);
      const plain = new BigInt64Array(4);
      proc.readMem(plain, VeoHmem.getHmemAddr(h));
      expect([...plain]).toEqual([1n, 2n, 3n, 4n]);
    } finally {
      proc.freeHmem(h);
    }
  });

  it("setProcIdentifier tags an address; i64ToAddr reinterprets signed values", () => {
    const tagged = proc.setProcIdentifier(0x1000n, 3);
    expect(tagged).toBe((1n << 63n) | (3n << 59n) | 0x1000n);
    expect(VeoHmem.getProcIdentifierFromHmem(tagged)).toBe(3);
    expect(() => proc.setProcIdentifier(0x1000n, 16)).toThrow(RangeError);
    expect(proc.i64ToAddr(-2)).toBe(2n ** 64n - 2n);
    expect(proc.i64ToAddr(5n)).toBe(5n);
    expect(() => proc.i64ToAddr(2n ** 63n)).toThrow(RangeError);
  });

  it("bad arguments", () => {
    expect(() => VeoHmem.hmemcpy(new Uint8Array(4), new Uint8Array(8), 8)).toThrow(RangeError);
    expect(() => VeoHmem.hmemcpy("x" as unknown as bigint, new Uint8Array(8), 8)).toThrow(TypeError);
    expect(() => VeoHmem.isVeAddr(-1n)).toThrow(RangeError);
    expect(() => proc.allocHmem(-1)).toThrow(RangeError);
    expect(() => proc.freeHmem(5 as unknown as bigint)).toThrow(TypeError);
  });

  it("non-HMEM addresses are refused before C, where they would be host pointers (in a child process)", () => {
    expectHostileOk("boundary", "hmem-addresses");
  });

  it("hmemcpy and freeHmem accept only live HMEM blocks of live procs; the proc stays usable", async () => {
    const m = proc.allocMem(16);
    const buf = new Uint8Array(16);
    expect(() => VeoHmem.hmemcpy(m.addr, buf, 16)).toThrow(TypeError);
    expect(() => VeoHmem.hmemcpy(m.addr, buf, 16)).toThrow(
      /^Argument 0 \(dst\) of hmemcpy .*bit 63 is clear/,
    );
    expect(() => proc.freeHmem(m.addr)).toThrow(/^Argument 0 \(addr\) of freeHmem .*not an HMEM address/);
    expect(() => proc.freeHmem(-1n)).toThrow(RangeError);
    const h = proc.allocHmem(16);
    expect(() => VeoHmem.hmemcpy(buf, h + 8n, 16)).toThrow(
      /^Argument 1 \(src\) of hmemcpy .*16 bytes from there are not inside a live block/,
    );
    VeoHmem.hmemcpy(buf, h + 8n, 8);
    proc.freeHmem(h);
    expect(() => proc.freeHmem(h)).toThrow(RangeError);
    expect(() => VeoHmem.hmemcpy(buf, h, 8)).toThrow(/not inside a live block/);
    // An HMEM address of a destroyed proc.
    const p2 = new VeoProc(0);
    const h2 = p2.allocHmem(8);
    const id2 = VeoHmem.getProcIdentifierFromHmem(h2);
    p2.destroy();
    if (id2 !== proc.identifier) {
      expect(() => VeoHmem.hmemcpy(h2, buf, 8)).toThrow(/^Argument 0 \(dst\) of hmemcpy .*no live VeoProc/);
    }
    proc.freeMem(m);
    expect(await lib.declare("int add_one(int x)")(ctx, 1)).toBe(2);
    expect(proc.dead).toBe(false);
  });
});
