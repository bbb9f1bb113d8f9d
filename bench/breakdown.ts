/*
 * npm run bench's companion for profiling: where a binding call's time goes. In one process,
 * interleaved, it times the same Test 2 / Test 3 / Test 4 and 1-byte transfer loops two ways:
 *   raw    the koffi functions of src/native/api.ts called directly (the floor any binding
 *          over koffi pays: one FFI call per C call, u64 ids, a BigUint64Array out-param)
 *   binding the public API (f(ctx).wait(), f(ctx), f.callSync(), 1-byte writeMem/readMem)
 * and prints per-call medians, so "binding - raw" is the object model's own cost and
 * "raw - C client" (from npm run bench) is koffi's; then binding − raw per round, paired.
 *
 *   tsx bench/breakdown.ts <kernels.so> [calls=200000] [reps=7]
 */
import { openRawSession } from "./lib/raw-session.js";

const [kernels, callsArg, repsArg] = process.argv.slice(2);
if (!kernels) throw new Error("usage: tsx bench/breakdown.ts <kernels.so> [calls] [reps]");
const calls = Number(callsArg ?? 200_000);
const reps = Number(repsArg ?? 7);

const { proc, f, ctx, api, ch, ph, addr, ca, out } = openRawSession(kernels);
const ve = proc.allocMem(8);
const byte = new Uint8Array(1);

const loops: Record<string, (n: number) => void> = {
  "T2 raw  async+wait": (n) => {
    for (let i = 0; i < n; i++) api.veo_call_wait_result(ch, api.veo_call_async(ch, addr, ca), out);
  },
  "T2 binding f().wait()": (n) => {
    for (let i = 0; i < n; i++) f(ctx).wait();
  },
  "T3 raw  async only": (n) => {
    let id = 0;
    for (let i = 0; i < n; i++) id = api.veo_call_async(ch, addr, ca);
    api.veo_call_wait_result(ch, id, out);
  },
  "T3 binding f() only": (n) => {
    let r = f(ctx);
    for (let i = 1; i < n; i++) r = f(ctx);
    r.wait();
  },
  "T4 raw  veo_call_sync": (n) => {
    for (let i = 0; i < n; i++) api.veo_call_sync(ph, addr, ca, out);
  },
  "T4 binding callSync()": (n) => {
    for (let i = 0; i < n; i++) f.callSync();
  },
  "1B raw  veo_write_mem": (n) => {
    for (let i = 0; i < n; i++) api.veo_write_mem(ph, ve.addr, byte, 1);
  },
  "1B binding writeMem()": (n) => {
    for (let i = 0; i < n; i++) proc.writeMem(ve, byte, 1);
  },
  "1B raw  veo_read_mem": (n) => {
    for (let i = 0; i < n; i++) api.veo_read_mem(ph, byte, ve.addr, 1);
  },
  "1B binding readMem()": (n) => {
    for (let i = 0; i < n; i++) proc.readMem(byte, ve, 1);
  },
};

const samples: Record<string, number[]> = {};
for (const name of Object.keys(loops)) loops[name](2000); // warm-up
for (let r = 0; r < reps; r++) {
  for (const [name, loop] of Object.entries(loops)) {
    const t0 = performance.now();
    loop(calls);
    (samples[name] ??= []).push(((performance.now() - t0) * 1000) / calls);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [name, xs] of Object.entries(samples)) {
  console.log(
    `${name.padEnd(24)} ${med(xs).toFixed(3)} µs/call  (min ${Math.min(...xs).toFixed(3)}, max ${Math.max(...xs).toFixed(3)})`,
  );
}
// binding − raw per round (the two loops ran back to back), median over rounds: robust to
// the machine changing speed between rounds, which the medians above are not.
const names = Object.keys(loops);
for (let i = 0; i + 1 < names.length; i += 2) {
  const [raw, api] = [samples[names[i]], samples[names[i + 1]]];
  const diff = med(raw.map((r, k) => api[k] - r));
  console.log(
    `${names[i + 1].padEnd(24)} − raw: ${(diff * 1000).toFixed(0)} ns/call (median of ${raw.length} paired rounds)`,
  );
}
proc.destroy();
