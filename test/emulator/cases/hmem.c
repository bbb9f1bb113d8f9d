/*
 * hmem.c - heterogeneous memory (spec §3.12, §6.6): veo_alloc_hmem tags bits 63:59 with
 * the proc identifier, the hmem query functions, veo_set_proc_identifier, veo_hmemcpy in
 * every direction, tagged addresses passed to kernels with veo_args_set_hmem, and untagged
 * host memory from veo_alloc_hmem(NULL, ...) (a second veo_free_hmem of it fails instead of
 * aborting the process).
 */
#include "../helpers.h"

#define TAG_MASK 0xf800000000000000ULL

int main(void) {
  check_watchdog(30);
  /* Allocated before any host HMEM block, so its address was never one of them. */
  void *plain = malloc(32);
  CHECK(plain != NULL);
  STEP("two procs (identifiers 0 and 1)");
  struct veo_proc_handle *p0 = PROC(0), *p1 = PROC(2);
  CHECK_EQ(veo_proc_identifier(p0), 0);
  CHECK_EQ(veo_proc_identifier(p1), 1);
  uint64_t lib = LOAD(p1, "libk_hmem.so");
  struct veo_thr_ctxt *ctx = veo_context_open(p1);
  CHECK(ctx != NULL);

  STEP("veo_alloc_hmem tags the address");
  enum { N = 1000 };
  void *h = NULL;
  CHECK_EQ(veo_alloc_hmem(p1, &h, N * sizeof(int)), 0);
  uint64_t hv = (uint64_t)h;
  CHECK_EQ(hv >> 63, 1);
  CHECK_EQ((hv >> 59) & 0xf, 1);
  CHECK_EQ(veo_is_ve_addr(h), 1);
  CHECK_EQ(veo_get_proc_identifier_from_hmem(h), 1);
  uint64_t raw = (uint64_t)veo_get_hmem_addr(h);
  CHECK_EQ(raw, hv & ~TAG_MASK);
  CHECK(raw != 0);
  CHECK(veo_get_proc_handle_from_hmem(h) == p1);
  CHECK_EQ(veo_get_pid_from_hmem(h), veo_emu_proc_pid(p1));
  CHECK_EQ(veo_get_venum_from_hmem(h), 2);
  void *h0 = NULL;
  CHECK_EQ(veo_alloc_hmem(p0, &h0, 64), 0);
  CHECK_EQ((uint64_t)h0 >> 59, 0x10); /* bit 63, identifier 0 */
  CHECK(veo_get_proc_handle_from_hmem(h0) == p0);
  CHECK_EQ(veo_get_venum_from_hmem(h0), 0);

  STEP("veo_set_proc_identifier");
  CHECK_EQ((uint64_t)veo_set_proc_identifier((void *)0x1000, 0), 0x8000000000001000ULL);
  CHECK_EQ((uint64_t)veo_set_proc_identifier((void *)0x1000, 15), 0xf800000000001000ULL);
  CHECK_EQ((uint64_t)veo_set_proc_identifier((void *)0x1000, 5), 0xa800000000001000ULL);
  CHECK(veo_set_proc_identifier((void *)0x1000, 16) == NULL);
  CHECK(veo_set_proc_identifier((void *)0x1000, -1) == NULL);
  CHECK_EQ((uint64_t)veo_get_hmem_addr((void *)0xa800000000001000ULL), 0x1000);
  CHECK_EQ((uint64_t)veo_get_hmem_addr((void *)0x1000), 0x1000);
  CHECK_EQ(veo_get_proc_identifier_from_hmem((void *)0xa800000000001000ULL), 5);

  STEP("hmemcpy host -> VE, a kernel on the tagged address, VE -> host");
  int host[N], back[N];
  for (int i = 0; i < N; i++) host[i] = -i;
  CHECK_EQ(veo_hmemcpy(h, host, sizeof host), 0);
  int peek[N];
  CHECK_EQ(veo_read_mem(p1, peek, raw, sizeof peek), 0);
  CHECK_MEM(peek, host, sizeof host);
  struct veo_args *a = veo_args_alloc();
  veo_args_set_hmem(a, 0, h);
  veo_args_set_i32(a, 1, N);
  veo_args_set_i32(a, 2, 7);
  uint64_t id = veo_call_async_by_name(ctx, lib, "hmem_fill", a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(ctx, id), 1); /* the kernel saw a VE (tagged) address */
  CHECK_EQ(veo_hmemcpy(back, h, sizeof back), 0);
  for (int i = 0; i < N; i++) CHECK_EQ(back[i], i + 7);
  STEP("kernel-side veo_get_hmem_addr");
  veo_args_clear(a);
  veo_args_set_hmem(a, 0, h);
  id = veo_call_async_by_name(ctx, lib, "strip", a);
  CHECK_EQ(WAIT_OK(ctx, id), raw);

  STEP("hmemcpy VE -> VE on the same proc");
  void *h2 = NULL;
  CHECK_EQ(veo_alloc_hmem(p1, &h2, N * sizeof(int)), 0);
  CHECK_EQ(veo_hmemcpy(h2, h, sizeof back), 0);
  memset(back, 0, sizeof back);
  CHECK_EQ(veo_hmemcpy(back, h2, sizeof back), 0);
  for (int i = 0; i < N; i++) CHECK_EQ(back[i], i + 7);
  STEP("hmemcpy of size 0, and of 32 MiB VE -> VE");
  CHECK_EQ(veo_hmemcpy(h2, h, 0), 0);
  CHECK_EQ(veo_hmemcpy(back, h, 0), 0);
  {
    size_t n = 32u << 20;
    void *b1 = NULL, *b2 = NULL;
    CHECK_EQ(veo_alloc_hmem(p1, &b1, n), 0);
    CHECK_EQ(veo_alloc_hmem(p1, &b2, n), 0);
    unsigned char *src = malloc(n), *dst = calloc(1, n);
    CHECK(src && dst);
    for (size_t i = 0; i < n; i++) src[i] = (unsigned char)(i * 29 + (i >> 16));
    CHECK_EQ(veo_hmemcpy(b1, src, n), 0);
    CHECK_EQ(veo_hmemcpy(b2, b1, n), 0);
    CHECK_EQ(veo_hmemcpy(dst, b2, n), 0);
    CHECK_MEM(dst, src, n);
    CHECK_EQ(veo_free_hmem(b1), 0);
    CHECK_EQ(veo_free_hmem(b2), 0);
    free(src);
    free(dst);
  }
  STEP("hmemcpy VE -> VE across procs fails");
  CHECK_EQ(veo_hmemcpy(h0, h, 64), -1);
  STEP("hmemcpy with an identifier that has no proc fails");
  void *nobody = veo_set_proc_identifier(veo_get_hmem_addr(h), 9);
  CHECK_EQ(veo_hmemcpy(host, nobody, 64), -1);
  CHECK_EQ(veo_hmemcpy(nobody, host, 64), -1);

  STEP("a failed veo_alloc_hmem");
  void *none = (void *)1;
  CHECK_EQ(veo_alloc_hmem(p1, &none, (size_t)1 << 62), -1);

  STEP("veo_alloc_hmem(NULL): untagged host memory");
  void *hm = NULL;
  CHECK_EQ(veo_alloc_hmem(NULL, &hm, sizeof host), 0);
  CHECK(hm != NULL);
  CHECK_EQ(veo_is_ve_addr(hm), 0);
  CHECK(veo_get_hmem_addr(hm) == hm);
  CHECK_EQ(veo_get_proc_identifier_from_hmem(hm), -1);
  CHECK(veo_get_proc_handle_from_hmem(hm) == NULL);
  CHECK_EQ(veo_get_pid_from_hmem(hm), -1);
  CHECK_EQ(veo_get_venum_from_hmem(hm), -1);
  memset(hm, 0x42, sizeof host); /* really host memory */
  STEP("hmemcpy host -> host and host(hmem) -> VE -> host(hmem)");
  CHECK_EQ(veo_hmemcpy(hm, host, sizeof host), 0);
  CHECK_MEM(hm, host, sizeof host);
  CHECK_EQ(veo_hmemcpy(h2, hm, sizeof host), 0);
  memset(hm, 0, sizeof host);
  CHECK_EQ(veo_hmemcpy(hm, h2, sizeof host), 0);
  CHECK_MEM(hm, host, sizeof host);
  veo_args_clear(a);
  veo_args_set_hmem(a, 0, hm);
  id = veo_call_async_by_name(ctx, lib, "is_ve", a);
  CHECK_EQ(WAIT_OK(ctx, id), 0);
  CHECK_EQ(veo_free_hmem(hm), 0);

  STEP("veo_free_hmem of host memory twice: -1, no abort (upstream: glibc double free)");
  CHECK_EQ(veo_free_hmem(hm), -1);
  CHECK_EQ(veo_free_hmem(hm), -1);
  CHECK_EQ(veo_free_hmem(NULL), 0); /* free(NULL), as upstream */
  STEP("many host blocks: each frees once, the second free of each fails");
  enum { NB = 5000 };
  static void *blocks[NB];
  for (int i = 0; i < NB; i++) {
    CHECK_EQ(veo_alloc_hmem(NULL, &blocks[i], 16 + (size_t)(i % 5) * 100), 0);
    memset(blocks[i], i & 0xff, 16);
  }
  for (int i = 0; i < NB; i += 2) CHECK_EQ(veo_free_hmem(blocks[i]), 0);
  for (int i = 1; i < NB; i += 2) CHECK_EQ(veo_free_hmem(blocks[i]), 0);
  for (int i = 0; i < NB; i++) CHECK_EQ(veo_free_hmem(blocks[i]), -1);
  STEP("a block at a freed address, handed out again, frees once more");
  void *again = NULL;
  CHECK_EQ(veo_alloc_hmem(NULL, &again, 16), 0);
  CHECK_EQ(veo_free_hmem(again), 0);
  CHECK_EQ(veo_free_hmem(again), -1);
  STEP("plain malloc memory is freed, as upstream");
  CHECK_EQ(veo_free_hmem(plain), 0);

  STEP("free_hmem");
  CHECK_EQ(veo_free_hmem(h), 0);
  CHECK_EQ(veo_free_hmem(h2), 0);
  CHECK_EQ(veo_free_hmem(h0), 0);
  veo_args_free(a);

  STEP("identifiers 15 and 16: HMEM works only below 16");
  struct veo_proc_handle *more[15];
  for (int i = 0; i < 15; i++) {
    more[i] = PROC(i % 4);
    CHECK_EQ(veo_proc_identifier(more[i]), i + 2);
  }
  void *h15 = NULL, *h16 = (void *)1;
  CHECK_EQ(veo_alloc_hmem(more[13], &h15, 64), 0);
  CHECK_EQ((uint64_t)h15 >> 59, 0x1f);
  CHECK(veo_get_proc_handle_from_hmem(h15) == more[13]);
  CHECK_EQ(veo_free_hmem(h15), 0);
  CHECK_EQ(veo_alloc_hmem(more[14], &h16, 64), -1);
  for (int i = 0; i < 15; i++) CHECK_EQ(veo_proc_destroy(more[i]), 0);

  STEP("after destroy the identifier's venum is -1");
  CHECK_EQ(veo_proc_destroy(p0), 0);
  CHECK_EQ(veo_get_venum_from_hmem(veo_set_proc_identifier((void *)0x1000, 0)), -1);
  CHECK(veo_get_proc_handle_from_hmem(veo_set_proc_identifier((void *)0x1000, 0)) == NULL);
  CHECK_EQ(veo_get_pid_from_hmem(veo_set_proc_identifier((void *)0x1000, 0)), -1);
  CHECK_EQ(veo_proc_destroy(p1), 0);
  printf("hmem: OK\n");
  return 0;
}
