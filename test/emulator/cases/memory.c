/*
 * memory.c - synchronous VE memory (spec §3.4): alloc/free, write/read of every small size
 * at every alignment (neighbours untouched), 64 MiB transfers, size 0, kernels freeing
 * veo_alloc_mem memory and veo_free_mem freeing kernel malloc memory, failed allocations,
 * and four threads allocating, writing, reading and freeing at once on one proc.
 * The runner runs it twice: as is, and with the process_vm_readv/writev path disabled.
 */
#include <pthread.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;

static void pattern(unsigned char *p, size_t n, unsigned seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (unsigned char)x;
  }
}

static void small_sizes(void) {
  STEP("sizes 1..23 at offsets 0..15");
  enum { AREA = 64 };
  uint64_t ve = 0;
  CHECK_EQ(veo_alloc_mem(proc, &ve, AREA), 0);
  CHECK(ve != 0);
  unsigned char base[AREA], data[AREA], back[AREA], expect[AREA];
  pattern(base, AREA, 1);
  for (size_t len = 1; len <= 23; len++)
    for (size_t off = 0; off < 16; off++) {
      CHECK_EQ(veo_write_mem(proc, ve, base, AREA), 0);
      pattern(data, len, (unsigned)(len * 31 + off));
      CHECK_EQ(veo_write_mem(proc, ve + off, data, len), 0);
      memset(back, 0xee, sizeof back);
      CHECK_EQ(veo_read_mem(proc, back, ve + off, len), 0);
      CHECK_MEM(back, data, len);
      CHECK_EQ(back[len], 0xee); /* read wrote exactly len bytes */
      memcpy(expect, base, AREA);
      memcpy(expect + off, data, len);
      CHECK_EQ(veo_read_mem(proc, back, ve, AREA), 0);
      CHECK_MEM(back, expect, AREA); /* write touched exactly len bytes */
    }
  STEP("size 0");
  CHECK_EQ(veo_write_mem(proc, ve, base, 0), 0);
  CHECK_EQ(veo_read_mem(proc, back, ve, 0), 0);
  CHECK_EQ(veo_free_mem(proc, ve), 0);
}

static void big(void) {
  STEP("64 MiB");
  size_t n = 64u << 20;
  unsigned char *src = malloc(n), *dst = malloc(n);
  CHECK(src && dst);
  pattern(src, n, 7);
  memset(dst, 0, n);
  uint64_t ve = 0;
  CHECK_EQ(veo_alloc_mem(proc, &ve, n), 0);
  CHECK_EQ(veo_write_mem(proc, ve, src, n), 0);
  CHECK_EQ(veo_read_mem(proc, dst, ve, n), 0);
  CHECK_MEM(dst, src, n);
  STEP("unaligned 3 MiB + 5 inside it");
  memset(dst, 0, n);
  CHECK_EQ(veo_read_mem(proc, dst + 1, ve + 12345, (3u << 20) + 5), 0);
  CHECK_MEM(dst + 1, src + 12345, (3u << 20) + 5);
  CHECK_EQ(veo_free_mem(proc, ve), 0);
  free(src);
  free(dst);
}

static void kernels_and_malloc(void) {
  uint64_t lib = LOAD(proc, "libk_basic.so");
  uint64_t vefree = SYM(proc, lib, "vefree"), vemalloc = SYM(proc, lib, "vemalloc");
  uint64_t fill = SYM(proc, lib, "fill_pattern");
  STEP("kernel frees veo_alloc_mem memory");
  for (int i = 0; i < 50; i++) {
    uint64_t ve = 0;
    CHECK_EQ(veo_alloc_mem(proc, &ve, 1000 + i), 0);
    CHECK_EQ(CALL_SYNC(proc, fill, 3, ve, 1000 + i, i), 1000 + i);
    unsigned char b[1100];
    CHECK_EQ(veo_read_mem(proc, b, ve, 1000 + i), 0);
    for (int k = 0; k < 1000 + i; k++) CHECK_EQ(b[k], (unsigned char)(k * 7 + i));
    CHECK_EQ(CALL_SYNC(proc, vefree, 1, ve), 0);
  }
  STEP("veo_free_mem frees kernel malloc memory");
  for (int i = 0; i < 50; i++) {
    uint64_t ve = CALL_SYNC(proc, vemalloc, 1, 4096);
    CHECK(ve != 0);
    uint64_t x = 0xabcdef0123456789ULL ^ i, y = 0;
    CHECK_EQ(veo_write_mem(proc, ve + 8, &x, 8), 0);
    CHECK_EQ(veo_read_mem(proc, &y, ve + 8, 8), 0);
    CHECK_EQ(y, x);
    CHECK_EQ(veo_free_mem(proc, ve), 0);
  }
  STEP("alloc size 0, free 0");
  uint64_t z = 1;
  CHECK_EQ(veo_alloc_mem(proc, &z, 0), 0); /* malloc(0) of glibc: a unique pointer */
  CHECK_EQ(veo_free_mem(proc, z), 0);
  CHECK_EQ(veo_free_mem(proc, 0), 0);
  STEP("alloc failure");
  uint64_t huge = 1;
  CHECK_EQ(veo_alloc_mem(proc, &huge, (size_t)1 << 62), -1);
  CHECK_EQ(huge, 0);
  STEP("addresses keep bits 63:59 clear");
  uint64_t ve = 0;
  CHECK_EQ(veo_alloc_mem(proc, &ve, 64), 0);
  CHECK_EQ(ve >> 59, 0);
  CHECK_EQ(veo_free_mem(proc, ve), 0);
}

enum { THREADS = 4, ROUNDS = 10 };

static void *worker(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  size_t n = (4u << 20) + t * 4099;
  unsigned char *src = malloc(n), *dst = malloc(n);
  if (!src || !dst) return (void *)1;
  for (int r = 0; r < ROUNDS; r++) {
    pattern(src, n, t * 100 + r);
    uint64_t ve = 0;
    if (veo_alloc_mem(proc, &ve, n) != 0 || !ve) return (void *)2;
    if (veo_write_mem(proc, ve, src, n) != 0) return (void *)3;
    if (veo_read_mem(proc, dst, ve, n) != 0) return (void *)4;
    if (memcmp(src, dst, n) != 0) return (void *)5;
    if (veo_free_mem(proc, ve) != 0) return (void *)6;
  }
  free(src);
  free(dst);
  return NULL;
}

static void threads(void) {
  STEP("multithreaded alloc/write/read/free");
  pthread_t th[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)i), 0);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(th[i], &r);
    if (r) CHECK_FAIL_("thread %d failed at stage %d (2 alloc 3 write 4 read 5 compare 6 free)",
                       i, (int)(uintptr_t)r);
  }
}

int main(void) {
  check_watchdog(60);
  proc = PROC(0);
  small_sizes();
  big();
  kernels_and_malloc();
  threads();
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("memory: OK\n");
  return 0;
}
