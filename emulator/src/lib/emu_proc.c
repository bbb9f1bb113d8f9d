/*
 * emu_proc.c - procs: resolving VE node numbers (VEO_EMU_NODES virtual nodes, _VENODELIST,
 * VE_NODE_NUMBER), starting the helper (fork+exec from a per-proc monitor thread, which
 * then reaps it, so PR_SET_PDEATHSIG follows the proc's lifetime rather than the creating
 * thread's), the global proc list (identifiers), closing contexts and destroying procs
 * within a grace period, and the library destructor that ends every helper still alive at
 * exit. Core layer: calls emu_ctx.c and the transport, never an entry point.
 *
 * Nothing here waits forever: a helper that does not attach within VEO_EMU_START_TIMEOUT_MS
 * is killed, and destroy, close and exit kill a helper whose kernels do not return within
 * VEO_EMU_KILL_GRACE_MS. The helper runs in its own process group, which is killed with it,
 * so processes a kernel forked never outlive their proc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_lib.h"
#include "veo_emu.h"

extern char **environ;

#define EMU_DEFAULT_NODES 4
#define EMU_START_TIMEOUT_MS 5000 /* VEO_EMU_START_TIMEOUT_MS */
#define EMU_KILL_GRACE_MS 1000    /* VEO_EMU_KILL_GRACE_MS */
#define EMU_QUARANTINE 64         /* destroyed handles kept before they are freed */
#define EMU_HELPER_FD 3
#define EMU_SPAWN_STACK (64 * 1024)

static const uint64_t emu_probe_magic = EMU_SHM_MAGIC;

/* The global proc list: index = proc identifier; slots of destroyed procs are reused. */
static pthread_mutex_t emu_procs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct veo_proc_handle **emu_procs;
static int emu_nprocs;

/* In a forked child every inherited proc is dead: its helper and rings are the parent's, and
 * a request submitted from here would corrupt the parent's context. Only the child's private
 * copy of the handles changes; the child is single-threaded here, and the forking thread
 * holds (or the fork module has released) emu_procs_lock. */
static void emu_procs_forked(void) {
  for (int i = 0; i < emu_nprocs; i++) {
    struct veo_proc_handle *p = emu_procs[i];
    if (!p) continue;
    atomic_store(&p->dead, 1);
    for (int c = 0; c < EMU_MAX_CTX; c++)
      if (p->ctx[c]) atomic_store(&p->ctx[c]->state, VEO_STATE_EXIT);
  }
}

__attribute__((constructor)) static void emu_procs_init(void) {
  emu_fork_guard(&emu_procs_lock);
  int rc = pthread_atfork(NULL, NULL, emu_procs_forked);
  if (rc != 0) emu_log_error("veo_proc_create", "pthread_atfork: %s", strerror(rc));
}

/* ---- node numbers ---- */

/* std::stoi-like: leading blanks, sign, digits; trailing junk ignored; no digits = error. */
static int emu_int_parse(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || errno != 0 || v < INT_MIN || v > INT_MAX) return -1;
  *out = (int)v;
  return 0;
}

static int emu_node_count(void) {
  const char *s = getenv("VEO_EMU_NODES");
  int n;
  if (s && *s && emu_int_parse(s, &n) == 0 && n >= 0) return n;
  return EMU_DEFAULT_NODES;
}

/* Returns 0 with the physical node, -1 for an invalid/unlisted node, -2 for a parse error
 * (both logged). */
int emu_node_resolve(int venode, int *physical) {
  if (venode < -1) {
    emu_log_error("veo_proc_create", "venode(%d) is an invalid value", venode);
    return -1;
  }
  const char *list = getenv("_VENODELIST");
  const char *envnode = getenv("VE_NODE_NUMBER");
  int fromenv = -1;
  if (venode == -1 && envnode && emu_int_parse(envnode, &fromenv) != 0) {
    emu_log_error("veo_proc_create", "VE_NODE_NUMBER is not a number: %s", envnode);
    return -2;
  }
  if (!list || !*list) {
    *physical = venode >= 0 ? venode : (envnode ? fromenv : 0);
    return 0;
  }
  int nodes[1024], n = 0;
  const char *p = list;
  while (*p && n < 1024) {
    while (*p == ' ') p++;
    if (!*p) break;
    if (emu_int_parse(p, &nodes[n]) != 0) {
      emu_log_error("veo_proc_create", "_VENODELIST is malformed: %s", list);
      return -2;
    }
    n++;
    while (*p && *p != ' ') p++;
  }
  if (venode >= 0) {
    if (venode >= n) {
      emu_log_error("veo_proc_create", "venode(%d) is not in _VENODELIST", venode);
      return -1;
    }
    *physical = nodes[venode];
    return 0;
  }
  if (!envnode) {
    if (n == 0) return -1;
    *physical = nodes[0];
    return 0;
  }
  for (int i = 0; i < n; i++) {
    if (nodes[i] == fromenv) {
      *physical = fromenv;
      return 0;
    }
  }
  emu_log_error("veo_proc_create", "VE_NODE_NUMBER(%d) is not in _VENODELIST", fromenv);
  return -1;
}

EMU_EXPORT int veo_get_ve_arch(int venode) {
  int node;
  int rc = emu_node_resolve(venode, &node);
  if (rc == -1) return 0;
  if (rc != 0) return -1;
  if (node < 0 || node >= emu_node_count()) return -1;
  return 3;
}

/* ---- the helper process ---- */

static char *emu_veorun_default_path(void) {
  Dl_info info;
  if (!dladdr((void *)emu_veorun_default_path, &info) || !info.dli_fname) return NULL;
  char *lib = realpath(info.dli_fname, NULL);
  if (!lib) return NULL;
  char *slash = strrchr(lib, '/');
  if (slash) *slash = 0;
  char *bin = NULL;
  if (asprintf(&bin, "%s/../libexec/veorun", lib) < 0) bin = NULL;
  free(lib);
  return bin;
}

static int emu_env_push(char ***env, int *n, int *cap, char *entry) {
  if (!entry) return -1;
  if (*n + 2 > *cap) {
    int ncap = *cap ? *cap * 2 : 64;
    char **ne = realloc(*env, (size_t)ncap * sizeof *ne);
    if (!ne) return -1;
    *env = ne;
    *cap = ncap;
  }
  (*env)[(*n)++] = entry;
  (*env)[*n] = NULL;
  return 0;
}

static int emu_env_is_overridden(const char *entry) {
  static const char *const names[] = {EMU_ENV_SHM_FD, EMU_ENV_HOST_PID, "VE_NODE_NUMBER",
                                      "OMP_NUM_THREADS", "LD_LIBRARY_PATH", NULL};
  for (int i = 0; names[i]; i++) {
    size_t len = strlen(names[i]);
    if (!strncmp(entry, names[i], len) && entry[len] == '=') return 1;
  }
  return 0;
}

/* The helper's environment: ours plus the VE_* mappings. */
static char **emu_env_build(int node) {
  char **env = NULL;
  int n = 0, cap = 0, bad = 0;
  for (char **e = environ; e && *e; e++)
    if (!emu_env_is_overridden(*e)) bad |= emu_env_push(&env, &n, &cap, strdup(*e));
  char *s;
  bad |= emu_env_push(&env, &n, &cap,
                      asprintf(&s, "%s=%d", EMU_ENV_SHM_FD, EMU_HELPER_FD) < 0 ? NULL : s);
  bad |= emu_env_push(&env, &n, &cap,
                      asprintf(&s, "%s=%d", EMU_ENV_HOST_PID, (int)getpid()) < 0 ? NULL : s);
  bad |= emu_env_push(&env, &n, &cap,
                      asprintf(&s, "VE_NODE_NUMBER=%d", node) < 0 ? NULL : s);
  const char *omp = getenv("VE_OMP_NUM_THREADS");
  if (!omp) omp = getenv("OMP_NUM_THREADS");
  if (omp) bad |= emu_env_push(&env, &n, &cap,
                               asprintf(&s, "OMP_NUM_THREADS=%s", omp) < 0 ? NULL : s);
  const char *ve_ld = getenv("VE_LD_LIBRARY_PATH");
  const char *ld = getenv("LD_LIBRARY_PATH");
  if (ve_ld || ld) {
    int r = asprintf(&s, "LD_LIBRARY_PATH=%s%s%s", ve_ld ? ve_ld : "",
                     ve_ld && ld ? ":" : "", ld ? ld : "");
    bad |= emu_env_push(&env, &n, &cap, r < 0 ? NULL : s);
  }
  if (bad) {
    for (int i = 0; i < n; i++) free(env[i]);
    free(env);
    return NULL;
  }
  return env;
}

static void emu_env_free(char **env) {
  if (!env) return;
  for (char **e = env; *e; e++) free(*e);
  free(env);
}

struct emu_spawn {
  const char *bin;
  char **envp;
  int fd;
  pid_t host;
  volatile int exec_errno;
};

/* Runs in the vfork-style child (shared memory, own fd table and signal dispositions):
 * only async-signal-safe calls until execve. */
static int emu_child_run(void *arg) {
  struct emu_spawn *sp = arg;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < _NSIG; sig++) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN &&
        cur.sa_handler != SIG_DFL)
      (void)sigaction(sig, &dfl, NULL);
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != sp->host) {
    sp->exec_errno = ESRCH;
    _exit(127);
  }
  if (sp->fd == EMU_HELPER_FD ? fcntl(sp->fd, F_SETFD, 0) < 0
                              : dup2(sp->fd, EMU_HELPER_FD) < 0) {
    sp->exec_errno = errno;
    _exit(127);
  }
  /* Its own process group: killing the group ends whatever a kernel forked, too. */
  if (setpgid(0, 0) != 0) {
    sp->exec_errno = errno;
    _exit(127);
  }
  /* The helper inherits the host's stdin/stdout/stderr even where the host marked them
   * close-on-exec (Node does). Closed ones stay closed (the helper opens /dev/null). */
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fd == sp->fd ? -1 : fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) (void)fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  char *argv[] = {(char *)sp->bin, NULL};
  execve(sp->bin, argv, sp->envp);
  sp->exec_errno = errno;
  _exit(127);
}

static pid_t emu_helper_spawn(struct veo_proc_handle *proc, int *err) {
  struct emu_spawn sp = {proc->bin, proc->envp, proc->shm_fd, getpid(), 0};
  char *stack = mmap(NULL, EMU_SPAWN_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = errno;
    return -1;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(emu_child_run, stack + EMU_SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
                    &sp);
  int cerr = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munmap(stack, EMU_SPAWN_STACK);
  if (pid < 0) {
    *err = cerr;
    return -1;
  }
  if (sp.exec_errno) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *err = sp.exec_errno;
    return -1;
  }
  return pid;
}

static void emu_proc_mark_dead(struct veo_proc_handle *proc) {
  atomic_store(&proc->dead, 1);
  atomic_store(&proc->hdr->helper_state, EMU_HELPER_DEAD);
  emu_futex_wake(&proc->hdr->helper_state, INT_MAX);
  for (int i = 0; i < EMU_MAX_CTX; i++) {
    struct veo_thr_ctxt *ctx = proc->ctx[i];
    if (!ctx) continue;
    atomic_store(&ctx->state, VEO_STATE_EXIT);
    emu_ctx_wake_all(ctx);
  }
}

/* The monitor thread: starts the helper (so PDEATHSIG is tied to this thread, which lives
 * exactly as long as the proc), then reaps it and declares the proc dead. */
static void *emu_monitor_run(void *arg) {
  struct veo_proc_handle *proc = arg;
  int err = 0;
  pid_t pid = emu_helper_spawn(proc, &err);
  pthread_mutex_lock(&proc->spawn_lock);
  proc->pid = pid;
  proc->spawn_errno = err;
  proc->spawn_done = 1;
  pthread_cond_broadcast(&proc->spawn_cond);
  pthread_mutex_unlock(&proc->spawn_lock);
  if (pid < 0) {
    emu_proc_mark_dead(proc);
    return NULL;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) break;
  }
  proc->exit_status = status;
  emu_proc_mark_dead(proc);
  /* Processes a kernel forked are still in the helper's group. */
  if (kill(-pid, SIGKILL) != 0 && errno != ESRCH)
    emu_log_error("veo_proc_destroy", "kill: %s", strerror(errno));
  return NULL;
}

void emu_proc_kill(struct veo_proc_handle *proc) {
  if (proc->pid <= 0) return;
  if (kill(-proc->pid, SIGKILL) != 0 && kill(proc->pid, SIGKILL) != 0 && errno != ESRCH)
    emu_log_error("veo_proc_destroy", "kill: %s", strerror(errno));
}

uint64_t emu_grace_ns_get(void) {
  return (uint64_t)emu_env_ms("VEO_EMU_KILL_GRACE_MS", EMU_KILL_GRACE_MS) * 1000000ULL;
}

static int emu_proc_register(struct veo_proc_handle *proc) {
  pthread_mutex_lock(&emu_procs_lock);
  int ident = -1;
  for (int i = 0; i < emu_nprocs; i++) {
    if (!emu_procs[i]) {
      ident = i;
      break;
    }
  }
  if (ident < 0) {
    struct veo_proc_handle **np = realloc(emu_procs, (size_t)(emu_nprocs + 1) * sizeof *np);
    if (np) {
      emu_procs = np;
      ident = emu_nprocs++;
    }
  }
  if (ident >= 0) emu_procs[ident] = proc;
  pthread_mutex_unlock(&emu_procs_lock);
  return ident;
}

static void emu_proc_unregister(struct veo_proc_handle *proc) {
  pthread_mutex_lock(&emu_procs_lock);
  for (int i = 0; i < emu_nprocs; i++)
    if (emu_procs[i] == proc) emu_procs[i] = NULL;
  pthread_mutex_unlock(&emu_procs_lock);
}

struct veo_proc_handle *emu_proc_from_ident(int ident) {
  pthread_mutex_lock(&emu_procs_lock);
  struct veo_proc_handle *p = ident >= 0 && ident < emu_nprocs ? emu_procs[ident] : NULL;
  pthread_mutex_unlock(&emu_procs_lock);
  return p;
}

int emu_proc_alive(struct veo_proc_handle *proc) {
  return proc && !atomic_load(&proc->destroyed) && !atomic_load(&proc->dead);
}

/* ---- handle memory ---- */

/* Destroyed procs and closed contexts are freed only after EMU_QUARANTINE later ones, so a
 * stale handle used shortly after fails softly, while memory stays bounded. */
static struct {
  void *ptr;
  int is_proc;
} emu_quarantine[EMU_QUARANTINE];
static unsigned emu_quarantine_next;

static void emu_proc_free(struct veo_proc_handle *proc) {
  pthread_mutex_destroy(&proc->lock);
  pthread_mutex_destroy(&proc->spawn_lock);
  pthread_cond_destroy(&proc->spawn_cond);
  free(proc);
}

/* Hands a retired context or destroyed proc to the quarantine (emu_procs_lock held). */
static void emu_quarantine_push(void *ptr, int is_proc) {
  unsigned i = emu_quarantine_next++ % EMU_QUARANTINE;
  if (emu_quarantine[i].ptr) {
    if (emu_quarantine[i].is_proc) emu_proc_free(emu_quarantine[i].ptr);
    else emu_ctx_free(emu_quarantine[i].ptr);
  }
  emu_quarantine[i].ptr = ptr;
  emu_quarantine[i].is_proc = is_proc;
}

/* Frees everything but the handle itself; retired contexts go to the quarantine. */
static void emu_proc_release(struct veo_proc_handle *proc, uint64_t deadline) {
  for (int i = 0; i < EMU_MAX_CTX; i++)
    if (proc->ctx[i]) emu_ctx_retire(proc->ctx[i], 0, deadline);
  proc->nopen = 0;
  /* A thread still inside a call (stuck in a VH function, or closing from its own request
   * block) may touch the control blocks: then the mapping stays (a rare leak beats a
   * crash). */
  int inside = 0;
  for (int i = 0; i < EMU_MAX_CTX; i++) {
    struct veo_thr_ctxt *c = proc->ctx[i];
    if (c) inside |= atomic_load(&c->refs) > 0 || atomic_load(&c->vh_running);
  }
  if (inside) emu_log_debug("veo_proc_destroy", "a thread is still inside; shm kept mapped");
  else if (proc->shm && proc->shm != MAP_FAILED && munmap(proc->shm, EMU_SHM_SIZE) != 0)
    emu_log_debug("veo_proc_destroy", "munmap: %s", strerror(errno));
  pthread_mutex_lock(&emu_procs_lock);
  for (int i = 0; i < EMU_MAX_CTX; i++) {
    if (proc->ctx[i]) emu_quarantine_push(proc->ctx[i], 0);
    proc->ctx[i] = NULL;
  }
  pthread_mutex_unlock(&emu_procs_lock);
  proc->shm = NULL;
  proc->hdr = NULL;
  if (proc->shm_fd >= 0 && close(proc->shm_fd) != 0)
    emu_log_debug("veo_proc_destroy", "close: %s", strerror(errno));
  proc->shm_fd = -1;
  for (struct emu_sym *s = proc->syms, *next; s; s = next) {
    next = s->next;
    free(s);
  }
  proc->syms = NULL;
  emu_env_free(proc->envp);
  proc->envp = NULL;
  free(proc->bin);
  proc->bin = NULL;
}

static struct veo_proc_handle *emu_proc_start(int venode, const char *bin) {
  int node;
  if (emu_node_resolve(venode, &node) != 0) goto fail_early;
  int nodes = emu_node_count();
  if (node < 0 || node >= nodes) {
    emu_log_error("veo_proc_create", "failed to create proc: VE node %d does not exist "
                  "(the emulator has VEO_EMU_NODES=%d nodes)", node, nodes);
    goto fail_early;
  }
  struct stat st;
  if (stat(bin, &st) != 0) {
    perror("stat");
    emu_log_error("veo_proc_create", "failed to create proc: cannot find helper %s", bin);
    goto fail_early;
  }
  struct veo_proc_handle *proc = calloc(1, sizeof *proc);
  if (!proc) goto fail_early;
  proc->node = node;
  proc->ident = -1;
  proc->pid = -1;
  proc->shm_fd = -1;
  proc->host_pid = getpid();
  pthread_mutex_init(&proc->lock, NULL);
  pthread_mutex_init(&proc->spawn_lock, NULL);
  pthread_cond_init(&proc->spawn_cond, NULL);

  /* Only this process and its helper (which inherits the fd) ever map it; mode 0600 keeps
   * /proc/<pid>/fd openers of other users out too. */
  proc->shm_fd = memfd_create("veo-emu", MFD_CLOEXEC);
  if (proc->shm_fd >= 0 && proc->shm_fd <= 2) {
    /* The host has stdin/stdout/stderr closed: never hold the file there, where the
     * program's next dup2 onto its stdout would silently replace it. */
    int moved = fcntl(proc->shm_fd, F_DUPFD_CLOEXEC, 3);
    if (close(proc->shm_fd) != 0) emu_log_debug("veo_proc_create", "close: %s", strerror(errno));
    proc->shm_fd = moved;
  }
  if (proc->shm_fd < 0 || fchmod(proc->shm_fd, 0600) != 0 ||
      ftruncate(proc->shm_fd, (off_t)EMU_SHM_SIZE) != 0) {
    emu_log_error("veo_proc_create", "failed to create proc: shared memory: %s",
                  strerror(errno));
    goto fail;
  }
  proc->shm = mmap(NULL, EMU_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   proc->shm_fd, 0);
  if (proc->shm == MAP_FAILED) {
    emu_log_error("veo_proc_create", "failed to create proc: mmap: %s", strerror(errno));
    proc->shm = NULL;
    goto fail;
  }
  struct emu_shm_hdr *hdr = proc->hdr = (struct emu_shm_hdr *)proc->shm;
  hdr->magic = EMU_SHM_MAGIC;
  hdr->version = EMU_SHM_VERSION;
  hdr->host_pid = (int32_t)getpid();
  hdr->node = node;
  atomic_store(&hdr->fault_ctx, -1);
  const char *novm = getenv("VEO_EMU_NO_VM_RW");
  hdr->vm_rw_disabled = novm && *novm && strcmp(novm, "0") != 0;
  hdr->host_probe_addr = (uint64_t)(uintptr_t)&emu_probe_magic;
  const char *core = getenv("VE_CORE_NUMBER");
  proc->ctx[0] = emu_ctx_create(proc, 0);
  if (!proc->ctx[0]) goto fail;
  proc->ctx[0]->ctl->core = -1;
  if (core && *core) emu_int_parse(core, &proc->ctx[0]->ctl->core);

  proc->bin = strdup(bin);
  proc->envp = emu_env_build(node);
  if (!proc->bin || !proc->envp) goto fail;
  int rc = pthread_create(&proc->monitor, NULL, emu_monitor_run, proc);
  if (rc != 0) {
    emu_log_error("veo_proc_create", "failed to create proc: pthread_create: %s", strerror(rc));
    goto fail;
  }
  pthread_mutex_lock(&proc->spawn_lock);
  while (!proc->spawn_done) pthread_cond_wait(&proc->spawn_cond, &proc->spawn_lock);
  pthread_mutex_unlock(&proc->spawn_lock);
  if (proc->pid < 0) {
    emu_log_error("veo_proc_create", "failed to create proc: cannot start %s: %s", bin,
                  strerror(proc->spawn_errno));
    pthread_join(proc->monitor, NULL);
    goto fail;
  }
  /* The helper has its own descriptor of the file; the host needs only its mapping (ring
   * chunks are released with madvise), so no descriptor per proc stays open here. */
  if (close(proc->shm_fd) != 0) emu_log_debug("veo_proc_create", "close: %s", strerror(errno));
  proc->shm_fd = -1;
  /* Wait for the helper to map the shared memory and say it is ready. */
  int64_t start_ms = emu_env_ms("VEO_EMU_START_TIMEOUT_MS", EMU_START_TIMEOUT_MS);
  uint64_t deadline = emu_now_ns() + (uint64_t)start_ms * 1000000ULL;
  for (;;) {
    uint32_t state = atomic_load(&hdr->helper_state);
    if (state == EMU_HELPER_READY) break;
    int late = emu_now_ns() > deadline;
    if (state == EMU_HELPER_DEAD || atomic_load(&proc->dead) || late) {
      if (late)
        emu_log_error("veo_proc_create", "failed to create proc: helper %s did not attach "
                      "within %lld ms (VEO_EMU_START_TIMEOUT_MS); killed it", bin,
                      (long long)start_ms);
      else
        emu_log_error("veo_proc_create", "failed to create proc: helper %s did not start",
                      bin);
      emu_proc_kill(proc);
      pthread_join(proc->monitor, NULL);
      goto fail;
    }
    emu_futex_wait(&hdr->helper_state, state, 10000000LL);
  }
  if (!hdr->vm_rw_disabled) {
    uint64_t probe = 0;
    struct iovec local = {&probe, sizeof probe};
    struct iovec remote = {(void *)(uintptr_t)hdr->helper_probe_addr, sizeof probe};
    proc->host_vm_ok = process_vm_readv(proc->pid, &local, 1, &remote, 1, 0) ==
                           (ssize_t)sizeof probe && probe == EMU_SHM_MAGIC;
  }
  proc->ident = emu_proc_register(proc);
  if (proc->ident < 0) {
    emu_log_error("veo_proc_create", "failed to create proc: out of memory");
    emu_proc_kill(proc);
    pthread_join(proc->monitor, NULL);
    goto fail;
  }
  emu_log_debug("veo_proc_create", "proc %d on node %d: helper pid %d (vm_rw host %d, "
                "helper %d)", proc->ident, node, (int)proc->pid, proc->host_vm_ok,
                (int)atomic_load(&hdr->helper_vm_ok));
  return proc;
fail:
  emu_ctx_free(proc->ctx[0]);
  proc->ctx[0] = NULL;
  emu_proc_release(proc, 0);
  emu_proc_free(proc);
fail_early:
  return NULL;
}

EMU_EXPORT struct veo_proc_handle *veo_proc_create_static(int venode, char *veobin) {
  if (!veobin) {
    emu_log_error("veo_proc_create_static", "failed to create proc: no helper binary");
    return NULL;
  }
  return emu_proc_start(venode, veobin);
}

EMU_EXPORT struct veo_proc_handle *veo_proc_create(int venode) {
  const char *env = getenv("VEORUN_BIN");
  if (env && *env) return emu_proc_start(venode, env);
  char *bin = emu_veorun_default_path();
  if (!bin) {
    emu_log_error("veo_proc_create", "failed to create proc: cannot locate veorun");
    return NULL;
  }
  struct veo_proc_handle *proc = emu_proc_start(venode, bin);
  free(bin);
  return proc;
}

static int emu_thread_join_until(pthread_t thr, uint64_t deadline) {
  uint64_t now = emu_now_ns();
  uint64_t left = deadline > now ? deadline - now : 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)(left / 1000000000ULL);
  ts.tv_nsec += (long)(left % 1000000000ULL);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_timedjoin_np(thr, NULL, &ts);
}

/* Takes a closed context out of the proc's lists (proc->lock held). */
static void emu_proc_ctx_unlist(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx) {
  if (proc->ctx[ctx->index] == ctx) proc->ctx[ctx->index] = NULL;
  for (int i = 0; i < proc->nopen; i++) {
    if (proc->order[i] == ctx) {
      memmove(&proc->order[i], &proc->order[i + 1],
              (size_t)(proc->nopen - i - 1) * sizeof proc->order[0]);
      proc->nopen--;
      break;
    }
  }
}

int emu_proc_ctx_close(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx,
                       uint64_t deadline) {
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  emu_ctx_lock(main_ctx);
  int queued = emu_ctx_exit_begin(ctx) == 0;
  if (queued && emu_ctx_exit_wait(ctx, deadline) != 0) {
    emu_log_error("veo_context_close", "context %d did not finish its requests within the "
                  "grace period (VEO_EMU_KILL_GRACE_MS); killing VE process %d", ctx->index,
                  (int)proc->pid);
    emu_proc_kill(proc);
  }
  emu_ctx_retire(ctx, !atomic_load(&proc->dead), deadline);
  pthread_mutex_lock(&proc->lock);
  emu_proc_ctx_unlist(proc, ctx);
  pthread_mutex_unlock(&proc->lock);
  emu_ctx_unlock(main_ctx);
  pthread_mutex_lock(&emu_procs_lock);
  emu_quarantine_push(ctx, 0);
  pthread_mutex_unlock(&emu_procs_lock);
  return 0;
}

/* Ends the helper: every context gets EXIT at once (extra ones first, so their queues run
 * before the main context ends the process), everything is waited for until `deadline`,
 * then whatever is left is killed. */
static void emu_proc_end(struct veo_proc_handle *proc, uint64_t deadline) {
  for (int i = EMU_MAX_CTX - 1; i > 0; i--)
    if (proc->ctx[i]) (void)emu_ctx_exit_begin(proc->ctx[i]);
  int late = 0;
  for (int i = EMU_MAX_CTX - 1; i > 0 && !late; i--)
    if (proc->ctx[i]) late = emu_ctx_exit_wait(proc->ctx[i], deadline) != 0;
  if (!late) {
    (void)emu_ctx_exit_begin(proc->ctx[0]);
    late = emu_ctx_exit_wait(proc->ctx[0], deadline) != 0;
  }
  if (late || emu_thread_join_until(proc->monitor, deadline) != 0) {
    emu_log_error("veo_proc_destroy", "VE process %d did not exit within the grace period "
                  "(VEO_EMU_KILL_GRACE_MS); killing it", (int)proc->pid);
    emu_proc_kill(proc);
    int jrc = pthread_join(proc->monitor, NULL);
    if (jrc != 0) emu_log_error("veo_proc_destroy", "pthread_join: %s", strerror(jrc));
  }
}

static int emu_proc_destroy_until(struct veo_proc_handle *proc, uint64_t deadline) {
  if (!proc) return 0;
  if (atomic_exchange(&proc->destroyed, 1)) return 0;
  if (proc->host_pid != getpid()) return 0; /* a forked child: the helper is not ours */
  emu_proc_end(proc, deadline);
  pthread_mutex_lock(&emu_procs_lock);
  for (int i = 0; i < emu_nprocs; i++)
    if (emu_procs[i] == proc) emu_procs[i] = NULL;
  pthread_mutex_unlock(&emu_procs_lock);
  pthread_mutex_lock(&proc->lock);
  proc->node = -1;
  pthread_mutex_unlock(&proc->lock);
  emu_proc_release(proc, deadline);
  pthread_mutex_lock(&emu_procs_lock);
  emu_quarantine_push(proc, 1);
  pthread_mutex_unlock(&emu_procs_lock);
  return 0;
}

EMU_EXPORT int veo_proc_destroy(struct veo_proc_handle *proc) {
  return emu_proc_destroy_until(proc, emu_now_ns() + emu_grace_ns_get());
}

EMU_EXPORT int veo_proc_identifier(struct veo_proc_handle *proc) {
  pthread_mutex_lock(&emu_procs_lock);
  int ident = -1;
  for (int i = 0; i < emu_nprocs; i++) {
    if (emu_procs[i] == proc) {
      ident = i;
      break;
    }
  }
  pthread_mutex_unlock(&emu_procs_lock);
  if (ident < 0 && proc) emu_log_error("veo_proc_identifier", "Search failed.");
  return ident;
}

/* ---- procs tied to a thread (veo_emu_proc_tie_thread) ---- */

/* Each thread that tied a proc has a token (its thread-specific value); a tied proc points
 * at it. When the thread exits, glibc calls the key's destructor with the token, which
 * destroys that thread's procs: a worker thread of a JavaScript runtime ended from outside
 * runs none of its own teardown, and its procs would hold their helper, mapping and
 * threads until the process exits. */
static pthread_key_t emu_tie_key;
static pthread_once_t emu_tie_once = PTHREAD_ONCE_INIT;
static _Atomic int emu_tie_state; /* 0 not created, 1 created, -1 failed or deleted */

static void emu_tie_thread_exit(void *token) {
  for (;;) {
    struct veo_proc_handle *victim = NULL;
    pthread_mutex_lock(&emu_procs_lock);
    for (int i = 0; i < emu_nprocs && !victim; i++) {
      struct veo_proc_handle *p = emu_procs[i];
      if (p && p->tie == token) victim = p;
    }
    if (victim) victim->tie = NULL;
    pthread_mutex_unlock(&emu_procs_lock);
    if (!victim) break;
    /* Nobody is left to collect its results: killed at once, then destroyed (which finds
     * the helper dead and only releases what the host holds). */
    emu_log_debug("veo_emu_proc_tie_thread", "thread exit: destroying proc %d",
                  victim->ident);
    if (victim->host_pid == getpid()) emu_proc_kill(victim);
    (void)emu_proc_destroy_until(victim, emu_now_ns() + emu_grace_ns_get());
  }
  free(token);
}

static void emu_tie_init(void) {
  atomic_store(&emu_tie_state,
               pthread_key_create(&emu_tie_key, emu_tie_thread_exit) == 0 ? 1 : -1);
}

EMU_EXPORT int veo_emu_proc_tie_thread(struct veo_proc_handle *proc) {
  pthread_once(&emu_tie_once, emu_tie_init);
  if (atomic_load(&emu_tie_state) != 1) return -1;
  void *token = pthread_getspecific(emu_tie_key);
  if (!token) {
    token = malloc(1);
    if (!token || pthread_setspecific(emu_tie_key, token) != 0) {
      free(token);
      return -1;
    }
  }
  int found = 0;
  pthread_mutex_lock(&emu_procs_lock);
  for (int i = 0; i < emu_nprocs && !found; i++) {
    if (emu_procs[i] && emu_procs[i] == proc && !atomic_load(&proc->destroyed)) {
      proc->tie = token;
      found = 1;
    }
  }
  pthread_mutex_unlock(&emu_procs_lock);
  if (!found) emu_log_error("veo_emu_proc_tie_thread", "not a live proc: %p", (void *)proc);
  return found ? 0 : -1;
}

EMU_EXPORT pid_t veo_emu_proc_pid(struct veo_proc_handle *proc) {
  if (!proc || atomic_load(&proc->destroyed)) return -1;
  return proc->pid;
}

EMU_EXPORT int veo_emu_is_emulator(void) { return 1; }

EMU_EXPORT int veo_api_version(void) { return VEO_API_VERSION; }

EMU_EXPORT const char *veo_version_string(void) { return "3.0.2-veo-ts-emulator"; }

/* At exit, end every helper this process still owns (AVEO does the same), all within one
 * grace period: every context of every proc gets EXIT first, then each is waited for. */
__attribute__((destructor)) static void emu_procs_cleanup(void) {
  /* No thread's exit may call into this library once it is unloaded. */
  int tied = 1;
  if (atomic_compare_exchange_strong(&emu_tie_state, &tied, -1))
    (void)pthread_key_delete(emu_tie_key);
  uint64_t deadline = emu_now_ns() + emu_grace_ns_get();
  pthread_mutex_lock(&emu_procs_lock);
  for (int i = 0; i < emu_nprocs; i++) {
    struct veo_proc_handle *p = emu_procs[i];
    if (!p || p->host_pid != getpid()) continue;
    for (int c = EMU_MAX_CTX - 1; c > 0; c--)
      if (p->ctx[c]) (void)emu_ctx_exit_begin(p->ctx[c]);
  }
  pthread_mutex_unlock(&emu_procs_lock);
  for (;;) {
    struct veo_proc_handle *victim = NULL;
    pthread_mutex_lock(&emu_procs_lock);
    for (int i = 0; i < emu_nprocs && !victim; i++) {
      if (emu_procs[i] && emu_procs[i]->host_pid == getpid()) victim = emu_procs[i];
      else emu_procs[i] = NULL;
    }
    pthread_mutex_unlock(&emu_procs_lock);
    if (!victim) break;
    (void)emu_proc_destroy_until(victim, deadline);
    emu_proc_unregister(victim);
  }
}
