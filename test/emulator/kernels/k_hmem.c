/* k_hmem.c - kernels taking HMEM (tagged) addresses (libk_hmem.so). */
#include <stdint.h>
#include <veo_hmem.h>

/* Strips the tag and writes i + v into p[i]; returns 1 iff p was a VE (tagged) address. */
uint64_t hmem_fill(void *p, int n, int v) {
  int is_ve = veo_is_ve_addr(p);
  int *q = (int *)veo_get_hmem_addr(p);
  for (int i = 0; i < n; i++) q[i] = i + v;
  return (uint64_t)is_ve;
}

uint64_t is_ve(void *p) { return (uint64_t)veo_is_ve_addr(p); }

uint64_t strip(void *p) { return (uint64_t)veo_get_hmem_addr(p); }
