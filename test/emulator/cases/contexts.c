/*
 * contexts.c - contexts (spec §3.5): the first open returns the main context, a second
 * open needs VE_OMP_NUM_THREADS=1, extra contexts run concurrently (two kernels meet on a
 * flag in VE memory; serialized contexts would time out), veo_num_contexts /
 * veo_get_context, closing the main context is a no-op, attributes and stack sizes,
 * context states. `contexts cores` (VE_CORE_NUMBER=1): context threads are pinned.
 */
#include "../helpers.h"

#define MiB ((size_t)1 << 20)

/* VE_CORE_NUMBER=1 (set by the runner): the main context runs on CPU 1, the next context
 * on the following CPU (the emulator wraps around the host's CPU count). */
static void cores(void) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(ncpu > 0 && ncpu <= 64);
  struct veo_proc_handle *proc = PROC(0);
  uint64_t mask = SYM(proc, LOAD(proc, "libk_basic.so"), "cpu_mask");
  struct veo_thr_ctxt *m = veo_context_open(proc);
  CHECK_EQ(CALL(m, mask, 0), 1ULL << (1 % ncpu));
  struct veo_thr_ctxt *c = OPEN_EXTRA(proc);
  CHECK_EQ(CALL(c, mask, 0), 1ULL << (2 % ncpu));
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("contexts cores: OK\n");
}

int main(int argc, char **argv) {
  check_watchdog(40);
  if (argc > 1 && !strcmp(argv[1], "cores")) {
    cores();
    return 0;
  }
  unsetenv("VE_OMP_NUM_THREADS");
  struct veo_proc_handle *proc = PROC(0);
  uint64_t lib = LOAD(proc, "libk_basic.so");
  uint64_t hello = SYM(proc, lib, "hello"), rendezvous = SYM(proc, lib, "rendezvous");
  uint64_t stack_size = SYM(proc, lib, "stack_size"), use_stack = SYM(proc, lib, "use_stack");

  STEP("before any open");
  CHECK_EQ(veo_num_contexts(proc), 0);
  CHECK(veo_get_context(proc, 0) == NULL);
  errno = 0;
  CHECK_EQ(veo_num_contexts(NULL), -1);
  CHECK_EQ(errno, EINVAL);

  STEP("first open = main context");
  struct veo_thr_ctxt *main_ctx = veo_context_open(proc);
  CHECK(main_ctx != NULL);
  CHECK_EQ(veo_num_contexts(proc), 1);
  CHECK(veo_get_context(proc, 0) == main_ctx);
  CHECK(veo_get_context(proc, 1) == NULL);
  CHECK(veo_get_context(proc, -1) == NULL);
  CHECK_EQ(veo_get_context_state(main_ctx), VEO_STATE_RUNNING);

  STEP("second open without VE_OMP_NUM_THREADS=1");
  CHECK(veo_context_open(proc) == NULL);
  setenv("VE_OMP_NUM_THREADS", "2", 1);
  CHECK(veo_context_open(proc) == NULL);
  setenv("VE_OMP_NUM_THREADS", "1 ", 1);
  CHECK(veo_context_open(proc) == NULL);
  CHECK_EQ(veo_num_contexts(proc), 1);

  STEP("closing the main context is a no-op");
  CHECK_EQ(veo_context_close(main_ctx), 0);
  CHECK_EQ(veo_num_contexts(proc), 1);
  CHECK_EQ(veo_get_context_state(main_ctx), VEO_STATE_RUNNING);
  CHECK_EQ(CALL(main_ctx, hello, 1, 1), 2);

  STEP("second context (opening waits for the main context's queue)");
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  uint64_t busy = SUBMIT(main_ctx, SYM(proc, lib, "sleep_ms"), 1, 300);
  double t0 = now_ms();
  struct veo_thr_ctxt *c2 = veo_context_open(proc);
  CHECK(now_ms() - t0 >= 250);
  CHECK_EQ(veo_call_peek_result(main_ctx, busy, &(uint64_t){0}), VEO_COMMAND_OK);
  CHECK(c2 != NULL);
  CHECK(c2 != main_ctx);
  CHECK_EQ(veo_num_contexts(proc), 2);
  CHECK(veo_get_context(proc, 1) == c2);
  CHECK_EQ(veo_get_context_state(c2), VEO_STATE_RUNNING);
  CHECK_EQ(CALL(c2, hello, 1, 2), 3);

  STEP("contexts run concurrently");
  uint64_t flags = 0;
  CHECK_EQ(veo_alloc_mem(proc, &flags, 16), 0);
  for (int round = 0; round < 3; round++) {
    uint64_t zero[2] = {0, 0};
    CHECK_EQ(veo_write_mem(proc, flags, zero, sizeof zero), 0);
    uint64_t a = SUBMIT(main_ctx, rendezvous, 3, flags, 0, 3000);
    uint64_t b = SUBMIT(c2, rendezvous, 3, flags, 1, 3000);
    CHECK_EQ(WAIT_OK(c2, b), 1);
    CHECK_EQ(WAIT_OK(main_ctx, a), 1);
  }

  STEP("attributes");
  errno = 0;
  CHECK(veo_context_open_with_attr(proc, NULL) == NULL);
  CHECK_EQ(errno, EINVAL);
  struct veo_thr_ctxt_attr *attr = veo_alloc_thr_ctxt_attr();
  CHECK(attr != NULL);
  errno = 0;
  CHECK(veo_context_open_with_attr(NULL, attr) == NULL);
  CHECK_EQ(errno, EINVAL);
  size_t ss = 0;
  CHECK_EQ(veo_get_thr_ctxt_stacksize(attr, &ss), 0);
  CHECK_EQ(ss, 128 * MiB);
  errno = 0;
  CHECK_EQ(veo_set_thr_ctxt_stacksize(attr, 4 * MiB - 1), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_set_thr_ctxt_stacksize(attr, 1 * MiB), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(veo_get_thr_ctxt_stacksize(attr, &ss), 0);
  CHECK_EQ(ss, 128 * MiB); /* unchanged by the failures */
  CHECK_EQ(veo_set_thr_ctxt_stacksize(attr, 4 * MiB), 0);
  CHECK_EQ(veo_set_thr_ctxt_stacksize(attr, 48 * MiB), 0);
  CHECK_EQ(veo_get_thr_ctxt_stacksize(attr, &ss), 0);
  CHECK_EQ(ss, 48 * MiB);
  errno = 0;
  CHECK_EQ(veo_set_thr_ctxt_stacksize(NULL, 8 * MiB), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_get_thr_ctxt_stacksize(NULL, &ss), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_get_thr_ctxt_stacksize(attr, NULL), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_free_thr_ctxt_attr(NULL), -1);
  CHECK_EQ(errno, EINVAL);

  STEP("context with a 48 MiB stack");
  struct veo_thr_ctxt *c3 = veo_context_open_with_attr(proc, attr);
  CHECK(c3 != NULL);
  CHECK(c3 != main_ctx && c3 != c2);
  CHECK_EQ(veo_num_contexts(proc), 3);
  CHECK(veo_get_context(proc, 2) == c3);
  uint64_t s3 = CALL(c3, stack_size, 0);
  CHECK(s3 >= 48 * MiB && s3 < 64 * MiB);
  CHECK(CALL(c3, use_stack, 1, 40) < 512);
  uint64_t s2 = CALL(c2, stack_size, 0);
  CHECK(s2 >= 128 * MiB); /* the default stack of a new context */
  CHECK(CALL(c2, use_stack, 1, 100) < 512);
  CHECK_EQ(veo_free_thr_ctxt_attr(attr), 0);
  CHECK_EQ(CALL(c3, hello, 1, 3), 4); /* freeing the attr does not affect c3 */

  STEP("close an extra context");
  CHECK_EQ(veo_context_close(c2), 0);
  CHECK_EQ(veo_num_contexts(proc), 2);
  CHECK(veo_get_context(proc, 0) == main_ctx);
  CHECK(veo_get_context(proc, 1) == c3); /* shifted down */
  CHECK(veo_get_context(proc, 2) == NULL);
  CHECK_EQ(CALL(c3, hello, 1, 4), 5);
  CHECK_EQ(CALL(main_ctx, hello, 1, 5), 6);
  CHECK_EQ(veo_context_close(c3), 0);
  CHECK_EQ(veo_num_contexts(proc), 1);

  STEP("many contexts");
  struct veo_thr_ctxt *many[8];
  for (int i = 0; i < 8; i++) {
    many[i] = veo_context_open(proc);
    CHECK(many[i] != NULL);
  }
  CHECK_EQ(veo_num_contexts(proc), 9);
  uint64_t ids[8];
  for (int i = 0; i < 8; i++) ids[i] = SUBMIT(many[i], hello, 1, 100 + i);
  for (int i = 7; i >= 0; i--) CHECK_EQ(WAIT_OK(many[i], ids[i]), 101 + i);
  for (int i = 0; i < 8; i++) CHECK_EQ(veo_context_close(many[i]), 0);
  CHECK_EQ(veo_num_contexts(proc), 1);
  CHECK_EQ(veo_free_mem(proc, flags), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);

  STEP("open_with_attr as the first open returns the main context");
  struct veo_proc_handle *p2 = PROC(1);
  attr = veo_alloc_thr_ctxt_attr();
  CHECK_EQ(veo_set_thr_ctxt_stacksize(attr, 8 * MiB), 0);
  struct veo_thr_ctxt *m2 = veo_context_open_with_attr(p2, attr);
  CHECK(m2 != NULL);
  CHECK_EQ(veo_num_contexts(p2), 1);
  CHECK(veo_get_context(p2, 0) == m2);
  CHECK_EQ(veo_context_close(m2), 0); /* main: no-op */
  CHECK_EQ(veo_num_contexts(p2), 1);
  uint64_t l2 = LOAD(p2, "libk_basic.so");
  CHECK_EQ(CALL(m2, SYM(p2, l2, "hello"), 1, 6), 7);
  CHECK_EQ(veo_free_thr_ctxt_attr(attr), 0);
  CHECK_EQ(veo_proc_destroy(p2), 0);
  printf("contexts: OK\n");
  return 0;
}
