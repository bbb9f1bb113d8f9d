/*
 * The few libc functions veo-ts calls itself, declared here once and bound on first use from
 * one load of glibc's libc.so.6: symbol addresses and semaphores (library discovery,
 * callbacks.ts), fd flags around proc creation (fds.ts) and a thread-exit command
 * (thread-exit.ts).
 */
import koffi, { type LibraryHandle } from "koffi";

import type { U64 } from "./api.js";

let libcLibrary: LibraryHandle | undefined;

/** glibc's libc.so.6 (which also holds dlsym and pthread since 2.34), loaded once. */
function loadLibc(): LibraryHandle {
  return (libcLibrary ??= koffi.load("libc.so.6"));
}

export interface Libc {
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
  dup2: (from: number, to: number) => number;
  close: (fd: number) => number;
  pipe2: (fds: Int32Array, flags: number) => number;
  pthread_key_create: (key: Uint32Array, destructor: bigint) => number;
  pthread_setspecific: (key: number, value: bigint | null) => number;
  strdup: (s: string) => bigint | null;
  free: (p: bigint) => void;
  dlsym: (handle: null, name: string) => bigint | null;
}

const PROTOTYPES: readonly string[] = [
  "int fcntl(int fd, int cmd, ...)",
  "int dup2(int oldfd, int newfd)",
  "int close(int fd)",
  "int pipe2(_Out_ int *fds, int flags)",
  "int pthread_key_create(uint32_t *key, void *destructor)",
  "int pthread_setspecific(uint32_t key, void *value)",
  "void *strdup(const char *s)",
  "void free(void *p)",
  "void *dlsym(void *handle, const char *name)",
];

let bound: Libc | undefined;

/** libc's functions above (glibc's libc.so.6, which also holds dlsym and pthread since 2.34). */
export function libc(): Libc {
  if (bound === undefined) {
    const lib = loadLibc();
    bound = Object.fromEntries(
      PROTOTYPES.map((p) => [/([a-z_0-9]+)\(/.exec(p)?.[1] as string, lib.func(p)]),
    ) as unknown as Libc;
  }
  return bound;
}

/**
 * What veo-ts needs from the C library: symbol addresses (dlsym / dlopen with RTLD_NOLOAD)
 * and POSIX semaphores (callbacks.ts). Bound once per process.
 */
export interface LibcApi {
  /** dlsym(handle, name): the address of a symbol, 0 if absent (handle 0 = RTLD_DEFAULT). */
  dlsym(handle: U64, name: string): number;
  /** dlopen(path, RTLD_NOW | RTLD_NOLOAD): the handle of an already loaded library, or 0. */
  dlopenLoaded(path: string): number;
  sem_init: (sem: number, pshared: number, value: number) => number;
  sem_post: (sem: number) => number;
  /** `count` zeroed bytes on the C heap (never freed), as an address. */
  alloc(count: number): number;
}

let libcApi: LibcApi | undefined;

/** Binds the few libc functions veo-ts uses (glibc's libc.so.6). */
export function bindLibc(): LibcApi {
  if (libcApi) return libcApi;
  const lib = loadLibc();
  const dlsym = lib.func("uintptr_t dlsym(uintptr_t handle, const char *name)") as (
    h: U64,
    n: string,
  ) => number;
  const dlopen = lib.func("uintptr_t dlopen(const char *path, int flags)") as (
    p: string,
    f: number,
  ) => number;
  const RTLD_NOW = 2;
  const RTLD_NOLOAD = 4;
  libcApi = {
    dlsym: (h, n) => dlsym(h, n),
    dlopenLoaded: (p) => dlopen(p, RTLD_NOW | RTLD_NOLOAD),
    sem_init: lib.func("int sem_init(uintptr_t sem, int pshared, unsigned int value)") as LibcApi["sem_init"],
    sem_post: lib.func("int sem_post(uintptr_t sem)") as LibcApi["sem_post"],
    alloc: (count) => Number(koffi.alloc("uint8_t", count) as bigint),
  };
  return libcApi;
}
