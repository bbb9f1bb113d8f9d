/*
 * emu_serve.c - veorun's main() and the loop every context thread runs: wait for records
 * in its ring (spin briefly, then sleep on a futex), check each record's size and kind,
 * execute it, publish completion and wake host waiters that asked for it. A record that
 * cannot be right (the ring was overwritten) ends the helper with a message instead of
 * executing garbage. The helper watches its parent: PR_SET_PDEATHSIG (a signal whose
 * handler kills the helper's whole process group, so processes a kernel forked die too)
 * plus a parent-pid check whenever it wakes from an idle sleep. It starts with fds 0-2
 * open (/dev/null for any the host had closed), so a kernel's open() never becomes its
 * stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_helper.h"

#define EMU_HELPER_SPIN_NS 100000ULL
#define EMU_HELPER_SLEEP_NS 1000000000LL
#define EMU_HOST_GONE_SIG (SIGRTMAX - 3) /* PR_SET_PDEATHSIG: the host died */

char *emu_shm;
struct emu_shm_hdr *emu_hdr;
pid_t emu_host_pid;
int emu_notify_fd = -1; /* the notify pipe's write end (veo_emu_arm), or -1 */
struct emu_thread *_Atomic emu_threads[EMU_MAX_CTX];
__thread struct emu_thread *emu_self;

static const uint64_t emu_probe_magic = EMU_SHM_MAGIC;

/* Ends the helper and, when it leads its own process group, everything in it. */
static void emu_group_exit(void) {
  if (getpgrp() == getpid()) (void)kill(0, SIGKILL);
  _exit(0);
}

static void emu_host_gone_handle(int sig) {
  (void)sig;
  emu_group_exit();
}

void emu_host_check(void) {
  if (getppid() != emu_host_pid) emu_group_exit();
}

/* A ring record that cannot be right: executing it would run garbage. */
static void emu_ring_corrupt_exit(struct emu_thread *t, uint64_t pos, uint32_t size, uint32_t kind) {
  printf("[VE] ERROR: context %d: the command ring is corrupt at position %llu (record size "
         "%u, kind %u; a kernel wrote over it?); the VE process exits\n", t->index,
         (unsigned long long)pos, size, kind);
  fflush(stdout);
  _exit(70);
}

struct emu_thread *emu_thread_new(int index) {
  struct emu_thread *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->index = index;
  t->ctl = (struct emu_ctx_ctl *)(emu_shm + EMU_CTL_OFFSET(index));
  t->ring = emu_shm + EMU_RING_OFFSET(index);
  return t;
}

/* Waits until head moves past pos; returns the new head. */
static uint64_t emu_work_wait(struct emu_thread *t, uint64_t pos) {
  struct emu_ctx_ctl *ctl = t->ctl;
  uint64_t start = emu_now_ns();
  int cpu = sched_getcpu();
  atomic_store_explicit(&ctl->helper_cpu, cpu, memory_order_relaxed);
  for (unsigned i = 0;; i++) {
    uint64_t head = atomic_load_explicit(&ctl->head, memory_order_acquire);
    if (head != pos) return head;
    emu_cpu_relax();
    if ((i & 7) == 7 &&
        emu_spin_pace(i, start, EMU_HELPER_SPIN_NS, &ctl->helper_cpu, &ctl->host_cpu, &cpu) != 0)
      break;
  }
  atomic_store_explicit(&ctl->helper_cpu, -1, memory_order_relaxed);
  for (;;) {
    uint32_t seq = atomic_load(&ctl->submit_seq);
    atomic_store(&ctl->helper_sleeping, 1);
    uint64_t head = atomic_load(&ctl->head);
    if (head != pos) {
      atomic_store(&ctl->helper_sleeping, 0);
      return head;
    }
    int rc = emu_futex_wait(&ctl->submit_seq, seq, EMU_HELPER_SLEEP_NS);
    atomic_store(&ctl->helper_sleeping, 0);
    if (rc != 0) emu_host_check();
    head = atomic_load_explicit(&ctl->head, memory_order_acquire);
    if (head != pos) return head;
  }
}

static void emu_done_publish(struct emu_thread *t, uint64_t pos) {
  struct emu_ctx_ctl *ctl = t->ctl;
  atomic_store(&ctl->done, pos); /* seq_cst: ordered before the waiter checks below */
  if (atomic_load(&ctl->host_waiters) && pos >= atomic_load(&ctl->wake_pos)) {
    atomic_store(&ctl->wake_pos, UINT64_MAX);
    atomic_fetch_add(&ctl->done_seq, 1);
    emu_futex_wake(&ctl->done_seq, INT_MAX);
  }
  /* The host armed this context (veo_emu_arm): one byte on the notify pipe wakes its event
   * loop. The CAS makes it one byte per arming; a full pipe already has a byte to read. */
  uint64_t np = atomic_load(&ctl->notify_pos);
  if (np <= pos && emu_notify_fd >= 0 &&
      atomic_compare_exchange_strong(&ctl->notify_pos, &np, UINT64_MAX)) {
    static const char one = 1;
    ssize_t w = write(emu_notify_fd, &one, 1);
    (void)w;
  }
}

void emu_ctx_serve(struct emu_thread *t) {
  emu_self = t;
  atomic_store(&emu_threads[t->index], t);
  uint64_t pos = atomic_load(&t->ctl->done);
  uint64_t head = pos;
  for (;;) {
    if (pos == head) {
      head = atomic_load_explicit(&t->ctl->head, memory_order_acquire);
      if (pos == head) head = emu_work_wait(t, pos);
      continue;
    }
    struct emu_rec *rec = (struct emu_rec *)(t->ring + pos % EMU_RING_SIZE);
    uint32_t size = rec->size, kind = rec->kind;
    if (size < sizeof *rec || size % EMU_REC_ALIGN || size > head - pos ||
        pos % EMU_RING_SIZE + size > EMU_RING_SIZE || kind > EMU_K_EXIT ||
        size < emu_rec_hdr_size((int)kind))
      emu_ring_corrupt_exit(t, pos, size, kind);
    int stop = kind == EMU_K_PAD ? 0 : emu_rec_exec(t, rec, pos, size, kind);
    pos += size;
    if (stop) {
      atomic_store(&emu_threads[t->index], NULL);
      emu_done_publish(t, pos);
      return;
    }
    emu_done_publish(t, pos);
  }
}

static void emu_thread_pin(int core) {
  if (core < 0) return;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core % n, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("veorun: sched_setaffinity");
}

static void *emu_ctx_thread_run(void *arg) {
  struct emu_thread *t = arg;
  t->altstack = emu_altstack_install();
  if (!t->altstack) perror("veorun: sigaltstack");
  emu_thread_pin(t->ctl->core);
  emu_ctx_serve(t);
  /* Everything this context had goes, so opening and closing contexts does not grow us. */
  emu_thread_release(t);
  emu_altstack_remove(t->altstack);
  free(t);
  return NULL;
}

/* Starts the thread serving context `index` (an OPEN_CTX record). Returns 0 or -1. */
int emu_ctx_thread_start(int index, uint64_t stacksize) {
  struct emu_thread *t = emu_thread_new(index);
  if (!t) return -1;
  pthread_attr_t attr;
  pthread_t thr;
  int rc = pthread_attr_init(&attr);
  if (rc == 0 && stacksize) rc = pthread_attr_setstacksize(&attr, stacksize);
  if (rc == 0) rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (rc == 0) rc = pthread_create(&thr, &attr, emu_ctx_thread_run, t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    fprintf(stderr, "veorun: cannot start a context thread: %s\n", strerror(rc));
    free(t);
    return -1;
  }
  return 0;
}

int main(void) {
  const char *fds = getenv(EMU_ENV_SHM_FD);
  const char *hps = getenv(EMU_ENV_HOST_PID);
  if (!fds || !hps) {
    fprintf(stderr, "veorun: the veo-ts emulator's VE helper; libveo.so.1 starts it\n");
    return 2;
  }
  int fd = atoi(fds);
  emu_host_pid = (pid_t)atoi(hps);
  /* fds 0-2 open, so that no file a kernel opens becomes its stdout or stderr. */
  for (int i = 0; i <= 2; i++) {
    if (fcntl(i, F_GETFD) >= 0) continue;
    int n = open("/dev/null", O_RDWR);
    if (n >= 0 && n != i) {
      if (dup2(n, i) < 0) perror("veorun: dup2");
      if (close(n) != 0) perror("veorun: close");
    }
  }
  struct sigaction gone;
  memset(&gone, 0, sizeof gone);
  gone.sa_handler = emu_host_gone_handle;
  sigfillset(&gone.sa_mask);
  if (sigaction(EMU_HOST_GONE_SIG, &gone, NULL) != 0 ||
      prctl(PR_SET_PDEATHSIG, EMU_HOST_GONE_SIG) != 0)
    perror("veorun: parent-death signal");
  emu_host_check();
  void *shm = mmap(NULL, EMU_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   fd, 0);
  if (shm == MAP_FAILED) {
    perror("veorun: mmap");
    return 3;
  }
  close(fd);
  unsetenv(EMU_ENV_SHM_FD);
  /* The notify pipe (veo_emu_notify_fd): only its write end lives here (close-on-exec, so
   * what a kernel execs does not hold it; non-blocking, so a full pipe never blocks a
   * context thread); the host opens its reader through /proc, so the host process holds
   * no descriptor for it. When this process dies the reader sees end-of-file. */
  int np[2];
  if (pipe2(np, O_CLOEXEC | O_NONBLOCK) == 0) {
    close(np[0]);
    emu_notify_fd = np[1];
  }
  unsetenv(EMU_ENV_HOST_PID);
  emu_shm = shm;
  emu_hdr = (struct emu_shm_hdr *)emu_shm;
  if (emu_hdr->magic != EMU_SHM_MAGIC || emu_hdr->version != EMU_SHM_VERSION) {
    fprintf(stderr, "veorun: shared memory version mismatch (helper and library differ)\n");
    return 4;
  }
  if (emu_fault_install() != 0) {
    perror("veorun: sigaction");
    return 5;
  }
  signal(SIGPIPE, SIG_IGN);
  emu_hdr->helper_probe_addr = (uint64_t)(uintptr_t)&emu_probe_magic;
  emu_hdr->notify_fd = emu_notify_fd;
  if (!emu_hdr->vm_rw_disabled) {
    uint64_t probe = 0;
    struct iovec local = {&probe, sizeof probe};
    struct iovec remote = {(void *)(uintptr_t)emu_hdr->host_probe_addr, sizeof probe};
    ssize_t n = process_vm_readv(emu_host_pid, &local, 1, &remote, 1, 0);
    atomic_store(&emu_hdr->helper_vm_ok, n == (ssize_t)sizeof probe && probe == EMU_SHM_MAGIC);
  }
  struct emu_thread *t0 = emu_thread_new(0);
  if (!t0) return 6;
  emu_thread_pin(t0->ctl->core);
  atomic_store(&emu_hdr->helper_state, EMU_HELPER_READY);
  emu_futex_wake(&emu_hdr->helper_state, INT_MAX);
  emu_ctx_serve(t0);
  fflush(stdout);
  fflush(stderr);
  exit(0);
}
