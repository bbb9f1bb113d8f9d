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
import type { VeoCtxt, VeoFunction, VeoRequest } from "../../src/index.js";
import { openSession } from "./session.js";
import { emit, nowUs, WARMUP_MS, type Args } from "./io.js";

/** The binding's side of each test: calls.ts's `wait` forms of Tests 1 and 2 and its `sync` form. */
const forms: Record<number, (f: VeoFunction, ctx: VeoCtxt, n: number, reqs: VeoRequest[]) => void> = {
  1: (f, ctx, n, reqs) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    for (let i = 0; i < n; i++) reqs[i].wait();
  },
  2: (f, ctx, n) => {
    for (let i = 0; i < n; i++) f(ctx).wait();
  },
  4: (f, _ctx, n) => {
    for (let i = 0; i < n; i++) f.callSync();
  },
};

/** Untimed calls and transfers per warm-up pass, as in calls.ts and transfers.ts. */
const WARMUP = 5_000;

export function paired(args: Args): void {
  const ns = args.nums("n");
  const samples = args.num("samples", 3);
  const minCalls = args.num("min_calls", 20_000);
  const iters = args.num("iters", 20_000);
  const cFirstAt = (sample: number) => (sample + (args.str("first", "c") === "c" ? 0 : 1)) % 2 === 0;
  const loops = koffi.load(args.str("loops"));
  // Handles and addresses cross as the binding passes them: uintptr_t Numbers, u64.
  const vblCalls = loops.func(
    "double vbl_calls(uintptr_t proc, uintptr_t ctx, uint64_t sym, int test, long n, long batches)");
  const vblXfer = loops.func("double vbl_xfer(uintptr_t proc, uint64_t ve, void *buf, int write, long iters)");
  const s = openSession(args.str("kernels"));
  try {
    const f = s.lib.declare("uint64_t empty(void)");
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const ph = (s.proc as any)._handle, ch = (s.ctx as any)._handle, sym = (f as any)._s.addr;
    const ve = s.proc.allocMem(8);
    const veAddr = (ve as any)._a;
    /* eslint-enable @typescript-eslint/no-explicit-any */
    const byte = new Uint8Array(1);
    const reqs: VeoRequest[] = new Array(Math.max(...ns, 100));

    /** µs per call of `batches` batches of N, each batch timed on its own (calls.ts's runBatches). */
    const binding = (test: number, n: number, batches: number): number => {
      let spent = 0;
      for (let b = 0; b < batches; b++) {
        const t0 = nowUs();
        forms[test](f, s.ctx, n, reqs);
        spent += nowUs() - t0;
      }
      return spent / (batches * n);
    };
    const c = (test: number, n: number, batches: number): number =>
      vblCalls(ph, ch, sym, test, n, batches) / (batches * n);
    const bindingXfer = (write: boolean, k: number): number => {
      const t0 = nowUs();
      if (write) for (let i = 0; i < k; i++) s.proc.writeMem(ve, byte, 1);
      else for (let i = 0; i < k; i++) s.proc.readMem(byte, ve, 1);
      return (nowUs() - t0) / k;
    };
    const cXfer = (write: boolean, k: number): number => vblXfer(ph, veAddr, byte, write ? 1 : 0, k) / k;

    // Both sides, every test, as batches of 1 and of 100, twice and then until WARMUP_MS
    // have passed since the proc was created (calls.ts); 1-byte transfers each way.
    for (let pass = 0; pass < 2 || performance.now() - s.createdMs < WARMUP_MS; pass++) {
      for (const test of [1, 2, 4]) {
        for (const side of [c, binding]) {
          side(test, 1, WARMUP);
          side(test, 100, WARMUP / 100);
        }
      }
      for (const write of [true, false]) {
        cXfer(write, WARMUP);
        bindingXfer(write, WARMUP);
      }
    }

    const measure = (cFirst: boolean, cSide: () => number, bindingSide: () => number) => {
      const [first, second] = cFirst ? [cSide, bindingSide] : [bindingSide, cSide];
      const a = first(), b = second();
      return cFirst ? { c_us: a, binding_us: b } : { c_us: b, binding_us: a };
    };
    for (const n of ns) {
      const batches = Math.ceil(minCalls / n);
      for (let sample = 0; sample < samples; sample++) {
        const cFirst = cFirstAt(sample);
        for (const test of [1, 2, 4]) {
          const pair = measure(cFirst, () => c(test, n, batches), () => binding(test, n, batches));
          emit({ kind: "paired", what: `t${test}`, n, batches, first: cFirst ? "c" : "binding", ...pair });
        }
      }
      reqs.fill(undefined as unknown as VeoRequest);
    }
    for (let sample = 0; sample < samples; sample++) {
      const cFirst = cFirstAt(sample);
      for (const write of [true, false]) {
        const pair = measure(cFirst, () => cXfer(write, iters), () => bindingXfer(write, iters));
        emit({ kind: "paired", what: write ? "write" : "read", iters, first: cFirst ? "c" : "binding", ...pair });
      }
    }
    s.proc.freeMem(ve);
  } finally {
    s.close();
  }
}
