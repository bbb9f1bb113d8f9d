/*
 * leaks.c - no orphans, no leaks (issue #10 item 7). One scenario per run (argv[1]):
 *   contexts   2000 context open/close cycles: after a warm-up of 200, the helper's RSS
 *              grows by less than 2 MiB, and its virtual size not by more than 256 KiB in
 *              each quarter (a leak grows steadily; a new malloc arena is one step)
 *   procs      400 proc create/destroy cycles: the host's heap in use grows by less than
 *              64 KiB after a warm-up of 100 (the quarantine of destroyed handles is full)
 *   fork       a process a kernel forked dies with its proc: on destroy, when the helper is
 *              SIGKILLed, and when the host is SIGKILLed
 *   tie        no descriptor per live proc; procs tied to a thread (veo_emu_proc_tie_thread)
 *              are destroyed by its exit, busy or idle: helpers gone, descriptors, shared
 *              mappings and heap back where they were after 40 such procs
 *   churn      procs ended the hostile ways, 30 of each: helper SIGKILLed mid-call (async
 *              transfer and VH call in flight), close of a busy context (grace 0, the proc
 *              is killed), destroy with kernels that never return, a helper that exits by
 *              itself; creates whose helper exits before attaching or cannot be executed:
 *              descriptors, shared mappings, threads and heap flat, the host's virtual
 *              size within 64 MiB (an unjoined thread keeps its 8 MiB stack)
 *   forkhost   children forked by the host while its procs live (one busy) end in every way
 *              (exit, destroying or tying the inherited handles, pthread_exit; calls on
 *              them fail, as they would write the parent's rings), also 100
 *              forked while other threads hold the library's locks: quickly, and the
 *              parent's procs and helpers are untouched
 */
#include <dirent.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
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
  /* Samples after 200, 650, 1100, 1550 and 2000 cycles. A leak grows every quarter; a new
   * malloc arena (64 MiB reserved when a context thread starts before the last one has exited
   * and freed its arena, which load makes likely) is a one-time step, and mostly reserve. */
  long rss[5] = {0}, vsz[5] = {0};
  for (int i = 0, k = 0; i <= 2000; i++) {
    if (i >= 200 && (i - 200) % 450 == 0) {
      rss[k] = status_kib(helper, "VmRSS");
      vsz[k] = status_kib(helper, "VmSize");
      CHECK(rss[k] > 0 && vsz[k] > 0);
      k++;
    }
    if (i == 2000) break;
    STEP("open, call, close");
    struct veo_thr_ctxt *c = veo_context_open(p);
    CHECK(c != NULL);
    CHECK_EQ(CALL(c, k_hello, 1, i), (uint64_t)i + 1);
    CHECK_EQ(veo_context_close(c), 0);
  }
  printf("leaks contexts: helper RSS %ld %ld %ld %ld %ld KiB, VSZ %ld %ld %ld %ld %ld KiB "
         "(every 450 cycles)\n",
         rss[0], rss[1], rss[2], rss[3], rss[4], vsz[0], vsz[1], vsz[2], vsz[3], vsz[4]);
  long vgrow = LONG_MAX;
  for (int q = 0; q < 4; q++) vgrow = vsz[q + 1] - vsz[q] < vgrow ? vsz[q + 1] - vsz[q] : vgrow;
  if (rss[4] - rss[0] > 2048)
    CHECK_FAIL_("the helper's RSS grew %+ld KiB over 1800 cycles", rss[4] - rss[0]);
  if (vgrow > 256)
    CHECK_FAIL_("the helper's VSZ grew every 450 cycles, at least %+ld KiB each time", vgrow);
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

/* Entries of a directory (not counting . and ..). */
static int dir_entries(const char *path) {
  DIR *d = opendir(path);
  CHECK(d != NULL);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Descriptors of this process (without the one that lists them). */
static int fd_count(void) { return dir_entries("/proc/self/fd") - 1; }

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
  STEP("warm-up (fills the quarantine of destroyed handles)");
  struct veo_proc_handle *p = PROC(0);
  CHECK_EQ(veo_proc_destroy(p), 0);
  pthread_t t;
  pid_t pids[2];
  for (int i = 0; i < 16; i++) {
    CHECK_EQ(pthread_create(&t, NULL, tied_thread, pids), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
  }
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

static uint64_t vh_slow(void *arg) {
  (void)arg;
  struct timespec ts = {0, 20 * 1000000};
  nanosleep(&ts, NULL);
  return 7;
}

/* Threads of this process. */
static int thread_count(void) { return dir_entries("/proc/self/task"); }

/* One proc ended one hostile way (`how` 0..3); returns with the proc destroyed. */
static void churn_one(int how) {
  struct veo_proc_handle *p = PROC(0);
  uint64_t robust = LOAD(p, "libk_robust.so");
  struct veo_thr_ctxt *main_ctx = veo_context_open(p);
  struct veo_thr_ctxt *extra = OPEN_EXTRA(p);
  static char buf[1 << 20];
  uint64_t ve = 0;
  CHECK_EQ(veo_alloc_mem(p, &ve, sizeof buf), 0);
  uint64_t fid = SUBMIT(extra, SYM(p, robust, "forever"), 0);
  uint64_t vid = veo_call_async_vh(main_ctx, vh_slow, NULL);
  uint64_t rid = veo_async_read_mem(main_ctx, buf, ve, sizeof buf);
  CHECK(vid != VEO_REQUEST_ID_INVALID && rid != VEO_REQUEST_ID_INVALID);
  uint64_t r;
  switch (how) {
  case 0: /* the helper is SIGKILLed with all of that in flight */
    CHECK_EQ(kill(veo_emu_proc_pid(p), SIGKILL), 0);
    CHECK(veo_call_wait_result(extra, fid, &r) != VEO_COMMAND_OK);
    break;
  case 1: /* close of the busy context: the proc is killed after the grace */
    CHECK_EQ(veo_context_close(extra), 0);
    break;
  case 2: /* destroy with a kernel that never returns */
    break;
  case 3: /* the helper exits by itself (a kernel calls exit) */
    (void)veo_call_wait_result(main_ctx, vid, &r);
    (void)veo_call_wait_result(main_ctx, rid, &r);
    (void)SUBMIT(main_ctx, SYM(p, LOAD(p, "libk_fault.so"), "do_exit"), 1, 3);
    CHECK(pid_wait_gone(veo_emu_proc_pid(p), 3000));
    break;
  }
  CHECK_EQ(veo_proc_destroy(p), 0);
}

static void churn(void) {
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  setenv("VEO_EMU_KILL_GRACE_MS", "0", 1);
  STEP("warm-up (fills the quarantine of destroyed handles)");
  for (int i = 0; i < 24; i++) churn_one(i % 4);
  CHECK(veo_proc_create_static(0, "/bin/true") == NULL);
  CHECK(veo_proc_create_static(0, "/proc/self/status") == NULL);
  int fds0 = fd_count(), maps0 = shm_maps(), threads0 = thread_count();
  long vsz0 = status_kib(getpid(), "VmSize");
  size_t used0 = mallinfo2().uordblks;
  static const char *const names[] = {"SIGKILL mid-call", "close busy", "destroy busy",
                                      "helper exits"};
  for (int how = 0; how < 4; how++) {
    STEP(names[how]);
    for (int i = 0; i < 30; i++) churn_one(how);
  }
  STEP("failed creates: a helper that exits at once, one that cannot be executed");
  for (int i = 0; i < 30; i++) {
    CHECK(veo_proc_create_static(0, "/bin/true") == NULL);
    CHECK(veo_proc_create_static(0, "/proc/self/status") == NULL);
  }
  int fds1 = fd_count(), maps1 = shm_maps(), threads1 = thread_count();
  long vsz1 = status_kib(getpid(), "VmSize");
  size_t used1 = mallinfo2().uordblks;
  printf("leaks churn: descriptors %d -> %d, shared mappings %d -> %d, threads %d -> %d, "
         "VmSize %ld -> %ld KiB, heap in use %zu -> %zu bytes over 120 procs\n", fds0, fds1,
         maps0, maps1, threads0, threads1, vsz0, vsz1, used0, used1);
  CHECK_EQ(fds1, fds0);
  CHECK_EQ(maps1, maps0);
  CHECK_EQ(threads1, threads0);
  if (vsz1 - vsz0 > 64 * 1024) CHECK_FAIL_("VmSize grew by %ld KiB", vsz1 - vsz0);
  if (used1 > used0 + 64 * 1024)
    CHECK_FAIL_("the host kept %zu bytes for 120 procs", used1 - used0);
}

static struct veo_proc_handle *fh_procs[2];
static struct veo_thr_ctxt *fh_ctx;
static uint64_t fh_hello, fh_ve;

/* In a forked child: tie the inherited procs to this thread, then exit it. */
static void *fh_tie(void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++)
    if (veo_emu_proc_tie_thread(fh_procs[i]) != 0) _exit(21);
  return NULL;
}

static _Atomic int fh_stop;

/* Keeps taking the library's process-wide locks (the proc list, the host HMEM table) until
 * fh_stop, so that a fork happens while one of them is held. */
static void *fh_hammer(void *arg) {
  int which = (int)(intptr_t)arg;
  while (!atomic_load(&fh_stop)) {
    if (which == 0) {
      if (veo_proc_identifier(fh_procs[1]) < 0) _exit(31);
    } else {
      void *h = NULL;
      if (veo_alloc_hmem(NULL, &h, 32) != 0 || veo_free_hmem(h) != 0) _exit(32);
    }
  }
  return NULL;
}

/* A forked child of the host ending way `how`; returns its exit status. */
static int fork_child(int how) {
  pid_t kid = fork();
  CHECK(kid >= 0);
  if (kid == 0) {
    switch (how) {
    case 0: exit(0); /* the library destructor runs */
    case 1: _exit(0);
    case 2: /* destroys the inherited handles: nothing of the parent's may go */
      for (int i = 0; i < 2; i++)
        if (veo_proc_destroy(fh_procs[i]) != 0) _exit(22);
      exit(0);
    case 3: { /* a thread ties them and exits */
      pthread_t t;
      if (pthread_create(&t, NULL, fh_tie, NULL) != 0 || pthread_join(t, NULL) != 0) _exit(23);
      exit(0);
    }
    case 4: pthread_exit(NULL); /* the main thread exits: its thread exit runs */
    case 6: { /* calls on the inherited handles fail: they would write the parent's rings */
      struct veo_args *a = veo_args_alloc();
      uint64_t r = 0;
      if (!a || veo_call_async(fh_ctx, fh_hello, a) != VEO_REQUEST_ID_INVALID) _exit(26);
      if (veo_call_sync(fh_procs[0], fh_hello, a, &r) == 0) _exit(27);
      if (veo_read_mem(fh_procs[0], &r, fh_ve, 8) == 0 || veo_alloc_mem(fh_procs[0], &r, 8) == 0)
        _exit(28);
      if (veo_context_open(fh_procs[0]) != NULL) _exit(29);
      exit(0);
    }
    default: { /* uses the process-wide state, then exits */
      check_watchdog(10);
      void *h = NULL;
      if (veo_alloc_hmem(NULL, &h, 32) != 0 || veo_free_hmem(h) != 0) _exit(24);
      if (veo_proc_identifier(fh_procs[0]) != 0) _exit(25);
      exit(0);
    }
    }
  }
  int status = 0;
  CHECK_EQ(waitpid(kid, &status, 0), kid);
  return status;
}

static void forkhost(void) {
  STEP("setup");
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  for (int i = 0; i < 2; i++) fh_procs[i] = PROC(0);
  struct veo_proc_handle *p = fh_procs[0];
  uint64_t k_hello = SYM(p, LOAD(p, "libk_basic.so"), "hello");
  struct veo_thr_ctxt *c = veo_context_open(p);
  CHECK(c != NULL && veo_context_open(fh_procs[1]) != NULL);
  struct veo_thr_ctxt *busy = OPEN_EXTRA(fh_procs[1]);
  uint64_t spin = SUBMIT(busy, SYM(fh_procs[1], LOAD(fh_procs[1], "libk_robust.so"), "forever"), 0);
  CHECK_EQ(veo_emu_proc_tie_thread(fh_procs[1]), 0);
  pid_t helpers[2] = {veo_emu_proc_pid(fh_procs[0]), veo_emu_proc_pid(fh_procs[1])};
  fh_ctx = c;
  fh_hello = k_hello;
  CHECK_EQ(veo_alloc_mem(p, &fh_ve, 8), 0);
  static const char *const names[] = {"exit", "_exit", "destroy inherited handles",
                                      "tie inherited handles to an exiting thread",
                                      "pthread_exit of the main thread", "",
                                      "calls on inherited handles fail"};
  for (int how = 0; how < 7; how++) {
    if (how == 5) continue; /* the one below, with threads inside the library */
    STEP(names[how]);
    double t0 = now_ms();
    int status = fork_child(how);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (now_ms() - t0 > 5000) CHECK_FAIL_("the child took %.0f ms", now_ms() - t0);
    CHECK(pid_alive(helpers[0]) && pid_alive(helpers[1]));
    CHECK_EQ(veo_emu_proc_pid(fh_procs[0]), helpers[0]);
    CHECK_EQ(CALL(c, k_hello, 1, how), (uint64_t)how + 1);
    uint64_t r;
    CHECK_EQ(veo_call_peek_result(busy, spin, &r), VEO_COMMAND_UNFINISHED);
  }
  STEP("children forked while other threads are inside the library exit");
  atomic_store(&fh_stop, 0);
  pthread_t hammer[2];
  for (int i = 0; i < 2; i++)
    CHECK_EQ(pthread_create(&hammer[i], NULL, fh_hammer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 100; i++) {
    double t0 = now_ms();
    int status = fork_child(5);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || now_ms() - t0 > 5000)
      CHECK_FAIL_("child %d: status %#x after %.0f ms", i, status, now_ms() - t0);
  }
  atomic_store(&fh_stop, 1);
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(hammer[i], NULL), 0);
  CHECK_EQ(CALL(c, k_hello, 1, 1), 2);

  STEP("destroy");
  for (int i = 0; i < 2; i++) CHECK_EQ(veo_proc_destroy(fh_procs[i]), 0);
  CHECK(pid_wait_gone(helpers[0], 3000) && pid_wait_gone(helpers[1], 3000));
}

static const struct h_scenario scenarios[] = {{"contexts", contexts}, {"procs", procs},
                                              {"fork", fork_children}, {"tie", tie},
                                              {"churn", churn}, {"forkhost", forkhost}};

int main(int argc, char **argv) {
  check_watchdog(60);
  return RUN_SCENARIOS("leaks", argc, argv, scenarios);
}
