/*
 * leaks.c - no orphans, no leaks (issue #10 item 7). One scenario per run (argv[1]):
 *   contexts   2000 context open/close cycles: the helper's RSS and virtual size grow by
 *              less than 2 MiB after a warm-up of 200 cycles
 *   procs      400 proc create/destroy cycles: the host's heap in use grows by less than
 *              64 KiB after a warm-up of 100 (the quarantine of destroyed handles is full)
 *   fork       a process a kernel forked dies with its proc: on destroy, when the helper is
 *              SIGKILLed, and when the host is SIGKILLed
 */
#include <malloc.h>
#include <sys/wait.h>

#include "../helpers.h"

/* VmRSS or VmSize of pid in KiB. */
static long status_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
  fclose(f);
  return v;
}

static void contexts(void) {
  STEP("setup");
  struct veo_proc_handle *p = PROC(0);
  uint64_t k_hello = SYM(p, LOAD(p, "libk_basic.so"), "hello");
  CHECK(veo_context_open(p) != NULL); /* the main context; the cycles open extra ones */
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  pid_t helper = veo_emu_proc_pid(p);
  long rss0 = 0, vsz0 = 0;
  for (int i = 0; i < 2000; i++) {
    if (i == 200) {
      rss0 = status_kib(helper, "VmRSS");
      vsz0 = status_kib(helper, "VmSize");
    }
    STEP("open, call, close");
    struct veo_thr_ctxt *c = veo_context_open(p);
    CHECK(c != NULL);
    CHECK_EQ(CALL(c, k_hello, 1, i), (uint64_t)i + 1);
    CHECK_EQ(veo_context_close(c), 0);
  }
  long rss1 = status_kib(helper, "VmRSS"), vsz1 = status_kib(helper, "VmSize");
  printf("leaks contexts: helper RSS %ld -> %ld KiB, VSZ %ld -> %ld KiB over 1800 cycles\n",
         rss0, rss1, vsz0, vsz1);
  CHECK(rss0 > 0 && vsz0 > 0);
  if (rss1 - rss0 > 2048 || vsz1 - vsz0 > 2048)
    CHECK_FAIL_("the helper grew: RSS %+ld KiB, VSZ %+ld KiB", rss1 - rss0, vsz1 - vsz0);
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void procs(void) {
  size_t used0 = 0;
  for (int i = 0; i < 400; i++) {
    if (i == 100) used0 = mallinfo2().uordblks;
    STEP("create, call, destroy");
    struct veo_proc_handle *p = PROC(0);
    struct veo_thr_ctxt *c = veo_context_open(p);
    CHECK(c != NULL);
    CHECK_EQ(veo_proc_destroy(p), 0);
  }
  size_t used1 = mallinfo2().uordblks;
  printf("leaks procs: host heap in use %zu -> %zu bytes over 300 procs\n", used0, used1);
  if (used1 > used0 + 64 * 1024)
    CHECK_FAIL_("the host kept %zu bytes for 300 destroyed procs", used1 - used0);
}

/* A proc whose kernel forked a sleeper; returns the sleeper's pid. */
static pid_t forked(struct veo_proc_handle *p) {
  uint64_t lib = LOAD(p, "libk_robust.so");
  pid_t kid = (pid_t)CALL_SYNC(p, SYM(p, lib, "fork_sleeper"), 0);
  CHECK(kid > 0);
  CHECK(pid_alive(kid));
  return kid;
}

/* The child host: a proc whose kernel forked; reports {helper, forked child}, waits. */
static void forking_host(int fd) {
  struct veo_proc_handle *q = veo_proc_create(0);
  if (!q) _exit(3);
  uint64_t lib = veo_load_library(q, kpath("libk_robust.so"));
  struct veo_args *a = veo_args_alloc();
  uint64_t r = 0;
  if (!lib || veo_call_sync(q, veo_get_sym(q, lib, "fork_sleeper"), a, &r) != 0) _exit(4);
  pid_t pids[2] = {veo_emu_proc_pid(q), (pid_t)r};
  if (write(fd, pids, sizeof pids) != sizeof pids) _exit(5);
  for (;;) pause();
}

static void fork_children(void) {
  STEP("destroy");
  struct veo_proc_handle *p = PROC(0);
  pid_t kid = forked(p);
  CHECK_EQ(veo_proc_destroy(p), 0);
  CHECK(pid_wait_gone(kid, 3000));

  STEP("the helper is SIGKILLed");
  p = PROC(0);
  kid = forked(p);
  CHECK_EQ(kill(veo_emu_proc_pid(p), SIGKILL), 0);
  CHECK(pid_wait_gone(kid, 3000));
  CHECK_EQ(veo_proc_destroy(p), 0);

  STEP("the host is SIGKILLed");
  pid_t pids[2];
  pid_t host = FORK_HOST(forking_host, pids, sizeof pids);
  CHECK(pid_alive(pids[0]) && pid_alive(pids[1]));
  CHECK_EQ(kill(host, SIGKILL), 0);
  int status;
  CHECK_EQ(waitpid(host, &status, 0), host);
  CHECK(pid_wait_gone(pids[0], 3000));
  CHECK(pid_wait_gone(pids[1], 3000));
}

static const struct h_scenario scenarios[] = {
    {"contexts", contexts}, {"procs", procs}, {"fork", fork_children}};

int main(int argc, char **argv) {
  check_watchdog(60);
  return RUN_SCENARIOS("leaks", argc, argv, scenarios);
}
