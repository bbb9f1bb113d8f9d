/* k_prev.c - kernels using veo_prev_req_result (libk_prev.so). */
#include <stdint.h>

/* VE-side helper (libaveoVE upstream; exported by the emulator's helper). */
int veo_prev_req_result(int offs, uint64_t *result);

/* The first 8 bytes of the offs-th previous reply of this context; ~0 if unavailable. */
uint64_t prevres(int offs) {
  uint64_t r = 0;
  if (veo_prev_req_result(offs, &r) != 0) return ~0ULL;
  return r;
}

uint64_t return_arg(uint64_t x) { return x; }
