/*
 * emu_ctx_serve.c - veorun's main() and the loop every context thread runs: wait for records
 * in its ring (spin briefly, then sleep on a futex), execute them in order, publish
 * completion and wake host waiters that asked for it. The helper also watches its parent:
 * PR_SET_PDEATHSIG plus a parent-pid check whenever it wakes from an idle sleep.
 */
#define _GNU_SOURCE
#include <errno.h>
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

char *emu_shm;
struct emu_shm_hdr *emu_hdr;
pid_t emu_host_pid;
struct emu_thread *_Atomic emu_threads[EMU_MAX_CTX];
__thread struct emu_thread *emu_self;

static const uint64_t emu_probe_magic = EMU_SHM_MAGIC;

void emu_host_check(void) {
  if (getppid() != emu_host_pid) _exit(0);
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
    uint32_t size = rec->size;
    int stop = rec->kind == EMU_K_PAD ? 0 : emu_rec_exec(t, rec, pos);
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
  if (emu_altstack_install() != 0) perror("veorun: sigaltstack");
  emu_thread_pin(t->ctl->core);
  emu_ctx_serve(t);
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
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) perror("veorun: prctl");
  emu_host_check();
  void *shm = mmap(NULL, EMU_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   fd, 0);
  if (shm == MAP_FAILED) {
    perror("veorun: mmap");
    return 3;
  }
  close(fd);
  unsetenv(EMU_ENV_SHM_FD);
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
