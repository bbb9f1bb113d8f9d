/*
 * ctx.callVh round trip beside the C client's veo_call_async_vh, in ONE process (as the
 * paired section does): the C loop (bench/c/loops.c vbl_callvh: a C function returning its
 * argument, submit + veo_call_wait_result) runs through koffi on the binding's own context,
 * interleaved with the binding's forms, the order alternating from round to round.
 *
 *   npx tsx bench/callvh.ts [--n 2000] [--rounds 7] [--library <libveo.so.1>]
 *
 * Forms (µs per call, median over rounds):
 *   T2 (submit + wait, one at a time): C | `ctx.callVh(fn, i).wait()` | `await ctx.callVh(fn, i)`
 *   T1 (submit n, then collect n):     C | `wait()` each | `await VeoRequest.all(reqs)`
 */
import koffi from "koffi";

import { VeoProc, VeoRequest, type VeoCtxt } from "../src/index.js";
import { ctxSlots } from "../src/slots.js";
import { buildNative, chooseTarget } from "./lib/setup.js";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}
const n = Number(flag("n", "2000"));
const rounds = Number(flag("rounds", "7"));
const library = process.argv.includes("--library") ? flag("library", "") : undefined;

const target = await chooseTarget({ library });
const built = buildNative(target);
const loops = koffi.load(built.loops);
const vblCallvh = loops.func("double vbl_callvh_api(uintptr_t ctx, int pipelined, long iters)");

const proc = new VeoProc(0, { library: target.library });
const ctx: VeoCtxt = proc.openContext();
const ch = ctxSlots.handle(ctx) as number;
const identity = (x: number): number => x;
const reqs = new Array<VeoRequest<number | bigint>>(n);

type Form = () => number | Promise<number>;
const us = (t0: number): number => ((performance.now() - t0) * 1000) / n;
const forms: Record<string, Form> = {
  "T2 C": () => vblCallvh(ch, 0, n) / n,
  "T2 wait()": () => {
    const t0 = performance.now();
    for (let i = 1; i <= n; i++) if (ctx.callVh(identity, i).wait() !== i) throw new Error("wrong result");
    return us(t0);
  },
  "T2 await": async () => {
    const t0 = performance.now();
    for (let i = 1; i <= n; i++) if ((await ctx.callVh(identity, i)) !== i) throw new Error("wrong result");
    return us(t0);
  },
  "T1 C": () => vblCallvh(ch, 1, n) / n,
  "T1 wait()": () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) reqs[i] = ctx.callVh(identity, i + 1);
    for (let i = 0; i < n; i++) if (reqs[i].wait() !== i + 1) throw new Error("wrong result");
    return us(t0);
  },
  "T1 VeoRequest.all": async () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) reqs[i] = ctx.callVh(identity, i + 1);
    const r = await VeoRequest.all(reqs);
    if (r[n - 1] !== n) throw new Error("wrong result");
    return us(t0);
  },
};

const names = Object.keys(forms);
const samples = new Map<string, number[]>(names.map((k) => [k, []]));
for (const name of names) await forms[name](); // warm-up (JIT, the helper's threads)
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  for (const name of order) samples.get(name)!.push(await forms[name]());
}
proc.destroy();

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `callVh round trip, ${target.backend} (${target.library}), n = ${n}, ${rounds} rounds, µs per call`,
);
for (const name of names) {
  const xs = samples.get(name)!;
  const c = med(samples.get(`${name.split(" ")[0]} C`)!);
  console.log(
    `  ${name.padEnd(18)} ${med(xs).toFixed(2).padStart(8)}  [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]` +
      `  ×C ${(med(xs) / c).toFixed(2)}`,
  );
}
