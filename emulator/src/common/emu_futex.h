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

/* The pacing of a spin-wait, the same on both sides; call it every 8th turn (i & 7 == 7) of
 * a loop that started at `start`. It yields at once when the partner spins on our CPU
 * (`*cpu`, published in `own_cpu`; the partner's in `partner_cpu`), and every 64th turn
 * anyway (a just-woken partner may be queued on our CPU, its marker not yet set), refreshing
 * our marker. Returns 0 to keep spinning, -1 once `budget_ns` have passed. */
int emu_spin_pace(unsigned i, uint64_t start, uint64_t budget_ns, _Atomic int32_t *own_cpu,
                  _Atomic int32_t *partner_cpu, int *cpu);

#endif /* EMU_FUTEX_H */
