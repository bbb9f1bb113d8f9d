/*
 * Hostile calls at the C boundary that used to crash Node (run by test/support/hostile.ts in
 * a child process; the scenarios named on the command line run in order, each on a new proc). Each scenario checks that every call gets its
 * typed error naming the argument and that the proc stays usable, then prints "ok <name>".
 */
import { MessageChannel } from "node:worker_threads";

import { Intent, OnStack, VeMemPtr, VeoCtxt, VeoHmem } from "../../src/index.js";
import { resizableBuffer } from "../support/buffers.js";
import { check, expectThrow, runScenarios, stillUsable, type Scenario } from "./common.js";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const scenarios: Record<string, Scenario> = {
  async "hmem-addresses"(proc, lib, ctx) {
    const p = proc.allocMem(64);
    const buf = new Uint8Array(8);
    // Untagged addresses would be host pointers inside Node.
    expectThrow(
      "hmemcpy to a plain VE address",
      () => VeoHmem.hmemcpy(p.addr, buf, 8),
      TypeError,
      /^Argument 0 \(dst\) of hmemcpy .*not an HMEM address/,
    );
    expectThrow(
      "hmemcpy from a plain address",
      () => VeoHmem.hmemcpy(buf, 0x1000n, 8),
      TypeError,
      /^Argument 1 \(src\) of hmemcpy .*not an HMEM address/,
    );
    expectThrow(
      "hmemcpy from a number",
      () => VeoHmem.hmemcpy(buf, 4096 as unknown as bigint, 8),
      TypeError,
      /^Argument 1 \(src\) of hmemcpy/,
    );
    expectThrow(
      "freeHmem of a plain VE address",
      () => proc.freeHmem(p.addr),
      TypeError,
      /^Argument 0 \(addr\) of freeHmem .*not an HMEM address/,
    );
    expectThrow(
      "freeHmem of a host-looking address",
      () => proc.freeHmem(0x7fff_0000_1000n),
      TypeError,
      /^Argument 0 \(addr\) of freeHmem/,
    );
    const ident = proc.identifier;
    const other = proc.setProcIdentifier(0x1000n, (ident + 5) % 16);
    expectThrow(
      "freeHmem of another identifier",
      () => proc.freeHmem(other),
      RangeError,
      /^Argument 0 \(addr\) of freeHmem .*proc identifier/,
    );
    expectThrow(
      "hmemcpy with an identifier of no proc",
      () => VeoHmem.hmemcpy(other, buf, 8),
      RangeError,
      /^Argument 0 \(dst\) of hmemcpy .*no live VeoProc/,
    );
    const h = proc.allocHmem(32);
    expectThrow(
      "hmemcpy past the HMEM block",
      () => VeoHmem.hmemcpy(h, new Uint8Array(64), 64),
      RangeError,
      /^Argument 0 \(dst\) of hmemcpy .*not inside a live block/,
    );
    expectThrow(
      "freeHmem of an interior address",
      () => proc.freeHmem(h + 8n),
      RangeError,
      /^Argument 0 \(addr\) of freeHmem .*not the start of a live block/,
    );
    expectThrow(
      "freeMem of an HMEM block's plain address",
      () => proc.freeMem(VeoHmem.getHmemAddr(h)),
      RangeError,
      /^Argument 0 \(ptr\) of freeMem .*allocHmem/,
    );
    VeoHmem.hmemcpy(h, new Uint8Array(32).fill(7), 32);
    VeoHmem.hmemcpy(h + 8n, new Uint8Array(8).fill(9), 8); // an interior address inside the block is fine
    const back = new Uint8Array(32);
    VeoHmem.hmemcpy(back, h, 32);
    check("hmemcpy data", back[0] === 7 && back[8] === 9 && back[31] === 7);
    // A VeMemPtr's address tagged by hand is an HMEM address of a block veo-ts allocated.
    VeoHmem.hmemcpy(proc.setProcIdentifier(p.addr, ident), new Uint8Array(64).fill(1), 64);
    proc.freeHmem(h);
    expectThrow(
      "freeHmem twice",
      () => proc.freeHmem(h),
      RangeError,
      /^Argument 0 \(addr\) of freeHmem .*not the start of a live block/,
    );
    expectThrow(
      "hmemcpy into a freed block",
      () => VeoHmem.hmemcpy(h, buf, 8),
      RangeError,
      /^Argument 0 \(dst\) of hmemcpy .*not inside a live block/,
    );
    proc.freeMem(p);
    await stillUsable(proc, lib, ctx);
  },

  async "onstack-forged"(proc, lib, ctx) {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const st = new OnStack(new Int32Array([1, 2, 3, 4]));
    expectThrow(
      "assigning size",
      () => ((st as unknown as { size: number }).size = 1 << 30),
      TypeError,
      /size/,
    );
    Object.defineProperty(st, "size", { value: 1 << 30 });
    Object.defineProperty(st, "buffer", { value: new Int32Array(1) });
    check("shadowed fields change nothing", (await f(ctx, st, 4)) === 10n);
    const forged = Object.create(OnStack.prototype) as OnStack;
    expectThrow(
      "Object.create(OnStack.prototype)",
      () => f(ctx, forged, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in is not a genuine OnStack/,
    );
    Object.defineProperties(forged, {
      buffer: { value: new Int32Array(4) },
      size: { value: 1 << 30 },
      intent: { value: Intent.OUT },
    });
    expectThrow(
      "forged with fields",
      () => f(ctx, forged, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in is not a genuine OnStack/,
    );
    const lookalike = Object.setPrototypeOf(
      { buffer: new Int32Array(4), size: 1 << 30, intent: 0 },
      OnStack.prototype,
    ) as OnStack;
    expectThrow(
      "setPrototypeOf lookalike",
      () => f.callSync(lookalike, 4),
      TypeError,
      /not a genuine OnStack/,
    );
    await stillUsable(proc, lib, ctx);
  },

  async "forged-objects"(proc, lib, ctx) {
    const add = lib.declare("int add_one(int x)");
    const fake = Object.create(VeoCtxt.prototype) as VeoCtxt;
    Object.defineProperties(fake, {
      proc: { value: proc },
      _handle: { value: 0xdead0 },
      _api: { value: proc._api },
      _usable: { value: true },
      _closed: { value: false },
    });
    expectThrow(
      "a forged context",
      () => add(fake, 1),
      TypeError,
      /^Argument 0 \(ctx\) of add_one must be a VeoCtxt from proc\.openContext\(\)/,
    );
    const m = proc.allocMem(8);
    expectThrow(
      "a method called on a forged context",
      () => VeoCtxt.prototype.asyncReadMem.call(fake, new Uint8Array(8), m),
      TypeError,
      /not a genuine VeoCtxt/,
    );
    expectThrow(
      "sync on a forged context",
      () => (VeoCtxt.prototype.sync as () => void).call(fake),
      TypeError,
      /not a genuine VeoCtxt/,
    );
    const Ptr = VeMemPtr as unknown as new (...a: unknown[]) => VeMemPtr;
    expectThrow(
      "VeMemPtr with a string address",
      () => new Ptr(proc, "0x10", 8),
      TypeError,
      /^Argument 1 \(addr\) of VeMemPtr/,
    );
    expectThrow(
      "VeMemPtr with a NaN size",
      () => new Ptr(proc, 16n, NaN),
      TypeError,
      /^Argument 2 \(size\) of VeMemPtr/,
    );
    expectThrow(
      "VeMemPtr with a forged block",
      () => new Ptr(proc, 16n, 8, { addr: 16n, size: 8, kind: "mem", freed: false }),
      TypeError,
      /^Argument 3 of VeMemPtr is internal/,
    );
    const loose = new Ptr(proc, m.addr, 1 << 30);
    expectThrow(
      "freeMem of a hand-made VeMemPtr",
      () => proc.freeMem(loose),
      TypeError,
      /^Argument 0 \(ptr\) of freeMem .*not memory from/,
    );
    proc.freeMem(m);
    await stillUsable(proc, lib, ctx);
  },

  async "onstack-detached"(proc, lib, ctx) {
    const f = lib.declare("long stack_in(const int *p, int n)");
    const g = lib.declare("int stack_out(int *p, int n)");
    const a = new Int32Array([1, 2, 3, 4]);
    const st = new OnStack(a);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    expectThrow(
      "detached IN buffer",
      () => f(ctx, st, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in \(an OnStack\) is detached/,
    );
    expectThrow(
      "detached IN buffer, callSync",
      () => f.callSync(st, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in \(an OnStack\) is detached/,
    );
    const rab = resizableBuffer(16, 4096);
    const tracking = new Int32Array(rab); // length-tracking view
    const fixed = new Int32Array(rab, 0, 4);
    const st1 = new OnStack(tracking);
    const st2 = new OnStack(fixed);
    check("resizable IN works", (await f(ctx, st1, 4)) === 0n);
    rab.resize(8);
    expectThrow(
      "shrunk length-tracking view",
      () => f(ctx, st1, 4),
      RangeError,
      /^Argument 1 \(p: int \*\) of stack_in \(an OnStack of 16 bytes\) now has a buffer of only 8 bytes/,
    );
    expectThrow(
      "fixed view outside the shrunk buffer",
      () => f(ctx, st2, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in \(an OnStack\) is detached .*or lies outside/,
    );
    const out = new OnStack(new Int32Array(resizableBuffer(16, 64)), {
      intent: Intent.OUT,
    });
    expectThrow(
      "resizable OUT buffer",
      () => g(ctx, out, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_out \(an OnStack with OUT\/INOUT intent\) is backed by a resizable ArrayBuffer/,
    );
    await stillUsable(proc, lib, ctx);
  },

  async "pending-transfer"(proc, lib, ctx) {
    const sleep = lib.declare("int do_sleep(int ms)");
    const out = lib.declare("int stack_out(int *p, int n)");
    const n = 1 << 16;
    const src = proc.allocMem(n * 4);
    proc.writeMem(src, new Int32Array(n).fill(5));
    const first = sleep(ctx, 300);
    const dst = new Int32Array(n);
    const read = ctx.asyncReadMem(dst, src);
    const o = new Int32Array(8);
    const call = out(ctx, new OnStack(o, { intent: Intent.OUT }), 8);
    // Nobody keeps these: the context must hold their buffers until VEO is done with them.
    ctx.asyncReadMem(new Int32Array(n), src);
    out(ctx, new OnStack(new Int32Array(8), { intent: Intent.OUT }), 8);
    // Try to move the pending buffers away. Node 20 copies an untransferable buffer instead
    // of detaching it; later Node versions throw DataCloneError. Either way it stays ours.
    for (const b of [dst.buffer, o.buffer]) {
      try {
        const copy = structuredClone(b, { transfer: [b] });
        check("a copy came back", copy.byteLength === b.byteLength);
      } catch (err) {
        check(`structuredClone threw ${String(err)}`, (err as Error).name === "DataCloneError");
      }
      const { port1, port2 } = new MessageChannel();
      try {
        port1.postMessage(b, [b]);
      } catch (err) {
        check(`postMessage threw ${String(err)}`, (err as Error).name === "DataCloneError");
      }
      port1.close();
      port2.close();
      check("buffer still attached", b.byteLength > 0);
    }
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    check("sleep", (await first) === 300);
    await read;
    check("read data", dst[0] === 5 && dst[n - 1] === 5);
    check("OUT result", (await call) === 8 && o[7] === 49);
    ctx.sync();
    gc();
    proc.freeMem(src);
    await stillUsable(proc, lib, ctx);
  },
};

await runScenarios(scenarios);
