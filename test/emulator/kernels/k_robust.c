/* k_robust.c - kernels that misbehave on purpose (libk_robust.so): they overrun their stack
 * buffers, write over the command ring, never return, fork, open files. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The emulator's wire format: where the command rings and control blocks are. */
#include "emu_shm.h"

uint64_t robust_data[4] = {1, 2, 3, 4}; /* a data symbol */

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Creates `path`.started, then waits (up to 20 s) until the file `path` exists: the host's
 * go signal. */
uint64_t gate(const char *path) {
  char started[4200];
  snprintf(started, sizeof started, "%s.started", path);
  int fd = open(started, O_CREAT | O_WRONLY, 0600);
  if (fd >= 0) close(fd);
  for (int i = 0; i < 20000; i++) {
    if (access(path, F_OK) == 0) return 1;
    pause_ms(1);
  }
  return 0;
}

/* Writes len + extra bytes of 0x5a into buf: `extra` past the end of the caller's buffer. */
uint64_t overrun(char *buf, uint64_t len, uint64_t extra) {
  for (uint64_t i = 0; i < len + extra; i++) ((volatile char *)buf)[i] = 0x5a;
  return len + extra;
}

/* The helper's mapping of the shared memory file ("/memfd:veo-emu"), or NULL. */
static char *shm_base(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return NULL;
  char line[512];
  unsigned long lo = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "/memfd:veo-emu")) {
      sscanf(line, "%lx-", &lo);
      break;
    }
  }
  fclose(f);
  return (char *)lo;
}

/* After `path` exists, mode 1: fills the main context's ring after the record at `own`
 * bytes from the current position with 0xff (the records queued behind this call);
 * mode 2: sets the main context's completion position far past anything submitted, then
 * sleeps so the helper cannot correct it; mode 3: hands the host's VH thread the ring's
 * first record (never a VH request), then sleeps. Returns 1 if it found the ring. */
uint64_t scribble(const char *path, int mode) {
  if (!gate(path)) return 0;
  char *shm = shm_base();
  if (!shm) return 0;
  struct emu_ctx_ctl *ctl = (struct emu_ctx_ctl *)(shm + EMU_CTL_OFFSET(0));
  if (mode == 1) {
    uint64_t done = atomic_load(&ctl->done);
    uint64_t head = atomic_load(&ctl->head);
    char *ring = shm + EMU_RING_OFFSET(0);
    /* This record starts at `done`; skip it (its header says how long it is). */
    struct emu_rec *self = (struct emu_rec *)(ring + done % EMU_RING_SIZE);
    uint64_t from = done + self->size;
    if (head > from) memset(ring + from % EMU_RING_SIZE, 0xff, head - from);
    return 1;
  }
  if (mode == 2) {
    atomic_store(&ctl->done, UINT64_MAX / 2);
  } else {
    atomic_store(&ctl->vh_pos, 0);
    atomic_fetch_add(&ctl->vh_seq, 1);
    syscall(SYS_futex, &ctl->vh_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
  pause_ms(20000);
  return 1;
}

/* Never returns (until the helper is killed). */
uint64_t forever(void) {
  for (;;) pause_ms(1000);
}

/* Sleeps ms, then creates `path`: shows whether the kernel ran to its end. */
uint64_t sleep_touch(int ms, const char *path) {
  pause_ms(ms);
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

/* Forks a child that lives until it is killed; returns its pid. */
uint64_t fork_sleeper(void) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return (uint64_t)(int64_t)pid;
}

/* Opens (creates) `path`, prints a line (to the helper's stdout) and returns the fd number
 * the file got; the file stays open. */
uint64_t open_and_print(const char *path) {
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  printf("open_and_print: this line belongs on stdout, not in the file\n");
  fflush(stdout);
  return (uint64_t)(int64_t)fd;
}

uint64_t print_flushed(const char *text) {
  printf("%s\n", text);
  fflush(stdout);
  return 1;
}
