/*
 * threads.c - thread safety and volume: many threads submitting and waiting on one
 * context, the main thread racing with a child thread on the same context, 20 000
 * requests in flight on one context (collected in order and in reverse), a whole proc
 * lifecycle inside a pthread, a kernel that starts its own pthread, concurrent proc
 * creation and veo_call_sync, destroy with queued work, and 300 MiB of queued stack data.
 */
#include <pthread.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *ctx;
static uint64_t lib, k_hello, k_add;
enum { THREADS = 8, PER_THREAD = 400 };

static void *submitter(void *arg) {
  uint64_t t = (uintptr_t)arg;
  struct veo_args *a = veo_args_alloc();
  uint64_t ids[16];
  for (int i = 0; i < PER_THREAD; i += 16) {
    /* bursts of 16 submissions, then their waits, interleaved with the other threads */
    for (int k = 0; k < 16; k++) {
      veo_args_set_u64(a, 0, t << 32);
      veo_args_set_u64(a, 1, (uint64_t)(i + k));
      ids[k] = veo_call_async(ctx, k_add, a);
      if (ids[k] == VEO_REQUEST_ID_INVALID) return (void *)1;
    }
    for (int k = 0; k < 16; k++) {
      uint64_t r = 0;
      if (veo_call_wait_result(ctx, ids[k], &r) != VEO_COMMAND_OK) return (void *)2;
      if (r != ((t << 32) | (uint64_t)(i + k))) return (void *)3;
    }
  }
  veo_args_free(a);
  return NULL;
}

static void many_threads(void) {
  STEP("8 threads submitting and waiting on one context");
  pthread_t th[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, submitter, (void *)i), 0);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(th[i], &r);
    if (r) CHECK_FAIL_("thread %d: failure %d (1 invalid id, 2 status, 3 wrong result)", i,
                       (int)(uintptr_t)r);
  }
}

static void *racer(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    struct veo_args *a = veo_args_alloc();
    veo_args_set_i32(a, 0, i);
    uint64_t id = veo_call_async(ctx, k_hello, a);
    veo_args_free(a);
    uint64_t r = 0;
    if (id == VEO_REQUEST_ID_INVALID) return (void *)1;
    if (veo_call_wait_result(ctx, id, &r) != VEO_COMMAND_OK || r != (uint64_t)i + 1)
      return (void *)2;
  }
  return NULL;
}

static void main_race(void) {
  STEP("main thread races a child on the same context");
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, racer, NULL), 0);
  uint64_t ids[1000];
  for (int i = 0; i < 1000; i++) ids[i] = SUBMIT(ctx, k_add, 2, i, 1);
  for (int i = 0; i < 1000; i++) CHECK_EQ(WAIT_OK(ctx, ids[i]), i + 1);
  void *r;
  pthread_join(th, &r);
  CHECK_EQ((uintptr_t)r, 0);
}

static void in_flight(void) {
  enum { N = 20000 };
  STEP("20000 requests in flight on an extra context");
  struct veo_proc_handle *p = PROC(1);
  uint64_t l = LOAD(p, "libk_basic.so");
  uint64_t k_empty = SYM(p, l, "empty");
  struct veo_thr_ctxt *main_ctx = veo_context_open(p);
  CHECK(main_ctx != NULL);
  struct veo_thr_ctxt *c = OPEN_EXTRA(p);
  static uint64_t ids[N];
  struct veo_args *a = veo_args_alloc();
  for (int i = 0; i < N; i++) {
    ids[i] = veo_call_async(c, k_empty, a);
    CHECK(ids[i] != VEO_REQUEST_ID_INVALID);
  }
  for (int i = 0; i < N; i++) CHECK_EQ(WAIT_OK(c, ids[i]), i + 1);
  STEP("20000 more, collected in reverse");
  for (int i = 0; i < N; i++) ids[i] = veo_call_async(c, k_empty, a);
  for (int i = N - 1; i >= 0; i--) CHECK_EQ(WAIT_OK(c, ids[i]), N + i + 1);
  STEP("20000 on the main context, only the last one waited for");
  uint64_t last = 0, first = 0;
  for (int i = 0; i < N; i++) {
    last = veo_call_async(main_ctx, k_empty, a);
    if (i == 0) first = last;
  }
  CHECK_EQ(WAIT_OK(main_ctx, last), 3 * N);
  STEP("uncollected results stay collectable");
  uint64_t r = 0;
  CHECK_EQ(veo_call_peek_result(main_ctx, first, &r), VEO_COMMAND_OK);
  CHECK_EQ(r, 2 * N + 1);
  CHECK_EQ(WAIT_OK(main_ctx, first + 777), 2 * N + 778);
  veo_args_free(a);
  CHECK_EQ(veo_context_close(c), 0);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void *lifecycle(void *arg) {
  (void)arg;
  struct veo_proc_handle *p = veo_proc_create(0);
  if (!p) return (void *)1;
  uint64_t l = veo_load_library(p, kpath("libk_basic.so"));
  if (!l) return (void *)2;
  struct veo_thr_ctxt *c = veo_context_open(p);
  if (!c) return (void *)3;
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i64(a, 0, 42);
  uint64_t id = veo_call_async(c, veo_get_sym(p, l, "spawn_thread"), a);
  uint64_t r = 0;
  if (veo_call_wait_result(c, id, &r) != VEO_COMMAND_OK) return (void *)4;
  if (r != 43) return (void *)5;
  veo_args_free(a);
  if (veo_context_close(c) != 0) return (void *)6;
  if (veo_proc_destroy(p) != 0) return (void *)7;
  return NULL;
}

static void child_lifecycle(void) {
  STEP("a proc's whole life inside a pthread; a kernel starting a pthread");
  for (int i = 0; i < 2; i++) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, lifecycle, NULL), 0);
    void *r;
    pthread_join(th, &r);
    if (r) CHECK_FAIL_("lifecycle thread failed at stage %d", (int)(uintptr_t)r);
  }
}

struct created {
  struct veo_proc_handle *p;
};
static void *create_only(void *arg) {
  struct created *c = arg;
  c->p = veo_proc_create(0);
  return NULL;
}

static void creator_thread_exits(void) {
  STEP("a proc created by a thread that has exited");
  struct created c = {NULL};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, create_only, &c), 0);
  pthread_join(th, NULL);
  CHECK(c.p != NULL);
  sleep_ms(100);
  /* Upstream ties the helper's PDEATHSIG to the creating thread. The emulator promises
   * only that the helper dies with its host process; just require a clean outcome here. */
  uint64_t l = veo_load_library(c.p, kpath("libk_basic.so"));
  if (l) {
    uint64_t r = 0;
    struct veo_args *a = veo_args_alloc();
    veo_args_set_i32(a, 0, 1);
    int rc = veo_call_sync(c.p, veo_get_sym(c.p, l, "hello"), a, &r);
    CHECK(rc == -1 || r == 2);
    veo_args_free(a);
  }
  CHECK_EQ(veo_proc_destroy(c.p), 0);
}

static void *sync_caller(void *arg) {
  uint64_t t = (uintptr_t)arg;
  struct veo_args *a = veo_args_alloc();
  for (uint64_t i = 0; i < 200; i++) {
    veo_args_set_u64(a, 0, t << 40);
    veo_args_set_u64(a, 1, i);
    uint64_t r = 0;
    if (veo_call_sync(proc, k_add, a, &r) != 0) return (void *)1;
    if (r != ((t << 40) | i)) return (void *)2;
  }
  veo_args_free(a);
  return NULL;
}

static void sync_threads(void) {
  STEP("4 threads in veo_call_sync at once, alongside async work on the main context");
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++) CHECK_EQ(pthread_create(&th[i], NULL, sync_caller, (void *)i), 0);
  uint64_t ids[200];
  for (int i = 0; i < 200; i++) ids[i] = SUBMIT(ctx, k_add, 2, i, 7);
  for (int i = 0; i < 200; i++) CHECK_EQ(WAIT_OK(ctx, ids[i]), i + 7);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    if (r) CHECK_FAIL_("sync thread %d failed (%d)", i, (int)(uintptr_t)r);
  }
}

static void backpressure(void) {
  STEP("300 calls with 1 MiB IN stack arguments queued at once");
  struct veo_proc_handle *p = PROC(3);
  uint64_t k_sum = SYM(p, LOAD(p, "libk_args.so"), "stk_sum");
  struct veo_thr_ctxt *c = veo_context_open(p);
  enum { N = 300 };
  size_t n = 1u << 20;
  unsigned char *b = malloc(n);
  CHECK(b != NULL);
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)i;
  static uint64_t ids[N];
  for (int i = 0; i < N; i++) {
    struct veo_args *a = veo_args_alloc();
    b[0] = (unsigned char)i;
    veo_args_set_stack(a, VEO_INTENT_IN, 0, (char *)b, n);
    veo_args_set_i32(a, 1, 1000);
    ids[i] = veo_call_async(c, k_sum, a);
    CHECK(ids[i] != VEO_REQUEST_ID_INVALID);
    veo_args_free(a);
  }
  uint64_t tail = 0;
  for (int k = 1; k < 1000; k++) tail += (uint64_t)(unsigned char)k * (uint64_t)(k + 1);
  for (int i = 0; i < N; i++) CHECK_EQ(WAIT_OK(c, ids[i]), tail + (unsigned char)i);
  free(b);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void destroy_busy(void) {
  STEP("destroy with kernels still queued on two contexts");
  struct veo_proc_handle *p = PROC(2);
  uint64_t l = LOAD(p, "libk_basic.so");
  uint64_t k_sleep = SYM(p, l, "sleep_ms");
  struct veo_thr_ctxt *m = veo_context_open(p);
  struct veo_thr_ctxt *c = OPEN_EXTRA(p);
  pid_t pid = veo_emu_proc_pid(p);
  for (int i = 0; i < 3; i++) {
    SUBMIT(m, k_sleep, 1, 100);
    SUBMIT(c, k_sleep, 1, 100);
  }
  CHECK_EQ(veo_proc_destroy(p), 0);
  CHECK(pid_wait_gone(pid, 2000));
}

struct opener {
  struct veo_proc_handle *p;
  struct veo_thr_ctxt *c;
};
static void *open_one(void *arg) {
  struct opener *o = arg;
  o->c = veo_context_open(o->p);
  return NULL;
}

static void concurrent_opens(void) {
  STEP("4 threads opening extra contexts at once");
  struct veo_proc_handle *p = PROC(0);
  uint64_t hello = SYM(p, LOAD(p, "libk_basic.so"), "hello");
  struct veo_thr_ctxt *m = veo_context_open(p);
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  struct opener o[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    o[i].p = p;
    o[i].c = NULL;
    CHECK_EQ(pthread_create(&th[i], NULL, open_one, &o[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  CHECK_EQ(veo_num_contexts(p), 5);
  for (int i = 0; i < 4; i++) {
    CHECK(o[i].c != NULL && o[i].c != m);
    for (int k = 0; k < i; k++) CHECK(o[i].c != o[k].c);
    CHECK_EQ(CALL(o[i].c, hello, 1, i), i + 1);
  }
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void *create_destroy(void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++) {
    struct veo_proc_handle *p = veo_proc_create(i % 4);
    if (!p) return (void *)1;
    int id = veo_proc_identifier(p);
    if (id < 0) return (void *)2;
    uint64_t addr = 0;
    if (veo_alloc_mem(p, &addr, 64) != 0) return (void *)3;
    void *hm = veo_set_proc_identifier((void *)addr, id);
    if (id < 16 && veo_get_proc_handle_from_hmem(hm) != p) return (void *)4;
    if (veo_proc_destroy(p) != 0) return (void *)5;
  }
  return NULL;
}

static void concurrent_procs(void) {
  STEP("4 threads creating and destroying procs at once");
  pthread_t th[4];
  for (int i = 0; i < 4; i++) CHECK_EQ(pthread_create(&th[i], NULL, create_destroy, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    if (r) CHECK_FAIL_("thread %d failed at stage %d (1 create, 2 identifier, 3 alloc, "
                       "4 identifier owner, 5 destroy)", i, (int)(uintptr_t)r);
  }
}

int main(void) {
  check_watchdog(80);
  proc = PROC(0);
  lib = LOAD(proc, "libk_basic.so");
  k_hello = SYM(proc, lib, "hello");
  k_add = SYM(proc, lib, "add");
  ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  many_threads();
  main_race();
  in_flight();
  child_lifecycle();
  creator_thread_exits();
  concurrent_procs();
  concurrent_opens();
  sync_threads();
  destroy_busy();
  backpressure();
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("threads: OK\n");
  return 0;
}
