/*
 * requests.c - the request lifecycle (spec §3.7-3.9, §5): per-context ids from 0, FIFO
 * order within a context, peek/wait semantics (UNFINISHED, unknown and collected ids),
 * veo_context_sync, veo_call_sync without a context, veo_call_async_by_name,
 * veo_call_async_vh in queue order on a VH thread, async alloc/free, async transfers
 * ordered with calls, invalid submissions.
 */
#include <pthread.h>

#include "../helpers.h"

static pthread_t main_thread;
static uint64_t lib, k_hello, k_sleep, k_now, k_log, k_add_each, k_peek;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct vh_probe {
  int ran;
  int on_main_thread;
  uint64_t ran_at;
};

static uint64_t vh_func(void *arg) {
  struct vh_probe *p = arg;
  p->ran++;
  p->on_main_thread = pthread_equal(pthread_self(), main_thread);
  p->ran_at = mono_ns();
  return 0xfeedface12345678ULL;
}

static uint64_t vh_counter;
static uint64_t vh_count(void *arg) {
  (void)arg;
  return __atomic_add_fetch(&vh_counter, 1, __ATOMIC_SEQ_CST);
}

int main(void) {
  check_watchdog(60);
  main_thread = pthread_self();

  STEP("call_sync with no context open");
  struct veo_proc_handle *proc = PROC(0);
  lib = LOAD(proc, "libk_basic.so");
  k_hello = SYM(proc, lib, "hello");
  k_sleep = SYM(proc, lib, "sleep_ms");
  k_now = SYM(proc, lib, "now_ns");
  k_log = SYM(proc, lib, "log_append");
  k_add_each = SYM(proc, lib, "add_each");
  k_peek = SYM(proc, lib, "peek64");
  CHECK_EQ(veo_num_contexts(proc), 0);
  CHECK_EQ(CALL_SYNC(proc, k_hello, 1, 41), 42);
  struct veo_args *a = veo_args_alloc();
  uint64_t r = 0;
  CHECK_EQ(veo_call_sync(proc, 0, a, &r), -1); /* address 0 */
  CHECK_EQ(veo_num_contexts(proc), 0);

  struct veo_thr_ctxt *ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  struct veo_thr_ctxt *c2 = OPEN_EXTRA(proc);

  STEP("ids start at 0 per context");
  for (uint64_t i = 0; i < 5; i++) CHECK_EQ(SUBMIT(c2, k_hello, 1, i), i);
  for (uint64_t i = 0; i < 5; i++) CHECK_EQ(WAIT_OK(c2, i), i + 1);
  uint64_t prev = SUBMIT(ctx, k_hello, 1, 0);
  for (int i = 0; i < 5; i++) {
    uint64_t id = SUBMIT(ctx, k_hello, 1, 0);
    CHECK(id > prev);
    prev = id;
  }
  veo_context_sync(ctx);

  STEP("invalid submissions");
  CHECK_EQ(veo_call_async(ctx, 0, a), VEO_REQUEST_ID_INVALID);
  CHECK_EQ(veo_call_async_vh(ctx, NULL, NULL), VEO_REQUEST_ID_INVALID);
  CHECK_EQ(veo_call_async_by_name(ctx, lib, "not_a_kernel", a), VEO_REQUEST_ID_INVALID);

  STEP("peek");
  uint64_t id = SUBMIT(c2, k_sleep, 1, 300);
  r = 0x5555;
  CHECK_EQ(veo_call_peek_result(c2, id, &r), VEO_COMMAND_UNFINISHED);
  CHECK_EQ(r, 0x5555);
  int st;
  double t0 = now_ms();
  while ((st = veo_call_peek_result(c2, id, &r)) == VEO_COMMAND_UNFINISHED) {
    CHECK(now_ms() - t0 < 5000);
    sleep_ms(1);
  }
  CHECK_EQ(st, VEO_COMMAND_OK);
  CHECK(r > 0); /* the kernel's finishing time */
  CHECK(now_ms() - t0 >= 250);
  STEP("collected and unknown ids");
  r = 0x5555;
  CHECK_EQ(veo_call_peek_result(c2, id, &r), VEO_COMMAND_ERROR);
  CHECK_EQ(veo_call_wait_result(c2, id, &r), VEO_COMMAND_ERROR);
  CHECK_EQ(veo_call_peek_result(c2, 123456, &r), VEO_COMMAND_ERROR);
  CHECK_EQ(veo_call_wait_result(c2, 123456, &r), VEO_COMMAND_ERROR);
  CHECK_EQ(veo_call_wait_result(c2, VEO_REQUEST_ID_INVALID, &r), VEO_COMMAND_ERROR);
  CHECK_EQ(r, 0x5555);
  id = SUBMIT(c2, k_hello, 1, 7);
  CHECK_EQ(WAIT_OK(c2, id), 8);
  CHECK_EQ(veo_call_wait_result(c2, id, &r), VEO_COMMAND_ERROR);
  /* an id is per context: c2's id is unknown on ctx */
  id = SUBMIT(c2, k_sleep, 1, 1);
  CHECK_EQ(veo_call_peek_result(ctx, id + 1000000, &r), VEO_COMMAND_ERROR);
  WAIT_OK(c2, id);

  STEP("FIFO within a context");
  enum { N = 200 };
  uint64_t logmem = 0;
  CHECK_EQ(veo_alloc_mem(proc, &logmem, (N + 1) * 8), 0);
  int64_t zero = 0;
  CHECK_EQ(veo_write_mem(proc, logmem, &zero, 8), 0);
  uint64_t ids[N];
  for (int i = 0; i < N; i++) {
    if (i % 50 == 0) SUBMIT(c2, k_sleep, 1, 20); /* let the queue fill up */
    ids[i] = SUBMIT(c2, k_log, 2, logmem, i);
  }
  for (int i = N - 1; i >= 0; i--) CHECK_EQ(WAIT_OK(c2, ids[i]), i + 1);
  int64_t logv[N + 1];
  CHECK_EQ(veo_read_mem(proc, logv, logmem, sizeof logv), 0);
  CHECK_EQ(logv[0], N);
  for (int i = 0; i < N; i++) CHECK_EQ(logv[1 + i], i);

  STEP("veo_context_sync");
  struct veo_thr_ctxt *c3 = OPEN_EXTRA(proc);
  veo_context_sync(c3); /* nothing submitted yet: returns at once */
  uint64_t s1 = SUBMIT(c3, k_sleep, 1, 100), s2 = SUBMIT(c3, k_sleep, 1, 100);
  t0 = now_ms();
  veo_context_sync(c3);
  CHECK(now_ms() - t0 >= 150);
  CHECK_EQ(veo_call_peek_result(c3, s1, &r), VEO_COMMAND_OK);
  CHECK_EQ(veo_call_peek_result(c3, s2, &r), VEO_COMMAND_OK);
  CHECK_EQ(veo_context_close(c3), 0);

  STEP("veo_call_async_vh runs in queue order on a VH thread");
  struct vh_probe probe = {0, 0, 0};
  uint64_t k1 = SUBMIT(c2, k_sleep, 1, 200);
  uint64_t vh = veo_call_async_vh(c2, vh_func, &probe);
  CHECK(vh != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(vh, k1 + 1);
  uint64_t k3 = SUBMIT(c2, k_now, 0);
  CHECK_EQ(WAIT_OK(c2, vh), 0xfeedface12345678ULL);
  uint64_t k1_end = WAIT_OK(c2, k1), k3_start = WAIT_OK(c2, k3);
  CHECK_EQ(probe.ran, 1);
  CHECK_EQ(probe.on_main_thread, 0);
  CHECK(probe.ran_at >= k1_end);
  CHECK(k3_start >= probe.ran_at);
  STEP("many vh requests");
  uint64_t vids[100];
  for (int i = 0; i < 100; i++) {
    vids[i] = veo_call_async_vh(ctx, vh_count, NULL);
    CHECK(vids[i] != VEO_REQUEST_ID_INVALID);
  }
  for (int i = 0; i < 100; i++) CHECK_EQ(WAIT_OK(ctx, vids[i]), i + 1);

  STEP("veo_alloc_mem_async / veo_free_mem_async");
  id = veo_alloc_mem_async(c2, 4096);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  uint64_t amem = WAIT_OK(c2, id);
  CHECK(amem != 0);
  CHECK_EQ(amem >> 59, 0);
  id = veo_alloc_mem_async(c2, (size_t)1 << 62);
  CHECK_EQ(WAIT_OK(c2, id), 0); /* malloc failure: status OK, address 0 */

  STEP("async transfers are ordered with calls");
  uint64_t vals[16], back[16];
  for (int i = 0; i < 16; i++) vals[i] = 1000 * i;
  uint64_t w = veo_async_write_mem(c2, amem, vals, sizeof vals);
  CHECK(w != VEO_REQUEST_ID_INVALID);
  uint64_t c = SUBMIT(c2, k_add_each, 3, amem, 16, 5);
  uint64_t rd = veo_async_read_mem(c2, back, amem, sizeof back);
  CHECK(rd != VEO_REQUEST_ID_INVALID);
  uint64_t c_ = SUBMIT(c2, k_add_each, 3, amem, 16, 1);
  CHECK_EQ(WAIT_OK(c2, rd), 0);
  CHECK_EQ(WAIT_OK(c2, w), 0);
  CHECK_EQ(WAIT_OK(c2, c), 120000);
  for (int i = 0; i < 16; i++) CHECK_EQ(back[i], 1000 * i + 5);
  CHECK_EQ(WAIT_OK(c2, c_), 120000 + 80);
  STEP("async 5-byte write to an odd address (test_async_mem)");
  uint64_t word = 0xdeadbeefdeadbeefULL, patch = 0x0403020100c0ffeeULL;
  id = veo_async_write_mem(c2, amem, &word, 8);
  WAIT_OK(c2, id);
  id = veo_async_write_mem(c2, amem + 1, (char *)&patch + 1, 5);
  WAIT_OK(c2, id);
  word = 0;
  id = veo_async_read_mem(c2, &word, amem, 8);
  WAIT_OK(c2, id);
  CHECK_EQ(word, 0xdead020100c0ffefULL);
  STEP("async transfers of size 0 and of 20 MiB");
  id = veo_async_write_mem(c2, amem, vals, 0);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(c2, id), 0);
  id = veo_async_read_mem(c2, back, amem, 0);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(c2, id), 0);
  size_t big = 20u << 20;
  unsigned char *src = malloc(big), *dst = calloc(1, big);
  CHECK(src && dst);
  for (size_t i = 0; i < big; i++) src[i] = (unsigned char)(i * 131 + (i >> 12));
  id = veo_alloc_mem_async(c2, big);
  uint64_t bmem = WAIT_OK(c2, id);
  CHECK(bmem != 0);
  w = veo_async_write_mem(c2, bmem, src, big);
  rd = veo_async_read_mem(c2, dst, bmem, big);
  CHECK(w != VEO_REQUEST_ID_INVALID && rd != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(c2, w), 0);
  CHECK_EQ(WAIT_OK(c2, rd), 0);
  CHECK_MEM(dst, src, big);
  id = veo_free_mem_async(c2, bmem);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(c2, id), 0);
  id = veo_free_mem_async(c2, amem);
  CHECK_EQ(WAIT_OK(c2, id), 0);
  free(src);
  free(dst);

  STEP("sync proc calls wait behind the main context's queue");
  uint64_t flag = 0;
  CHECK_EQ(veo_alloc_mem(proc, &flag, 8), 0);
  CHECK_EQ(veo_write_mem(proc, flag, &zero, 8), 0);
  uint64_t k_poke = SYM(proc, lib, "poke64");
  uint64_t sl = SUBMIT(ctx, k_sleep, 1, 200);
  uint64_t pk = SUBMIT(ctx, k_poke, 2, flag, 77);
  uint64_t got = 0;
  CHECK_EQ(veo_read_mem(proc, &got, flag, 8), 0); /* queued after sleep and poke */
  CHECK_EQ(got, 77);
  WAIT_OK(ctx, sl);
  WAIT_OK(ctx, pk);
  CHECK_EQ(CALL_SYNC(proc, k_peek, 1, flag), 77);

  veo_args_free(a);
  CHECK_EQ(veo_context_close(c2), 0);
  CHECK_EQ(veo_context_close(ctx), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("requests: OK\n");
  return 0;
}
