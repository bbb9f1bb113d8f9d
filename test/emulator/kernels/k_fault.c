/* k_fault.c - kernels that kill their "VE" process (libk_fault.so). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

uint64_t do_segv(void) {
  volatile uint64_t *p = (volatile uint64_t *)16;
  return *p;
}

uint64_t do_fpe(int zero) {
  volatile int a = 1;
  return (uint64_t)(a / zero); /* x86 integer division by zero: SIGFPE */
}

uint64_t do_abort(void) { abort(); }

uint64_t do_ill(void) { __builtin_trap(); }

uint64_t do_bus(void) {
  raise(SIGBUS);
  return 0;
}

uint64_t do_exit(int code) { exit(code); }

uint64_t fsleep_ms(int ms) {
  usleep((useconds_t)ms * 1000);
  return (uint64_t)ms;
}

uint64_t fhello(int i) { return (uint64_t)(i + 1); }
