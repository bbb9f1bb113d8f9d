/*
 * emu_futex.c - thin futex(2) wrappers shared by the host library and the helper. Shared
 * (non-private) futexes, because the words live in the proc's shared-memory file.
 */
#define _GNU_SOURCE
#include "emu_futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int emu_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000LL;
    ts.tv_nsec = timeout_ns % 1000000000LL;
    tsp = &ts;
  }
  long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (rc == 0 || errno == EAGAIN) return 0;
  return -1;
}

void emu_futex_wake(_Atomic uint32_t *word, int n) {
  /* Failure is impossible for a valid address; nothing useful to do if it happens. */
  (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
}

uint64_t emu_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int emu_spin_pace(unsigned i, uint64_t start, uint64_t budget_ns, _Atomic int32_t *own_cpu,
                  _Atomic int32_t *partner_cpu, int *cpu) {
  if ((i & 63) == 63) {
    if (emu_now_ns() - start > budget_ns) return -1;
    *cpu = sched_getcpu();
    atomic_store_explicit(own_cpu, *cpu, memory_order_relaxed);
    sched_yield();
  } else if (atomic_load_explicit(partner_cpu, memory_order_relaxed) == *cpu) {
    sched_yield();
  }
  return 0;
}
