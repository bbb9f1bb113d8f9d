/*
 * A command that runs when the calling thread exits. Node runs nothing of a worker's
 * JavaScript when worker.terminate() ends it (no 'exit' event), so the VE processes a worker
 * started would outlive it. The thread itself still exits, and glibc then runs its
 * thread-specific-data destructors: a pthread key whose destructor is libc's system() and
 * whose value is a shell command makes that exit run the command. The command string lives
 * on the C heap (strdup), out of reach of the worker's garbage collector.
 */
import { libc, type Libc } from "./libc.js";

let key: number | undefined;
let current: bigint | null = null;

function setup(): { lc: Libc; key: number } {
  const lc = libc();
  if (key === undefined) {
    const system = lc.dlsym(null, "system");
    if (system === null) throw new Error("dlsym(system) failed");
    const out = new Uint32Array(1);
    if (lc.pthread_key_create(out, system) !== 0) throw new Error("pthread_key_create failed");
    key = out[0];
  }
  return { lc, key };
}

/**
 * Makes the calling thread run `command` with /bin/sh when it exits (replacing the previous
 * one); `undefined` runs nothing. Only meant for worker threads: the main thread's exit
 * runs no such destructors.
 */
export function onThreadExit(command: string | undefined): void {
  const { lc, key: k } = setup();
  const next = command === undefined ? null : lc.strdup(command);
  if (command !== undefined && next === null) throw new Error("strdup failed");
  if (lc.pthread_setspecific(k, next) !== 0) {
    if (next !== null) lc.free(next);
    throw new Error("pthread_setspecific failed");
  }
  if (current !== null) lc.free(current);
  current = next;
}
