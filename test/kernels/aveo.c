/*
 * Test kernels for the AVEO extras: HMEM pointers as arguments (stripped on the VE side with
 * veo_get_hmem_addr, as AVEO kernels do).
 */
#include <stdint.h>

#include <veo_hmem.h>

/* Reads the long an HMEM (or plain VE) address points at. */
long hmem_read(long *p) { return *(long *)veo_get_hmem_addr(p); }

/* Adds v to the long an HMEM (or plain VE) address points at; returns the new value. */
long hmem_add(long *p, long v) {
  long *q = (long *)veo_get_hmem_addr(p);
  *q += v;
  return *q;
}
