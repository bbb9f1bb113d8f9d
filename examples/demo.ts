/*
 * The veo-ts demo: `npm install && npm run demo`.
 *
 * Builds a small C kernel library from inline source with VeBuild (for the host emulator
 * when there is no Vector Engine), starts a VE process, copies vectors to it, calls kernels
 * asynchronously (await) and synchronously (wait()), passes an OUT buffer on the VE stack,
 * reads the results back, and cleans up. Every step prints what it did.
 *
 * The kernels are declared from their C prototypes, and TypeScript types them from the same
 * strings: `daxpy(ctx, n, 2.0, vx, vy)` is checked by tsc (a string for `n`, or a Float64Array
 * where a VE pointer goes, would not compile), and `await daxpy(...)` is a bigint.
 */
import { Intent, OnStack, VeBuild, VeoProc, VeoRequest, loadVeo } from "../src/index.js";

const KERNELS = String.raw`
#include <stdint.h>

/* y = a*x + y; returns how many elements it touched */
int64_t daxpy(int n, double a, double *x, double *y)
{
  for (int i = 0; i < n; i++)
    y[i] = a * x[i] + y[i];
  return n;
}

double dsum(double *a, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += a[i];
  return s;
}

/* float in, float out: the result comes back as a float, not a raw register */
float fmean(float *a, int n)
{
  float s = 0;
  for (int i = 0; i < n; i++)
    s += a[i];
  return n > 0 ? s / n : 0.0f;
}

/* Writes {min, max} into out, a buffer the caller passes on the VE stack (OnStack OUT). */
int minmax(double *a, int n, double *out)
{
  if (n <= 0) return -1;
  out[0] = out[1] = a[0];
  for (int i = 1; i < n; i++) {
    if (a[i] < out[0]) out[0] = a[i];
    if (a[i] > out[1]) out[1] = a[i];
  }
  return 0;
}
`;

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(34)} ${String(value)}`);
}

async function main(): Promise<void> {
  console.log("veo-ts demo\n");

  // 1. Which libveo: the real one on a Vector Host, else the host emulator (built on first use).
  const veo = loadVeo();
  console.log("library");
  show("path", veo.path);
  show("kind", veo.kind);
  show("why", veo.reason);
  show("API version", veo.apiVersion);

  // 2. Build the kernels. The toolchain follows the library (ncc on a VE, cc on the emulator);
  //    the second run of this demo takes the library from the build cache.
  console.log("\nbuild (VeBuild)");
  const bld = new VeBuild().setCSrc("demo_kernels", KERNELS);
  const so = await bld.buildSo({ verbose: true });
  const built = bld.lastBuild!;
  show("library", so);
  show("toolchain", `${built.toolchain} (${built.toolchainReason})`);
  show(
    "from cache",
    built.cached
      ? `yes, no compile (${built.durationMs.toFixed(1)} ms)`
      : `no, compiled in ${built.durationMs.toFixed(0)} ms`,
  );

  // 3. A VE process, the library, and a context (a VE thread with a FIFO queue).
  const proc = new VeoProc(0);
  try {
    const lib = proc.loadLibrary(so);
    const ctx = proc.openContext();
    // Typed from the prototypes: e.g. daxpy is VeoFunction<[number, number, VeKernelPointer,
    // VeKernelPointer], bigint> (int64_t comes back as a bigint, double as a number).
    const daxpy = lib.declare("int64_t daxpy(int n, double a, double *x, double *y)");
    const dsum = lib.declare("double dsum(double *a, int n)");
    const fmean = lib.declare("float fmean(float *a, int n)");
    const minmax = lib.declare("int minmax(double *a, int n, double *out)");

    console.log("\nproc");
    show("node", 0);

    // 4. Copy two vectors to VE memory.
    const n = 8;
    const x = Float64Array.from({ length: n }, (_, i) => i + 1); // 1..8
    const y = new Float64Array(n).fill(10);
    const vx = proc.allocMem(x.byteLength);
    const vy = proc.allocMem(y.byteLength);
    proc.writeMem(vx, x);
    proc.writeMem(vy, y);

    console.log("\ncalls");
    show("x", `[${x.join(", ")}]`);
    show("y", `[${y.join(", ")}]`);

    // 5. Asynchronous call: a request is a promise.
    const touched: bigint = await daxpy(ctx, n, 2.0, vx, vy);
    proc.readMem(y, vy);
    show("await daxpy(n, 2.0, x, y)", `${touched} (int64_t -> bigint)`);
    show("y = 2x + y", `[${y.join(", ")}]`);

    // 6. Synchronous call: wait() blocks until the result is there.
    const sum: number = dsum(ctx, vy, n).wait();
    show("dsum(y).wait()", `${sum} (double; expected ${y.reduce((a, b) => a + b, 0)})`);

    // 7. Several requests in flight at once, collected together (results in order, each
    //    typed: [number, number]).
    const f = Float32Array.from({ length: n }, (_, i) => (i + 1) * 0.5);
    const vf = proc.allocMem(f.byteLength);
    proc.writeMem(vf, f);
    const [mean, sumX] = await VeoRequest.all([fmean(ctx, vf, n), dsum(ctx, vx, n)]);
    show("fmean(0.5 .. 4.0)", `${mean} (float)`);
    show("dsum(x)", `${sumX} (double)`);

    // 8. A buffer on the VE stack: OUT copies it back when the request completes.
    const out = new Float64Array(2);
    const rc = await minmax(ctx, vy, n, new OnStack(out, { intent: Intent.OUT }));
    show("minmax(y, out) [OnStack OUT]", `rc=${rc}, min=${out[0]}, max=${out[1]}`);

    proc.freeMem(vx);
    proc.freeMem(vy);
    proc.freeMem(vf);
  } finally {
    // 9. Destroying the proc ends the VE process (and closes its contexts).
    proc.destroy();
  }
  console.log("\nproc destroyed; done.");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
