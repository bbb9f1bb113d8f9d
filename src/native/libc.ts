/*
 * The few libc functions veo-ts calls itself (fd flags around proc creation, a thread-exit
 * command), declared once and bound on first use.
 */
import koffi from "koffi";

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
    const lib = koffi.load("libc.so.6");
    bound = Object.fromEntries(
      PROTOTYPES.map((p) => [/([a-z_0-9]+)\(/.exec(p)?.[1] as string, lib.func(p)]),
    ) as unknown as Libc;
  }
  return bound;
}
