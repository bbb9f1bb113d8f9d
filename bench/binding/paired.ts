/*
 * The paired section: the C client's loops and the binding's, timed in ONE process. This VM
 * changes speed from process to process and minute to minute, so a binding / C ratio of two
 * figures from two processes mixes two machine states. Here each sample is one C measurement
 * (the loops of bench/c/loops.c, loaded as libveo_bench_loops.so through koffi and run on the
 * binding's own proc, context and kernel address) right next to the same measurement through
 * the binding's public API, written as calls.ts and transfers.ts write it; which of the two
 * goes first alternates from sample to sample. One record per pair, so bench/run.ts can keep
 * each pair's own ratio.
 *
 *   paired kernels=<so> loops=<so> n=100,10000 samples=<r> min_calls=<k> iters=<k> first=c|binding
 *
 * Per N and sample: Test 1 wait(), Test 2 wait(), Test 4 callSync(), each as batches of N
 * until min_calls calls were made (as in the calls section); then per sample: `iters` 1-byte
 * writeMem, and as many readMem.
 */
import koffi from "koffi";
import type { VeoRequest } from "../../src/index.js";
import { ctxSlots, procSlots } from "../../src/slots.js";
import { forms, runBatches } from "./calls.js";
import { openSession } from "./session.js";
import { emit, warming, WARMUP_CALLS, type Args } from "./io.js";
import { byteLoop } from "./transfers.js";

/** The binding's side of each test: calls.ts's `wait` forms of Tests 1 and 2 and its `sync` form. */
const bindingForm = { 1: forms.wait[1], 2: forms.wait[2], 4: forms.sync[4] } as const;
const TESTS = [1, 2, 4] as const;

export async function paired(args: Args): Promise<void> {
  const ns = args.nums("n");
  const samples = args.num("samples", 3);
  const minCalls = args.num("min_calls", 20_000);
  const iters = args.num("iters", 20_000);
  const cFirstAt = (sample: number) => (sample + (args.str("first", "c") === "c" ? 0 : 1)) % 2 === 0;
  const loops = koffi.load(args.str("loops"));
  // Handles and addresses cross as the binding passes them: uintptr_t Numbers, u64.
  const vblCalls = loops.func(
    "double vbl_calls(uintptr_t proc, uintptr_t ctx, uint64_t sym, int test, long n, long batches)",
  );
  const vblXfer = loops.func(
    "double vbl_xfer(uintptr_t proc, uint64_t ve, void *buf, int write, long iters)",
  );
  const s = openSession(args.str("kernels"));
  try {
    const f = s.lib.declare("uint64_t empty(void)");

    const ph = procSlots.handle(s.proc) as number,
      ch = ctxSlots.handle(s.ctx) as number,
      sym = (f as any)._s.addr;
    const ve = s.proc.allocMem(8);
    const veAddr = (ve as any)._a;

    const byte = new Uint8Array(1);
    const reqs: VeoRequest[] = new Array(Math.max(...ns, 100));

    /** µs per call of `batches` batches of N, each batch timed on its own (calls.ts's runBatches). */
    const binding = async (test: 1 | 2 | 4, n: number, batches: number): Promise<number> =>
      (await runBatches(bindingForm[test], test, f, s.ctx, n, batches, reqs)) / (batches * n);
    const c = (test: number, n: number, batches: number): number =>
      vblCalls(ph, ch, sym, test, n, batches) / (batches * n);
    const bindingXfer = (write: boolean, k: number): number => byteLoop(s.proc, ve, byte, write, k);
    const cXfer = (write: boolean, k: number): number => vblXfer(ph, veAddr, byte, write ? 1 : 0, k) / k;

    // Both sides, every test, as batches of 1 and of 100, twice and then until WARMUP_MS
    // have passed since the proc was created (calls.ts); 1-byte transfers each way.
    for (let pass = 0; warming(s.createdMs, pass); pass++) {
      for (const test of TESTS) {
        c(test, 1, WARMUP_CALLS);
        c(test, 100, WARMUP_CALLS / 100);
        await binding(test, 1, WARMUP_CALLS);
        await binding(test, 100, WARMUP_CALLS / 100);
      }
      for (const write of [true, false]) {
        cXfer(write, WARMUP_CALLS);
        bindingXfer(write, WARMUP_CALLS);
      }
    }

    const measure = async (
      cFirst: boolean,
      cSide: () => number,
      bindingSide: () => number | Promise<number>,
    ) => {
      if (cFirst) {
        const c_us = cSide();
        return { c_us, binding_us: await bindingSide() };
      }
      const binding_us = await bindingSide();
      return { c_us: cSide(), binding_us };
    };
    for (const n of ns) {
      const batches = Math.ceil(minCalls / n);
      for (let sample = 0; sample < samples; sample++) {
        const cFirst = cFirstAt(sample);
        for (const test of TESTS) {
          const pair = await measure(
            cFirst,
            () => c(test, n, batches),
            () => binding(test, n, batches),
          );
          emit({ kind: "paired", what: `t${test}`, n, batches, first: cFirst ? "c" : "binding", ...pair });
        }
      }
    }
    for (let sample = 0; sample < samples; sample++) {
      const cFirst = cFirstAt(sample);
      for (const write of [true, false]) {
        const pair = await measure(
          cFirst,
          () => cXfer(write, iters),
          () => bindingXfer(write, iters),
        );
        emit({
          kind: "paired",
          what: write ? "write" : "read",
          iters,
          first: cFirst ? "c" : "binding",
          ...pair,
        });
      }
    }
    s.proc.freeMem(ve);
  } finally {
    s.close();
  }
}
