/*
 * Host memory per request in flight, through the binding (run under node --expose-gc).
 * A kernel blocks a second context until a flag in VE memory is set; n requests are queued
 * behind it, so all of them are really outstanding while the RSS is read. The flag is then
 * set with a synchronous writeMem (it travels on the main context, which is idle) and every
 * request is waited for. Two forms: plain VeoRequest objects, and requests that are also
 * awaited (each then carries a Promise). Each form runs twice in the same proc; the target is
 * judged on the second pass, because the first also grows V8's young generation and the
 * pump's arrays to their working size (a one-time cost of the process, reported as
 * "<variant>-first").
 */
import { VeoProc, type VeMemPtr, type VeoCtxt, type VeoFunction, type VeoRequest } from "../../src/index.js";
import { emit, type Args } from "./io.js";

declare const gc: (() => void) | undefined;

function settledRss(): number {
  if (typeof gc !== "function") throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

interface Setup {
  proc: VeoProc;
  empty: VeoFunction;
  block: VeoFunction;
  busy: VeoCtxt;
  flag: VeMemPtr;
}

async function measure(s: Setup, n: number, withPromise: boolean, pass: 1 | 2): Promise<void> {
  const { proc, empty, block, busy, flag } = s;
  {
    proc.writeMem(flag, new BigUint64Array([0n]), 8);
    const reqs: (VeoRequest | null)[] = new Array(n).fill(null);
    let settled = 0;
    const onDone = () => void settled++;
    const blocker = block(busy, flag, 120_000);
    const before = settledRss();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) {
      const r = empty(busy);
      if (withPromise) void r.then(onDone);
      reqs[i] = r;
    }
    const during = settledRss();
    const heapDuring = process.memoryUsage().heapUsed;
    if (blocker.peek().done) throw new Error("the blocking kernel returned early");
    proc.writeMem(flag, new BigUint64Array([1n]), 8);
    if ((await blocker) !== 1n) throw new Error("block_on_flag timed out");
    for (let i = 0; i < n; i++) await reqs[i]!;
    if (withPromise && settled !== n) throw new Error(`only ${settled} of ${n} promises settled`);
    emit({
      kind: "inflight_rss",
      variant: (withPromise ? "binding-promise" : "binding") + (pass === 1 ? "-first" : ""),
      n,
      before_kib: Math.round(before / 1024),
      during_kib: Math.round(during / 1024),
      bytes_per_request: (during - before) / n,
      heap_bytes_per_request: (heapDuring - heapBefore) / n,
    });
  }
}

export async function inflightRss(args: Args): Promise<void> {
  const kernels = args.str("kernels");
  const n = args.num("n", 300_000);
  const proc = new VeoProc(0);
  try {
    const lib = proc.loadLibrary(kernels);
    const empty = lib.declare("uint64_t empty(void)");
    const block = lib.declare("uint64_t block_on_flag(uint64_t *flag, uint64_t timeout_ms)");
    proc.openContext(); // the main context
    const busy = proc.openContext();
    const flag = proc.allocMem(8);
    for (let i = 0; i < 1000; i++) empty(busy).wait(); // warm-up: JIT and the pump
    const s = { proc, empty, block, busy, flag };
    for (const withPromise of [false, true]) {
      await measure(s, n, withPromise, 1);
      await measure(s, n, withPromise, 2);
    }
  } finally {
    proc.destroy();
  }
}
