/*
 * Worker thread of procs.test.ts: creates a proc, runs a kernel and a callVh function,
 * reports, then ends without destroying the proc (veo-ts destroys it as the worker exits).
 */
import { parentPort, workerData } from "node:worker_threads";

import { VeoProc } from "../../src/index.js";

const proc = new VeoProc(0);
const lib = proc.loadLibrary((workerData as { library: string }).library);
const ctx = proc.openContext();
const sum = await lib.declare("int add_one(int x)")(ctx, 41);
const vh = await ctx.callVh(() => 7);
// One more function queued behind a kernel when the worker ends.
lib.declare("int do_sleep(int ms)")(ctx, 50);
ctx.callVh(() => 1).catch(() => {});
let hookError = "none";
try {
  proc.on("alloc", () => {});
} catch (e) {
  hookError = (e as Error).name;
}
proc.on("allocAsync", () => {}); // raised by veo-ts itself: fine in a worker
parentPort?.postMessage({ sum, vh, hookError, pid: proc._helperPid() });
