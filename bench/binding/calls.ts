/*
 * Call latency through the binding: upstream's Tests 1-4 in each form a TypeScript program
 * can write them. A batch of N is repeated until min_calls calls were made, exactly as the C
 * client does; before the first N every form is run twice for `warmup` calls as batches of
 * 1 and of 100, and until WARMUP_MS have passed, so the JIT has settled (the C client warms
 * up the same way).
 *
 *   wait   Test 1-3 with the blocking req.wait()
 *   await  Test 1-3 with `await req`
 *   all    Test 1 shape: submit N, then await Promise.all(requests)
 *   batch  Test 1 shape: submit N, then await VeoRequest.all(requests)
 *   sync   Test 4: f.callSync(), N times
 *   floor  Test 1's await and all loops with no FFI (floor.ts), after every N of the others
 */
import { VeoRequest, type VeoCtxt, type VeoFunction } from "../../src/index.js";
import { floorForms, runFloorBatches } from "./floor.js";
import { openSession } from "./session.js";
import { emit, nowUs, warming, WARMUP_CALLS, type Args } from "./io.js";

type Form = (f: VeoFunction, ctx: VeoCtxt, n: number, reqs: VeoRequest[]) => void | Promise<void>;

export const forms: Record<string, Record<number, Form>> = {
  wait: {
    1: (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      for (let i = 0; i < n; i++) reqs[i].wait();
    },
    2: (f, ctx, n) => {
      for (let i = 0; i < n; i++) f(ctx).wait();
    },
    3: (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      reqs[n - 1].wait();
    },
  },
  await: {
    1: async (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      for (let i = 0; i < n; i++) await reqs[i];
    },
    2: async (f, ctx, n) => {
      for (let i = 0; i < n; i++) await f(ctx);
    },
    3: async (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      await reqs[n - 1];
    },
  },
  all: {
    1: async (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      await Promise.all(n === reqs.length ? reqs : reqs.slice(0, n));
    },
  },
  batch: {
    1: async (f, ctx, n, reqs) => {
      for (let i = 0; i < n; i++) reqs[i] = f(ctx);
      await VeoRequest.all(n === reqs.length ? reqs : reqs.slice(0, n));
    },
  },
  sync: {
    4: (f, _ctx, n) => {
      for (let i = 0; i < n; i++) f.callSync();
    },
  },
};

/**
 * Runs `batches` batches and returns the time spent in them (µs). Test 3 leaves N-1 requests
 * uncollected; they are collected after each batch, untimed, exactly as the C client does,
 * so no later batch, test or N runs with a backlog. Afterwards `reqs` is cleared, untimed,
 * so no later form runs with the previous one's N requests still alive (at N = 300 000 they
 * made Test 2's paired ratio 1.34–1.43 instead of 1.25–1.31).
 */
export async function runBatches(
  form: Form,
  test: number,
  f: VeoFunction,
  ctx: VeoCtxt,
  n: number,
  batches: number,
  reqs: VeoRequest[],
): Promise<number> {
  let spent = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = nowUs();
    // Only the promise forms are awaited: `await undefined` after wait() or callSync() costs
    // a microtask tick per batch (≈50–70 ns, measured at N = 1) that the C client does not pay.
    const pending = form(f, ctx, n, reqs);
    if (pending) await pending;
    spent += nowUs() - t0;
    if (test === 3) for (let i = 0; i < n - 1; i++) reqs[i].wait();
  }
  reqs.fill(undefined as unknown as VeoRequest, 0, n);
  return spent;
}

export async function calls(args: Args): Promise<void> {
  const ns = args.nums("n");
  const tests = args.str("tests", "1234").split("").map(Number);
  const variants = args.str("variants", "wait,await,all,batch,sync,floor").split(",");
  const minCalls = args.num("min_calls", 10_000);
  const warmup = args.num("warmup", WARMUP_CALLS);
  const s = openSession(args.str("kernels"));
  try {
    const f = s.lib.declare("uint64_t empty(void)");
    const reqs: VeoRequest[] = new Array(Math.max(...ns, 100));
    // Twice through every form, in the measuring order, as batches of 1 and of 100: then the
    // forms, runBatches' own loop and the binding under them are compiled before the first
    // timed batch. With less, V8 still (re)compiled them inside the first N's timed batches,
    // on the CPU the emulator's spinning helper thread needs (--trace-opt). More passes
    // until WARMUP_MS have passed since the proc was created, as in the C client.
    for (let pass = 0; warming(s.createdMs, pass); pass++) {
      for (const t of tests) {
        for (const v of variants) {
          const form = forms[v]?.[t];
          if (!form) continue;
          await runBatches(form, t, f, s.ctx, 1, warmup, reqs);
          await runBatches(form, t, f, s.ctx, 100, Math.ceil(warmup / 100), reqs);
        }
      }
    }
    for (const n of ns) {
      const batches = Math.ceil(minCalls / n);
      for (const t of tests) {
        for (const v of variants) {
          const form = forms[v]?.[t];
          if (!form) continue;
          const us = (await runBatches(form, t, f, s.ctx, n, batches, reqs)) / (batches * n);
          emit({ kind: "call", variant: v, test: t, n, batches, us_per_call: us });
        }
      }
    }
    // Last, with the session still open (the same machine state), and after every N of the
    // binding so that none of its figures follows the floor's garbage.
    if (variants.includes("floor")) {
      const items: unknown[] = new Array(reqs.length);
      for (let pass = 0; pass < 2; pass++) {
        for (const form of Object.values(floorForms)) {
          await runFloorBatches(form, 1, warmup, items);
          await runFloorBatches(form, 100, Math.ceil(warmup / 100), items);
        }
      }
      for (const n of ns) {
        const batches = Math.ceil(minCalls / n);
        for (const [v, form] of Object.entries(floorForms)) {
          const us = (await runFloorBatches(form, n, batches, items)) / (batches * n);
          emit({ kind: "floor", variant: v, n, batches, us_per_elem: us });
        }
        items.fill(undefined);
      }
    }
  } finally {
    s.close();
  }
}
