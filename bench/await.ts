/*
 * The promise path of a request, beside its floor: in one process, interleaved, Test 2
 * (N × submit + wait) and Test 1 (submit N, then wait N) as raw koffi calls, with the
 * blocking req.wait(), with `await req`, and (Test 1) with `await Promise.all(reqs)` and
 * `await VeoRequest.all(reqs)`.
 * "T1s" is Test 1 with a ctx.sync() between submitting and collecting, so the collecting
 * is timed apart from the helper's scheduling. Prints per-call medians at each N and the
 * ratios to the raw loop, which costs the same as a C client plus koffi's ~0.1 µs per C call.
 *
 *   tsx bench/await.ts <bench_kernels.so> [n=100,300000] [calls=300000] [reps=5] [only=T1s,T2]
 */
import { VeoRequest } from "../src/index.js";
import { openRawSession } from "./lib/raw-session.js";

const [kernels, nArg, callsArg, repsArg, onlyArg] = process.argv.slice(2);
if (!kernels) throw new Error("usage: tsx bench/await.ts <kernels.so> [n,n,...] [calls] [reps]");
const ns = (nArg ?? "100,300000").split(",").map(Number);
const calls = Number(callsArg ?? 300_000);
const reps = Number(repsArg ?? 5);

const { proc, f, ctx, api, ch, addr, ca, out } = openRawSession(kernels);
const ids = new Array<number>(Math.max(...ns));
const reqs = new Array<VeoRequest>(Math.max(...ns));

type Loop = (n: number) => void | Promise<void>;
const loops: Record<string, Loop> = {
  "T2 raw": (n) => {
    for (let i = 0; i < n; i++) api.veo_call_wait_result(ch, api.veo_call_async(ch, addr, ca), out);
  },
  "T2 wait()": (n) => {
    for (let i = 0; i < n; i++) f(ctx).wait();
  },
  "T2 await": async (n) => {
    for (let i = 0; i < n; i++) await f(ctx);
  },
  "T1 raw": (n) => {
    for (let i = 0; i < n; i++) ids[i] = api.veo_call_async(ch, addr, ca);
    for (let i = 0; i < n; i++) api.veo_call_wait_result(ch, ids[i], out);
  },
  "T1 wait()": (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    for (let i = 0; i < n; i++) reqs[i].wait();
  },
  "T1 await": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    for (let i = 0; i < n; i++) await reqs[i];
  },
  "T1 Promise.all": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    await Promise.all(n === reqs.length ? reqs : reqs.slice(0, n));
  },
  "T1 VeoRequest.all": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    await VeoRequest.all(n === reqs.length ? reqs : reqs.slice(0, n));
  },
  // The same after ctx.sync(): every result is ready, so only the collecting is timed
  // apart from the helper's scheduling (identical for all three).
  "T1s raw": (n) => {
    for (let i = 0; i < n; i++) ids[i] = api.veo_call_async(ch, addr, ca);
    api.veo_context_sync(ch);
    for (let i = 0; i < n; i++) api.veo_call_peek_result(ch, ids[i], out);
  },
  "T1s await": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    ctx.sync();
    for (let i = 0; i < n; i++) await reqs[i];
  },
  "T1s Promise.all": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    ctx.sync();
    await Promise.all(n === reqs.length ? reqs : reqs.slice(0, n));
  },
  "T1s VeoRequest.all": async (n) => {
    for (let i = 0; i < n; i++) reqs[i] = f(ctx);
    ctx.sync();
    await VeoRequest.all(n === reqs.length ? reqs : reqs.slice(0, n));
  },
};

if (onlyArg) {
  const keep = onlyArg.split(",");
  for (const name of Object.keys(loops)) if (!keep.includes(name.split(" ")[0])) delete loops[name];
}

async function time(loop: Loop, n: number): Promise<number> {
  const batches = Math.max(1, Math.ceil(calls / n));
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await loop(n);
  return ((performance.now() - t0) * 1000) / (batches * n);
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const samples = new Map<string, number[]>();
for (const loop of Object.values(loops)) for (let b = 0; b < 50; b++) await loop(100); // JIT warm-up
for (let r = 0; r < reps; r++) {
  for (const n of ns) {
    for (const [name, loop] of Object.entries(loops)) {
      const key = `${name}|${n}`;
      const us = await time(loop, n);
      samples.set(key, [...(samples.get(key) ?? []), us]);
    }
  }
}
reqs.fill(undefined as unknown as VeoRequest);
for (const n of ns) {
  console.log(`N = ${n}`);
  for (const name of Object.keys(loops)) {
    const xs = samples.get(`${name}|${n}`)!;
    const floor = med(samples.get(`${name.split(" ")[0]} raw|${n}`)!);
    console.log(
      `  ${name.padEnd(16)} ${med(xs).toFixed(3)} µs/call  ×raw ${(med(xs) / floor).toFixed(2)}` +
        `  (min ${Math.min(...xs).toFixed(3)}, max ${Math.max(...xs).toFixed(3)})`,
    );
  }
}
proc.destroy();
