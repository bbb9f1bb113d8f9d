/*
 * leaks.c - no orphans, no leaks (issue #10 item 7). One scenario per run (argv[1]):
 *   contexts   2000 context open/close cycles: the helper's RSS and virtual size grow by
 *              less than 2 MiB after a warm-up of 200 cycles
 *   procs      400 proc create/destroy cycles: the host's heap in use grows by less than
 *              64 KiB after a warm-up of 100 (the quarantine of destroyed handles is full)
 *   fork       a process a kernel forked dies with its proc: on destroy, when the helper is
 *              SIGKILLed, and when the host is SIGKILLed
 *   tie        no descriptor per live proc; procs tied to a thread (veo_emu_proc_tie_thread)
 *              are destroyed by its exit, busy or idle: helpers gone, descriptors, shared
 *              mappings and heap back where they were after 40 such procs
 */
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
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

/* Entries of /proc/self/fd. */
static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* Lines of /proc/self/maps that map the emulator's shared file. */
static int shm_maps(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f != NULL);
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f)) n += strstr(line, "veo-emu") != NULL;
  fclose(f);
  return n;
}

/* A thread that creates two procs (one busy in a kernel that never returns), ties them to
 * itself and exits without destroying them; reports their helpers' pids. */
static void *tied_thread(void *arg) {
  pid_t *pids = arg;
  struct veo_proc_handle *idle = PROC(0), *busy = PROC(0);
  struct veo_thr_ctxt *c = veo_context_open(busy);
  CHECK(c != NULL && veo_context_open(idle) != NULL);
  (void)SUBMIT(c, SYM(busy, LOAD(busy, "libk_robust.so"), "forever"), 0);
  CHECK_EQ(veo_emu_proc_tie_thread(idle), 0);
  CHECK_EQ(veo_emu_proc_tie_thread(busy), 0);
  CHECK_EQ(veo_emu_proc_tie_thread(busy), 0); /* twice is fine */
  pids[0] = veo_emu_proc_pid(idle);
  pids[1] = veo_emu_proc_pid(busy);
  return NULL;
}

/* Ties `arg` to itself, then exits. */
static void *tie_only(void *arg) {
  CHECK_EQ(veo_emu_proc_tie_thread(arg), 0);
  return NULL;
}

static void tie(void) {
  STEP("warm-up");
  struct veo_proc_handle *p = PROC(0);
  CHECK_EQ(veo_proc_destroy(p), 0);
  pthread_t t;
  pid_t pids[2];
  CHECK_EQ(pthread_create(&t, NULL, tied_thread, pids), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  int fds0 = fd_count(), maps0 = shm_maps();
  size_t used0 = mallinfo2().uordblks;

  STEP("a live proc holds no descriptor");
  p = PROC(0);
  CHECK_EQ(fd_count(), fds0);
  CHECK_EQ(shm_maps(), maps0 + 1);
  STEP("nor does one whose helper was SIGKILLed");
  pid_t pid = veo_emu_proc_pid(p);
  CHECK_EQ(kill(pid, SIGKILL), 0);
  CHECK(pid_wait_gone(pid, 3000));
  CHECK_EQ(fd_count(), fds0);
  CHECK_EQ(veo_proc_destroy(p), 0);
  CHECK_EQ(shm_maps(), maps0);

  STEP("bad handles");
  CHECK_EQ(veo_emu_proc_tie_thread(NULL), -1);
  CHECK_EQ(veo_emu_proc_tie_thread(p), -1); /* destroyed */

  STEP("20 threads exit with two tied procs each");
  pid_t all[40];
  for (int i = 0; i < 20; i++) {
    CHECK_EQ(pthread_create(&t, NULL, tied_thread, &all[2 * i]), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
  }
  for (int i = 0; i < 40; i++) CHECK(pid_wait_gone(all[i], 3000));
  int fds1 = fd_count(), maps1 = shm_maps();
  size_t used1 = mallinfo2().uordblks;
  printf("leaks tie: descriptors %d -> %d, shared mappings %d -> %d, heap in use %zu -> %zu "
         "bytes over 40 procs of exited threads\n", fds0, fds1, maps0, maps1, used0, used1);
  CHECK_EQ(fds1, fds0);
  CHECK_EQ(maps1, maps0);
  if (used1 > used0 + 64 * 1024)
    CHECK_FAIL_("the host kept %zu bytes for 40 procs of exited threads", used1 - used0);

  STEP("a proc destroyed before its thread exits, and one tied again by another thread");
  p = PROC(0);
  struct veo_proc_handle *q = PROC(0);
  CHECK_EQ(pthread_create(&t, NULL, tie_only, p), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(veo_emu_proc_pid(p) == -1); /* destroyed by the thread's exit */
  CHECK_EQ(pthread_create(&t, NULL, tie_only, q), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(veo_emu_proc_pid(q) == -1);
  q = PROC(0);
  CHECK_EQ(veo_emu_proc_tie_thread(q), 0); /* the main thread's exit runs no destructors */
  struct veo_thr_ctxt *c = veo_context_open(q);
  CHECK(c != NULL);
  uint64_t k_hello = SYM(q, LOAD(q, "libk_basic.so"), "hello");
  CHECK_EQ(CALL(c, k_hello, 1, 41), 42);
  CHECK_EQ(veo_proc_destroy(q), 0);
  CHECK_EQ(fd_count(), fds0);
  CHECK_EQ(shm_maps(), maps0);
}

static const struct h_scenario scenarios[] = {
    {"contexts", contexts}, {"procs", procs}, {"fork", fork_children}, {"tie", tie}};

int main(int argc, char **argv) {
  check_watchdog(60);
  return RUN_SCENARIOS("leaks", argc, argv, scenarios);
}
