/*
 * Two devices, end to end: `npx tsx examples/devices.ts`.
 *
 * Lists the VE nodes, opens two of them as devices, compiles one kernel source for both,
 * splits a vector between them (the halves live on their devices and never move until
 * asked), runs a kernel on each at the same time, gathers the halves on device 0 with a
 * device-to-device copy, checks the sum against the host's, times the kernel with the
 * evaluator, records a trace, and spreads a batch of items over both with a DevicePool.
 */
import * as os from "node:os";
import * as path from "node:path";

import { DevicePool, listDevices, openDevice } from "../src/index.js";

const KERNELS = String.raw`
/* x[i] = a * x[i] * x[i] for a block of the vector */
void square_scale(double *x, long n, double a)
{
  for (long i = 0; i < n; i++)
    x[i] = a * x[i] * x[i];
}

/* The sum of a block (the block is only read: const) */
double block_sum(const double *x, long n)
{
  double s = 0;
  for (long i = 0; i < n; i++)
    s += x[i];
  return s;
}
`;

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(36)} ${String(value)}`);
}

async function main(): Promise<void> {
  console.log("veo-ts devices\n");

  // 1. Every VE node: real ones from sysfs, or the emulator's virtual nodes.
  const devices = listDevices();
  console.log("nodes");
  for (const d of devices) {
    const mem = d.memoryBytes === undefined ? "?" : `${(d.memoryBytes / 2 ** 30).toFixed(0)} GiB`;
    show(
      `node ${d.node}`,
      `${d.arch}, ${d.cores ?? "?"} cores, ${mem}, ${d.state}${d.emulated ? " (emulated)" : ""}`,
    );
  }
  if (devices.length < 2) throw new Error("this example needs two VE nodes");

  // 2. Two devices, one kernel source built once (VeBuild caches it) and loaded on both.
  const [a, b] = await Promise.all([openDevice(devices[0].node), openDevice(devices[1].node)]);
  try {
    const [ma, mb] = await Promise.all([a.compile(KERNELS), b.compile(KERNELS)]);
    const sqA = await ma.kernel("void square_scale(double *x, long n, double a)");
    const sqB = await mb.kernel("void square_scale(double *x, long n, double a)");
    const sumA = await ma.kernel("double block_sum(const double *x, long n)");

    // 3. Split a vector: each half is uploaded to its device and stays there.
    const n = 1 << 16;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 100) / 100);
    const half = n / 2;
    const [xa, xb] = await Promise.all([a.upload(x.subarray(0, half)), b.upload(x.subarray(half))]);
    console.log("\ndata");
    show("x", `${n} doubles, ${xa.length} on node ${a.node}, ${xb.length} on node ${b.node}`);

    // 4. The same kernel on both devices at once; DeviceArrays are passed by address.
    a.trace.start();
    await Promise.all([sqA(xa, half, 3), sqB(xb, half, 3)]);

    // 5. Gather on device 0: a device-to-device copy into the second half of a full array.
    const all = await a.empty("float64", n);
    await xa.copyTo(all.subarray(0, half));
    await xb.copyTo(all.subarray(half));
    const total = (await sumA(all, n)) as number;
    a.trace.stop();
    const expected = x.reduce((s, v) => s + 3 * v * v, 0);
    show("sum of 3x² over both devices", total.toFixed(6));
    show("the host's", expected.toFixed(6));
    show("equal", Math.abs(total - expected) < 1e-6 * expected);

    // 6. A host array passed to a `const double *` is copied in only; to a `double *`
    //    in and back out, in order with the call.
    const small = new Float64Array([1, 2, 3]);
    await sqB(small, 3, 2);
    show("square_scale([1, 2, 3], 2) on node 1", `[${small.join(", ")}]`);

    // 7. The evaluator: XTC's doubling loop, timed on the device next to the kernel.
    const r = await a.evaluate(sumA, [all, n], { number: 1, repeat: 5, minRepeatMs: 20 });
    console.log("\nevaluate block_sum(all, n)");
    show("measured on", r.measuredOn);
    show("runs per repeat", r.number);
    show("median per run", `${(r.median * 1e6).toFixed(1)} µs (min ${(r.min * 1e6).toFixed(1)} µs)`);

    // 8. The trace of steps 4–5 on node 0, as Chrome trace-event JSON (open in Perfetto).
    const file = path.join(os.tmpdir(), `veo-ts-devices-${process.pid}.json`);
    await a.trace.save(file);
    console.log("\ntrace");
    show("requests recorded on node 0", a.trace.events.length);
    show("saved", file);

    console.log("\nmemory pool of node 0");
    for (const arr of [xa, all]) arr.free();
    xb.free();
    const s = a.memory.stats();
    show("in use / cached / peak (bytes)", `${s.inUse} / ${s.cached} / ${s.peak}`);
  } finally {
    a.close();
    b.close();
  }

  // 9. A pool over both nodes: items go to whichever device is free, results in order.
  const pool = await DevicePool.open({ nodes: [devices[0].node, devices[1].node] });
  try {
    const mod = await pool.compile(KERNELS);
    const sum = await mod.kernel("double block_sum(const double *x, long n)");
    const items = Array.from({ length: 8 }, (_, i) => [Float64Array.from({ length: 4 }, () => i), 4]);
    const sums = await pool.run(sum, items);
    console.log("\npool");
    show("block_sum of [i, i, i, i], i = 0..7", `[${sums.join(", ")}]`);
  } finally {
    pool.close();
  }
  console.log("\ndevices closed; done.");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
