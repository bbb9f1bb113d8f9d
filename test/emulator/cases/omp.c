/*
 * omp.c - OpenMP in kernels (upstream test_omp, test_omp_2ctx, test_omp_static):
 *   omp          a -fopenmp kernel sees at least 2 threads by default
 *   omp one      run with VE_OMP_NUM_THREADS=1: exactly 1 thread, on two contexts
 *   omp static   the same kernel linked into a static helper, found with handle 0
 */
#include "../helpers.h"

int main(int argc, char **argv) {
  check_watchdog(30);
  const char *mode = argc > 1 ? argv[1] : "default";
  if (!strcmp(mode, "static")) {
    STEP("static helper with OpenMP");
    struct veo_proc_handle *p = veo_proc_create_static(0, (char *)kpath("veorun_omp_static"));
    CHECK(p != NULL);
    uint64_t f = SYM(p, 0, "omp_threads");
    struct veo_thr_ctxt *c = veo_context_open(p);
    CHECK(CALL(c, f, 0) >= 2);
    CHECK_EQ(veo_proc_destroy(p), 0);
  } else {
    struct veo_proc_handle *p = PROC(0);
    uint64_t f = SYM(p, LOAD(p, "libk_omp.so"), "omp_threads");
    struct veo_thr_ctxt *c = veo_context_open(p);
    CHECK(c != NULL);
    if (!strcmp(mode, "one")) {
      STEP("VE_OMP_NUM_THREADS=1");
      CHECK_EQ(CALL(c, f, 0), 1);
      struct veo_thr_ctxt *c2 = veo_context_open(p); /* allowed: the env is 1 */
      CHECK(c2 != NULL);
      CHECK_EQ(CALL(c2, f, 0), 1);
      CHECK_EQ(CALL(c, f, 0), 1);
      CHECK_EQ(veo_context_close(c2), 0);
    } else {
      STEP("default thread count");
      uint64_t n = CALL(c, f, 0);
      printf("omp threads: %d\n", (int)n);
      CHECK(n >= 2);
      CHECK_EQ(CALL_SYNC(p, f, 0), n);
    }
    CHECK_EQ(veo_proc_destroy(p), 0);
  }
  printf("omp %s: OK\n", mode);
  return 0;
}
