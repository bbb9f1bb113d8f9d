/*
 * Child process of aveo.test.ts: exits (process.exit, or an uncaught exception) while
 * callVh functions are queued behind running kernels on two procs. Prints each helper's
 * pid; a function that runs prints RAN (it must not). The 2 s kernel outlasts the emulator's
 * default destroy grace (1 s): the parent raises VEO_EMU_KILL_GRACE_MS so that only a VH
 * thread left blocked could make the emulator kill a helper.
 */
import { VeoProc } from "../../src/index.js";
import { kernel } from "./kernels.js";

const mode = process.argv[2] ?? "exit";
for (let i = 0; i < 2; i++) {
  const proc = new VeoProc(0);
  const lib = proc.loadLibrary(kernel("basic"));
  const ctx = proc.openContext();
  proc.on("alloc", () => {});
  proc.allocMem(8);
  const sleep = lib.declare("int do_sleep(int ms)");
  sleep(ctx, 2000);
  for (let j = 0; j < 3; j++) {
    ctx
      .callVh(() => {
        console.log("RAN");
        return 0;
      })
      .catch(() => {});
  }
  sleep(ctx, 10);
  console.log(`helper ${proc._helperPid()}`);
}
setTimeout(() => {
  if (mode === "exit") process.exit(0);
  throw new Error("uncaught, on purpose");
}, 100);
