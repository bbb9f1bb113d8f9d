/*
 * faults.c - a dying "VE" (spec §5.2, §5.4). One scenario per run (argv[1]):
 *   segv fpe abort ill bus   the kernel faults on the main context while requests are
 *                            pending on it and on an extra context
 *   segv-extra               the kernel faults on the extra context
 *   segv-sync                the fault comes through veo_call_sync
 *   kill                     the helper is SIGKILLed while kernels run
 *   kill-idle                the helper is SIGKILLed while nothing runs
 *   exit                     a kernel calls exit(3)
 *   busy                     the main context faults while four threads keep four other
 *                            contexts busy
 * Expected: the faulting request EXCEPTION with result = signal number; every other
 * pending request of the proc ERROR (quickly, not after the sleeps end); contexts EXIT;
 * later submissions INVALID; sync calls fail (veo_free_mem still 0); destroy 0; the helper
 * is gone; another proc is unaffected; a new proc works; this program survives.
 *
 * A faulting kernel is queued behind a gate kernel (it waits for a file the program creates
 * once everything is submitted), so the helper cannot die before the requests meant to be
 * queued behind the fault are submitted: on a loaded machine it otherwise could, and the
 * submission rightly returned VEO_REQUEST_ID_INVALID.
 * (A double veo_free_mem no longer kills the helper: see frees.c.)
 */
#include <pthread.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *mctx, *xctx;
static uint64_t lib, k_sleep, k_hello, k_gate;
static char gate_path[4096];
static pid_t helper;
static struct veo_proc_handle *bystander; /* a second proc that must not notice */

static uint64_t vh_one(void *arg) {
  (void)arg;
  return 1;
}

static void setup(void) {
  STEP("setup");
  bystander = PROC(1);
  proc = PROC(0);
  helper = veo_emu_proc_pid(proc);
  CHECK(helper > 0);
  lib = LOAD(proc, "libk_fault.so");
  k_sleep = SYM(proc, lib, "fsleep_ms");
  k_hello = SYM(proc, lib, "fhello");
  k_gate = SYM(proc, LOAD(proc, "libk_robust.so"), "gate");
  snprintf(gate_path, sizeof gate_path, "%s/faults-gate-%d", kpath(""), (int)getpid());
  unlink(gate_path);
  mctx = veo_context_open(proc);
  CHECK(mctx != NULL);
  xctx = OPEN_EXTRA(proc);
  CHECK_EQ(CALL(mctx, k_hello, 1, 1), 2);
  CHECK_EQ(CALL(xctx, k_hello, 1, 2), 3);
}

/* Everything that must hold once the proc is dead. */
static void expect_dead(void) {
  STEP("contexts EXIT");
  CHECK_EQ(veo_get_context_state(mctx), VEO_STATE_EXIT);
  CHECK_EQ(veo_get_context_state(xctx), VEO_STATE_EXIT);
  STEP("submissions INVALID");
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 1);
  uint64_t buf[4] = {0};
  struct veo_thr_ctxt *cs[2] = {mctx, xctx};
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(veo_call_async(cs[i], k_hello, a), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_call_async_by_name(cs[i], lib, "fhello", a), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_async_read_mem(cs[i], buf, 0x1000, 8), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_async_write_mem(cs[i], 0x1000, buf, 8), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_alloc_mem_async(cs[i], 64), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_free_mem_async(cs[i], 0x1000), VEO_REQUEST_ID_INVALID);
    CHECK_EQ(veo_call_async_vh(cs[i], vh_one, NULL), VEO_REQUEST_ID_INVALID);
    uint64_t r = 0x77;
    CHECK_EQ(veo_call_wait_result(cs[i], 999999, &r), VEO_COMMAND_ERROR);
    CHECK_EQ(veo_call_peek_result(cs[i], 999999, &r), VEO_COMMAND_ERROR);
    veo_context_sync(cs[i]); /* returns at once on a dead context */
  }
  STEP("no new contexts");
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  CHECK(veo_context_open(proc) == NULL);
  STEP("sync calls fail");
  uint64_t r = 0;
  CHECK_EQ(veo_call_sync(proc, k_hello, a, &r), -1);
  uint64_t addr = 1;
  CHECK_EQ(veo_alloc_mem(proc, &addr, 64), -1);
  CHECK_EQ(veo_read_mem(proc, buf, 0x1000, 8), -1);
  CHECK_EQ(veo_write_mem(proc, 0x1000, buf, 8), -1);
  CHECK_EQ(veo_load_library(proc, kpath("libk_basic.so")), 0);
  CHECK_EQ(veo_get_sym(proc, lib, "do_abort"), 0);
  CHECK_EQ(veo_free_mem(proc, 0x1000), 0);
  CHECK_EQ(veo_unload_library(proc, lib), -1);
  void *hm = NULL;
  CHECK_EQ(veo_alloc_hmem(proc, &hm, 64), -1);
  veo_args_free(a);
  STEP("another proc is unaffected");
  CHECK_EQ(CALL_SYNC(bystander, SYM(bystander, LOAD(bystander, "libk_basic.so"), "hello"), 1, 9),
           10);
  CHECK_EQ(veo_proc_destroy(bystander), 0);
  STEP("the helper is gone");
  CHECK(pid_wait_gone(helper, 2000));
  STEP("close and destroy");
  CHECK_EQ(veo_context_close(xctx), 0);
  CHECK_EQ(veo_context_close(mctx), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  STEP("a new proc works");
  struct veo_proc_handle *p2 = PROC(0);
  uint64_t l2 = LOAD(p2, "libk_basic.so");
  CHECK_EQ(CALL_SYNC(p2, SYM(p2, l2, "hello"), 1, 41), 42);
  CHECK_EQ(veo_proc_destroy(p2), 0);
}

/* Submits the gate kernel on ctx; open_gate() lets it (and what is queued behind it) run. */
static uint64_t submit_gate(struct veo_thr_ctxt *ctx) {
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, gate_path, strlen(gate_path) + 1), 0);
  uint64_t id = veo_call_async(ctx, k_gate, a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  veo_args_free(a);
  return id;
}

static void open_gate(void) {
  FILE *f = fopen(gate_path, "w");
  CHECK(f != NULL);
  fclose(f);
}

/* A fault in `kernel` (one i32 argument) on fctx; pending work on both contexts. */
static void fault(const char *kernel, int signum, int on_extra, int via_sync) {
  setup();
  struct veo_thr_ctxt *fctx = on_extra ? xctx : mctx, *other = on_extra ? mctx : xctx;
  uint64_t k = SYM(proc, lib, kernel);
  STEP("pending work on the other context");
  uint64_t o1 = SUBMIT(other, k_sleep, 1, 5000); /* running when the fault hits */
  uint64_t o2 = SUBMIT(other, k_hello, 1, 5);    /* queued behind it */
  sleep_ms(50);
  double t0 = now_ms();
  if (via_sync) {
    STEP("veo_call_sync of the faulting kernel");
    struct veo_args *a = veo_args_alloc();
    veo_args_set_i32(a, 0, 0);
    uint64_t r = 0;
    CHECK_EQ(veo_call_sync(proc, k, a, &r), -1);
    CHECK_EQ(r, signum);
    veo_args_free(a);
  } else {
    STEP("submit the faulting kernel behind a gate");
    uint64_t g = submit_gate(fctx);
    uint64_t f = SUBMIT(fctx, k, 1, 0);
    uint64_t q = SUBMIT(fctx, k_hello, 1, 6);
    open_gate();
    if (fctx == mctx) {
      STEP("a sync call queued behind the fault on the main context");
      uint64_t x = 1;
      CHECK_EQ(veo_alloc_mem(proc, &x, 64), -1);
    }
    STEP("wait for the faulting request");
    CHECK_EQ(WAIT_OK(fctx, g), 1);
    CHECK_EQ(WAIT_STATUS(fctx, f, VEO_COMMAND_EXCEPTION), signum);
    STEP("the request queued behind it");
    CHECK_EQ(WAIT_STATUS(fctx, q, VEO_COMMAND_ERROR), 0);
  }
  STEP("the other context's requests");
  WAIT_STATUS(other, o1, VEO_COMMAND_ERROR);
  WAIT_STATUS(other, o2, VEO_COMMAND_ERROR);
  double took = now_ms() - t0;
  if (took > 2500) CHECK_FAIL_("the pending requests took %.0f ms to fail", took);
  expect_dead();
}

/* veo_call_sync of a long kernel; returns its return code. */
static void *sync_sleeper(void *arg) {
  (void)arg;
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 10000);
  uint64_t r = 0;
  int rc = veo_call_sync(proc, k_sleep, a, &r);
  veo_args_free(a);
  return (void *)(intptr_t)rc;
}

static void killed(int idle) {
  setup();
  uint64_t m1 = 0, m2 = 0, x1 = 0, x2 = 0;
  if (!idle) {
    STEP("kernels running");
    m1 = SUBMIT(mctx, k_sleep, 1, 10000);
    m2 = SUBMIT(mctx, k_hello, 1, 1);
    x1 = SUBMIT(xctx, k_sleep, 1, 10000);
    x2 = SUBMIT(xctx, k_hello, 1, 1);
  }
  pthread_t th;
  if (!idle) CHECK_EQ(pthread_create(&th, NULL, sync_sleeper, NULL), 0);
  sleep_ms(100);
  STEP("SIGKILL the helper");
  CHECK_EQ(kill(helper, SIGKILL), 0);
  double t0 = now_ms();
  if (!idle) {
    STEP("a thread blocked in veo_call_sync returns -1");
    void *rc;
    pthread_join(th, &rc);
    CHECK_EQ((intptr_t)rc, -1);
    STEP("pending requests fail");
    WAIT_STATUS(mctx, m1, VEO_COMMAND_ERROR);
    WAIT_STATUS(xctx, x1, VEO_COMMAND_ERROR);
    WAIT_STATUS(xctx, x2, VEO_COMMAND_ERROR);
    WAIT_STATUS(mctx, m2, VEO_COMMAND_ERROR);
    double took = now_ms() - t0;
    if (took > 1500) CHECK_FAIL_("the pending requests took %.0f ms to fail", took);
  } else {
    STEP("a submission to a freshly killed proc does not hang");
    sleep_ms(50);
    struct veo_args *a = veo_args_alloc();
    veo_args_set_i32(a, 0, 1);
    uint64_t id = veo_call_async(xctx, k_hello, a);
    if (id != VEO_REQUEST_ID_INVALID) WAIT_STATUS(xctx, id, VEO_COMMAND_ERROR);
    uint64_t r = 0;
    CHECK_EQ(veo_call_sync(proc, k_hello, a, &r), -1);
    CHECK(now_ms() - t0 < 1500);
    veo_args_free(a);
  }
  expect_dead();
}

static void exited(void) {
  setup();
  uint64_t k = SYM(proc, lib, "do_exit");
  uint64_t x1 = SUBMIT(xctx, k_sleep, 1, 10000);
  sleep_ms(50);
  STEP("kernel calls exit(3)");
  double t0 = now_ms();
  uint64_t g = submit_gate(mctx);
  uint64_t e = SUBMIT(mctx, k, 1, 3);
  uint64_t q = SUBMIT(mctx, k_hello, 1, 1);
  open_gate();
  WAIT_OK(mctx, g);
  WAIT_STATUS(mctx, e, VEO_COMMAND_ERROR);
  WAIT_STATUS(mctx, q, VEO_COMMAND_ERROR);
  WAIT_STATUS(xctx, x1, VEO_COMMAND_ERROR);
  double took = now_ms() - t0;
  if (took > 1500) CHECK_FAIL_("the pending requests took %.0f ms to fail", took);
  expect_dead();
}

/* Four threads loop call+wait on their own extra contexts; a fault on the main context
 * must end every one of their waits, and their later submissions fail. */
static struct veo_thr_ctxt *busy_ctx[4];
static void *busy_loop(void *arg) {
  struct veo_thr_ctxt *c = busy_ctx[(uintptr_t)arg];
  struct veo_args *a = veo_args_alloc();
  veo_args_set_i32(a, 0, 2);
  intptr_t oks = 0;
  for (;;) {
    uint64_t id = veo_call_async(c, k_sleep, a);
    if (id == VEO_REQUEST_ID_INVALID) break;
    uint64_t r = 0;
    int st = veo_call_wait_result(c, id, &r);
    if (st == VEO_COMMAND_OK) oks++;
    else if (st != VEO_COMMAND_ERROR) return (void *)-1;
  }
  veo_args_free(a);
  return (void *)oks;
}

static void busy(void) {
  setup();
  STEP("four busy threads on four contexts");
  pthread_t th[4];
  for (int i = 0; i < 4; i++) busy_ctx[i] = i == 0 ? xctx : OPEN_EXTRA(proc);
  for (uintptr_t i = 0; i < 4; i++) CHECK_EQ(pthread_create(&th[i], NULL, busy_loop, (void *)i), 0);
  sleep_ms(200);
  STEP("segv on the main context");
  uint64_t f = SUBMIT(mctx, SYM(proc, lib, "do_segv"), 0);
  CHECK_EQ(WAIT_STATUS(mctx, f, VEO_COMMAND_EXCEPTION), SIGSEGV);
  STEP("every busy thread stops");
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    CHECK((intptr_t)r > 0); /* it did run before the fault */
  }
  for (int i = 1; i < 4; i++) CHECK_EQ(veo_context_close(busy_ctx[i]), 0);
  expect_dead();
}

int main(int argc, char **argv) {
  check_watchdog(30);
  const char *which = argc > 1 ? argv[1] : "segv";
  if (!strcmp(which, "segv")) fault("do_segv", SIGSEGV, 0, 0);
  else if (!strcmp(which, "fpe")) fault("do_fpe", SIGFPE, 0, 0);
  else if (!strcmp(which, "abort")) fault("do_abort", SIGABRT, 0, 0);
  else if (!strcmp(which, "ill")) fault("do_ill", SIGILL, 0, 0);
  else if (!strcmp(which, "bus")) fault("do_bus", SIGBUS, 0, 0);
  else if (!strcmp(which, "segv-extra")) fault("do_segv", SIGSEGV, 1, 0);
  else if (!strcmp(which, "segv-sync")) fault("do_segv", SIGSEGV, 0, 1);
  else if (!strcmp(which, "kill")) killed(0);
  else if (!strcmp(which, "kill-idle")) killed(1);
  else if (!strcmp(which, "exit")) exited();
  else if (!strcmp(which, "busy")) busy();
  else CHECK_FAIL_("unknown scenario %s", which);
  printf("faults %s: OK\n", which);
  return 0;
}
