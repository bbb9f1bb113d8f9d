/*
 * Test kernels for the AVEO extras: HMEM pointers as arguments (stripped on the VE side with
 * veo_get_hmem_addr, as AVEO kernels do), and the stack a context's thread runs on.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/shm.h>

#include <veo_hmem.h>

/* Reads the long an HMEM (or plain VE) address points at. */
long hmem_read(long *p) { return *(long *)veo_get_hmem_addr(p); }

/* Adds v to the long an HMEM (or plain VE) address points at; returns the new value. */
long hmem_add(long *p, long v) {
  long *q = (long *)veo_get_hmem_addr(p);
  *q += v;
  return *q;
}

/* The stack size of the thread running this kernel (its context's), or 0 if unknown. */
uint64_t ctx_stack_size(void) {
  pthread_attr_t attr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  if (pthread_attr_getstacksize(&attr, &size) != 0) size = 0;
  pthread_attr_destroy(&attr);
  return size;
}

/*
 * Uses `bytes` of stack at once, touching every page from the top down (so a stack too small
 * meets its guard page, SIGSEGV, rather than whatever lies beyond); returns the page count.
 */
uint64_t ctx_stack_use(uint64_t bytes) {
  volatile char *p = alloca(bytes);
  uint64_t pages = 0;
  for (uint64_t off = bytes; off > 0; pages++) {
    off = off > 4096 ? off - 4096 : 0;
    p[off] = (char)off;
  }
  return pages;
}

/* Marks a System V segment for removal (VEO has no call for it; the VE process would). */
int shm_remove(int id) { return shmctl(id, IPC_RMID, NULL); }
