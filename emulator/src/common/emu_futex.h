/*
 * emu_futex.h - futex wait/wake on 32-bit words in memory shared between the host library
 * and the helper (so: not FUTEX_PRIVATE), plus a CPU pause for spin loops.
 */
#ifndef EMU_FUTEX_H
#define EMU_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleeps while *word == expected, at most timeout_ns (<0: forever). Returns 0 when woken or
 * the word changed, -1 on timeout or interruption (callers re-check their condition). */
int emu_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* Wakes up to n sleepers (INT32_MAX: all). */
void emu_futex_wake(_Atomic uint32_t *word, int n);

static inline void emu_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

uint64_t emu_now_ns(void);

#endif /* EMU_FUTEX_H */
