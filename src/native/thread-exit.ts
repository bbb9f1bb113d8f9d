/*
 * A command that runs when the calling thread exits. Node runs nothing of a worker's
 * JavaScript when worker.terminate() ends it (no 'exit' event), so the VE processes a worker
 * started would outlive it. The thread itself still exits, and glibc then runs its
 * thread-specific-data destructors: a pthread key whose destructor is libc's system() and
 * whose value is a shell command makes that exit run the command. The command string lives
 * on the C heap (strdup), out of reach of the worker's garbage collector.
 */
import koffi from "koffi";

interface Libc {
  keyCreate: (key: Uint32Array, destructor: bigint) => number;
  setSpecific: (key: number, value: bigint | null) => number;
  strdup: (s: string) => bigint | null;
  free: (p: bigint) => void;
  dlsym: (handle: null, name: string) => bigint | null;
}

let libc: Libc | undefined;
let key: number | undefined;
let current: bigint | null = null;

function setup(): { lc: Libc; key: number } {
  if (libc === undefined) {
    const lib = koffi.load("libc.so.6");
    libc = {
      keyCreate: lib.func("int pthread_key_create(uint32_t *key, void *destructor)") as Libc["keyCreate"],
      setSpecific: lib.func("int pthread_setspecific(uint32_t key, void *value)") as Libc["setSpecific"],
      strdup: lib.func("void *strdup(const char *s)") as Libc["strdup"],
      free: lib.func("void free(void *p)") as Libc["free"],
      dlsym: lib.func("void *dlsym(void *handle, const char *name)") as Libc["dlsym"],
    };
  }
  if (key === undefined) {
    const system = libc.dlsym(null, "system");
    if (system === null) throw new Error("dlsym(system) failed");
    const out = new Uint32Array(1);
    if (libc.keyCreate(out, system) !== 0) throw new Error("pthread_key_create failed");
    key = out[0];
  }
  return { lc: libc, key };
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
  if (lc.setSpecific(k, next) !== 0) {
    if (next !== null) lc.free(next);
    throw new Error("pthread_setspecific failed");
  }
  if (current !== null) lc.free(current);
  current = next;
}
