/*
 * prevres.c - veo_prev_req_result and request blocks (spec §3.10, §5.7): exact reply
 * accounting on the main context (load_library, alloc_mem and the hidden get_sym of
 * veo_call_async_by_name each count as one reply), on an extra context, and four threads
 * keeping {return_arg, prevres} pairs adjacent with veo_req_block_begin/end.
 */
#include <pthread.h>

#include "../helpers.h"

static struct veo_thr_ctxt *shared_ctx;
static uint64_t k_ret, k_prev;
enum { THREADS = 4, ROUNDS = 100 };

static void *pair_worker(void *arg) {
  uintptr_t t = (uintptr_t)arg;
  struct veo_args *a = veo_args_alloc(), *b = veo_args_alloc();
  veo_args_set_i32(b, 0, 0);
  for (int r = 0; r < ROUNDS; r++) {
    uint64_t v = (t << 32) | (uint64_t)r | 0x5000000000000000ULL;
    veo_args_set_u64(a, 0, v);
    veo_req_block_begin(shared_ctx);
    uint64_t i1 = veo_call_async(shared_ctx, k_ret, a);
    uint64_t i2 = veo_call_async(shared_ctx, k_prev, b);
    veo_req_block_end(shared_ctx);
    if (i1 == VEO_REQUEST_ID_INVALID || i2 == VEO_REQUEST_ID_INVALID) return (void *)1;
    if (i2 != i1 + 1) return (void *)2;
    uint64_t r1 = 0, r2 = 0;
    if (veo_call_wait_result(shared_ctx, i2, &r2) != VEO_COMMAND_OK) return (void *)3;
    if (veo_call_wait_result(shared_ctx, i1, &r1) != VEO_COMMAND_OK) return (void *)3;
    if (r1 != v || r2 != v) {
      fprintf(stderr, "thread %d round %d: return_arg %" PRIx64 " prevres %" PRIx64
              " expected %" PRIx64 "\n", (int)t, r, r1, r2, v);
      return (void *)4;
    }
  }
  veo_args_free(a);
  veo_args_free(b);
  return NULL;
}

static double blocked_returned_at;
static void *blocked_submitter(void *arg) {
  (void)arg;
  struct veo_args *a = veo_args_alloc();
  veo_args_set_u64(a, 0, 5);
  uint64_t id = veo_call_async(shared_ctx, k_ret, a);
  blocked_returned_at = now_ms();
  uint64_t r = 0;
  veo_call_wait_result(shared_ctx, id, &r);
  veo_args_free(a);
  return (void *)(uintptr_t)r;
}

static void run_threads(void) {
  pthread_t th[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, pair_worker, (void *)i), 0);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(th[i], &r);
    if (r) CHECK_FAIL_("worker %d failed (1 invalid id, 2 ids not adjacent, 3 status, "
                       "4 wrong prevres): %d", i, (int)(uintptr_t)r);
  }
}

int main(void) {
  check_watchdog(60);
  struct veo_proc_handle *proc = PROC(0);
  struct veo_thr_ctxt *ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  uint64_t lib = LOAD(proc, "libk_prev.so");

  STEP("alloc_mem then call_async_by_name(prevres, 1)");
  uint64_t addr = 0;
  CHECK_EQ(veo_alloc_mem(proc, &addr, 4096), 0);
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 1);
  uint64_t id = veo_call_async_by_name(ctx, lib, "prevres", a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(ctx, id), addr);
  STEP("by_name again (cached symbol): prevres(0) is the previous call's result");
  veo_args_set_i32(a, 0, 0);
  id = veo_call_async_by_name(ctx, lib, "prevres", a);
  CHECK_EQ(WAIT_OK(ctx, id), addr);
  STEP("offset 2 skips the two latest replies");
  k_ret = SYM(proc, lib, "return_arg");
  k_prev = SYM(proc, lib, "prevres");
  SUBMIT(ctx, k_ret, 1, 111);
  SUBMIT(ctx, k_ret, 1, 222);
  SUBMIT(ctx, k_ret, 1, 333);
  veo_args_set_i32(a, 0, 2);
  id = veo_call_async(ctx, k_prev, a);
  CHECK_EQ(WAIT_OK(ctx, id), 111);
  veo_context_sync(ctx);

  STEP("on an extra context");
  struct veo_thr_ctxt *c2 = OPEN_EXTRA(proc);
  SUBMIT(c2, k_ret, 1, 0xabcdef);
  veo_args_set_i32(a, 0, 0);
  id = veo_call_async(c2, k_prev, a);
  CHECK_EQ(WAIT_OK(c2, id), 0xabcdef);
  id = veo_alloc_mem_async(c2, 64);
  uint64_t amem = WAIT_OK(c2, id);
  id = veo_call_async(c2, k_prev, a);
  CHECK_EQ(WAIT_OK(c2, id), amem);

  STEP("request blocks hold off other threads");
  shared_ctx = c2;
  veo_req_block_begin(c2);
  pthread_t th;
  blocked_returned_at = 0;
  CHECK_EQ(pthread_create(&th, NULL, blocked_submitter, NULL), 0);
  double held_at = now_ms();
  sleep_ms(200);
  uint64_t mine = SUBMIT(c2, k_ret, 1, 9); /* the holder may still submit */
  veo_req_block_end(c2);
  void *res;
  pthread_join(th, &res);
  CHECK_EQ((uintptr_t)res, 5);
  CHECK(blocked_returned_at - held_at >= 180);
  CHECK_EQ(WAIT_OK(c2, mine), 9);
  STEP("nested blocks (recursive lock)");
  veo_req_block_begin(c2);
  veo_req_block_begin(c2);
  id = SUBMIT(c2, k_ret, 1, 10);
  veo_req_block_end(c2);
  veo_req_block_end(c2);
  CHECK_EQ(WAIT_OK(c2, id), 10);

  STEP("threads with request blocks on an extra context");
  run_threads();
  STEP("threads with request blocks on the main context");
  shared_ctx = ctx;
  run_threads();

  veo_args_free(a);
  CHECK_EQ(veo_context_close(c2), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("prevres: OK\n");
  return 0;
}
