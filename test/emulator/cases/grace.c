/*
 * grace.c - nothing waits forever (issue #10 item 4). One scenario per run (argv[1]):
 *   destroy      veo_proc_destroy with kernels that never return on two contexts: returns
 *                after the grace period (VEO_EMU_KILL_GRACE_MS, default 1 s), the helper is
 *                killed, a thread blocked in veo_call_wait_result wakes with ERROR
 *   close        veo_context_close with a kernel that never returns: the same for the proc
 *   patient      VEO_EMU_KILL_GRACE_MS=20000: destroy lets a 300 ms kernel finish
 *   impatient    VEO_EMU_KILL_GRACE_MS=0: destroy does not wait for a 5 s one
 *   attach       VEORUN_BIN is a script that never attaches: veo_proc_create fails within
 *                VEO_EMU_START_TIMEOUT_MS and the script and its child are gone
 *   exit         a child process returns from main with busy kernels on two procs: it exits
 *                within the grace period and leaves no helper
 * Time bounds are generous (seconds): they separate "after the grace" from "never" (or the
 * 20-50 s of old), not one fast machine from another.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *mctx, *xctx;
static uint64_t k_forever;

static void setup(void) {
  STEP("setup");
  proc = PROC(0);
  uint64_t lib = LOAD(proc, "libk_robust.so");
  k_forever = SYM(proc, lib, "forever");
  mctx = veo_context_open(proc);
  CHECK(mctx != NULL);
  xctx = OPEN_EXTRA(proc);
}

struct waiter {
  struct veo_thr_ctxt *ctx;
  uint64_t id;
  int status;
};

static void *wait_one(void *arg) {
  struct waiter *w = arg;
  uint64_t r = 0;
  w->status = veo_call_wait_result(w->ctx, w->id, &r);
  return NULL;
}

static void destroy_busy(int close_only) {
  setup();
  pid_t helper = veo_emu_proc_pid(proc);
  STEP("kernels that never return, a thread waiting for one");
  uint64_t m = SUBMIT(mctx, k_forever, 0);
  uint64_t x = SUBMIT(xctx, k_forever, 0);
  struct waiter w = {close_only ? mctx : xctx, close_only ? m : x, -1};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, wait_one, &w), 0);
  sleep_ms(100);
  double t0 = now_ms();
  if (close_only) {
    STEP("veo_context_close of the busy extra context");
    CHECK_EQ(veo_context_close(xctx), 0);
  } else {
    STEP("veo_proc_destroy");
    CHECK_EQ(veo_proc_destroy(proc), 0);
  }
  double took = now_ms() - t0;
  if (took > 6000) CHECK_FAIL_("it took %.0f ms", took);
  STEP("the waiting thread woke up with ERROR");
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK_EQ(w.status, VEO_COMMAND_ERROR);
  STEP("the helper is gone");
  CHECK(pid_wait_gone(helper, 3000));
  if (close_only) {
    STEP("the proc is dead; destroy is quick");
    CHECK_EQ(veo_get_context_state(mctx), VEO_STATE_EXIT);
    uint64_t r = 0;
    CHECK_EQ(veo_call_wait_result(mctx, m, &r), VEO_COMMAND_ERROR);
    CHECK_EQ(veo_proc_destroy(proc), 0);
  }
  (void)x;
}

/* With the grace set, destroy with a running kernel: did it run to its end? (300 ms against
 * a 20 s grace; 5 s against none: far apart, so a loaded host cannot blur them.) */
static void grace_setting(int patient) {
  setup();
  char path[4096];
  snprintf(path, sizeof path, "%s/grace-touch-%d", kpath(""), (int)getpid());
  unlink(path);
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_args_set_i32(a, 0, patient ? 300 : 5000), 0);
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 1, path, strlen(path) + 1), 0);
  uint64_t id = veo_call_async(xctx, SYM(proc, LOAD(proc, "libk_robust.so"), "sleep_touch"), a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  veo_args_free(a);
  sleep_ms(50);
  STEP("destroy");
  CHECK_EQ(veo_proc_destroy(proc), 0);
  int touched = access(path, F_OK) == 0;
  unlink(path);
  if (patient && !touched) CHECK_FAIL_("VEO_EMU_KILL_GRACE_MS=20000: the kernel was cut short");
  if (!patient && touched) CHECK_FAIL_("VEO_EMU_KILL_GRACE_MS=0: destroy waited for the kernel");
}

static void attach(void) {
  STEP("a helper that never attaches");
  char script[4096], pids[4096];
  snprintf(script, sizeof script, "%s/never-attach-%d.sh", kpath(""), (int)getpid());
  snprintf(pids, sizeof pids, "%s/never-attach-%d.pids", kpath(""), (int)getpid());
  FILE *f = fopen(script, "w");
  CHECK(f != NULL);
  fprintf(f, "#!/bin/sh\necho $$ > '%s'\nsleep 60 &\necho $! >> '%s'\nwait\n", pids, pids);
  fclose(f);
  CHECK_EQ(chmod(script, 0700), 0);
  setenv("VEORUN_BIN", script, 1);
  setenv("VEO_EMU_START_TIMEOUT_MS", "500", 1);
  double t0 = now_ms();
  CHECK(veo_proc_create(0) == NULL);
  double took = now_ms() - t0;
  if (took > 5000) CHECK_FAIL_("veo_proc_create took %.0f ms to give up", took);
  STEP("the script and its child are gone");
  f = fopen(pids, "r");
  CHECK(f != NULL);
  int a = 0, b = 0;
  CHECK_EQ(fscanf(f, "%d %d", &a, &b), 2);
  fclose(f);
  CHECK(pid_wait_gone(a, 3000));
  CHECK(pid_wait_gone(b, 3000));
  unlink(script);
  unlink(pids);
  unsetenv("VEORUN_BIN");
  unsetenv("VEO_EMU_START_TIMEOUT_MS");
  STEP("a normal proc still works");
  struct veo_proc_handle *p = PROC(0);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

/* The child host: two procs with kernels that never return on two contexts each; reports
 * the helpers' pids, then returns from main (the library's destructor ends both procs). */
static void busy_host(int fd) {
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  pid_t helpers[2];
  for (int i = 0; i < 2; i++) {
    struct veo_proc_handle *p = veo_proc_create(i);
    if (!p) _exit(3);
    uint64_t l = veo_load_library(p, kpath("libk_robust.so"));
    uint64_t k = veo_get_sym(p, l, "forever");
    struct veo_thr_ctxt *c = veo_context_open(p), *x = veo_context_open(p);
    struct veo_args *a = veo_args_alloc();
    if (!c || !x || !k || veo_call_async(c, k, a) == VEO_REQUEST_ID_INVALID ||
        veo_call_async(x, k, a) == VEO_REQUEST_ID_INVALID)
      _exit(4);
    helpers[i] = veo_emu_proc_pid(p);
  }
  if (write(fd, helpers, sizeof helpers) != sizeof helpers) _exit(5);
  sleep_ms(100);
  exit(0);
}

static void exiting(void) {
  STEP("the child's procs are busy");
  pid_t helpers[2];
  pid_t child = FORK_HOST(busy_host, helpers, sizeof helpers);
  double t0 = now_ms();
  STEP("the child exits within the grace period");
  int status = 0;
  CHECK_EQ(waitpid(child, &status, 0), child);
  double took = now_ms() - t0;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (took > 6000) CHECK_FAIL_("exit took %.0f ms", took);
  STEP("its helpers are gone");
  CHECK(pid_wait_gone(helpers[0], 3000));
  CHECK(pid_wait_gone(helpers[1], 3000));
}

static void destroy_scenario(void) { destroy_busy(0); }
static void close_scenario(void) { destroy_busy(1); }
static void patient(void) { grace_setting(1); }
static void impatient(void) { grace_setting(0); }

static const struct h_scenario scenarios[] = {
    {"destroy", destroy_scenario}, {"close", close_scenario}, {"patient", patient},
    {"impatient", impatient},      {"attach", attach},        {"exit", exiting},
};

int main(int argc, char **argv) {
  check_watchdog(40);
  return RUN_SCENARIOS("grace", argc, argv, scenarios);
}
