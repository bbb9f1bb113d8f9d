/*
 * emu_vm.c - the transport for large and synchronous transfers: process_vm_readv/writev
 * between host memory and the helper's address space. Large copies are shared, in chunks,
 * with one process-wide copy thread. Calls nothing above the transport layer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_lib.h"

/* Moves size bytes with process_vm_*; returns 0, -1 on a bad address, -2 if refused. */
static int emu_vm_copy_one(pid_t pid, int write, char *host, uint64_t ve, size_t size) {
  while (size > 0) {
    struct iovec local = {host, size};
    struct iovec remote = {(void *)(uintptr_t)ve, size};
    ssize_t n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
                      : process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EFAULT) return -1;
      if (errno == ESRCH) return -1;
      return -2;
    }
    if (n == 0) return -1;
    host += n;
    ve += (uint64_t)n;
    size -= (size_t)n;
  }
  return 0;
}

/* Large transfers are shared, in chunks, between the calling thread and one process-wide
 * copy thread, so a transfer can use both CPUs of a small host. Chunks are claimed from a
 * counter: if the copy thread does not get a CPU, the caller simply does all the chunks
 * and cancels the thread's share; it never waits for more than one chunk in progress. */
#define EMU_SPLIT_MIN (4u << 20)
#define EMU_SPLIT_CHUNK (2u << 20)

enum { EMU_JOB_IDLE, EMU_JOB_POSTED, EMU_JOB_RUNNING, EMU_JOB_DONE, EMU_JOB_CANCELLED };

static struct {
  pthread_mutex_t busy;       /* held by the one transfer using the copy thread */
  pthread_mutex_t start_lock;
  pid_t owner;                /* process that started the thread (fork: start a new one) */
  _Atomic uint32_t seq;       /* futex: a job was posted */
  _Atomic uint32_t state;     /* futex: EMU_JOB_* */
  pid_t pid;
  int write;
  char *host;
  uint64_t ve;
  size_t size;
  _Atomic size_t next;        /* next unclaimed offset */
  _Atomic int rc;             /* worst result of any chunk */
} emu_copier = {.busy = PTHREAD_MUTEX_INITIALIZER, .start_lock = PTHREAD_MUTEX_INITIALIZER};

static void emu_copier_chunks(void) {
  for (;;) {
    size_t off = atomic_fetch_add(&emu_copier.next, EMU_SPLIT_CHUNK);
    if (off >= emu_copier.size) return;
    size_t n = emu_copier.size - off < EMU_SPLIT_CHUNK ? emu_copier.size - off : EMU_SPLIT_CHUNK;
    int rc = emu_vm_copy_one(emu_copier.pid, emu_copier.write, emu_copier.host + off,
                             emu_copier.ve + off, n);
    if (rc == -1 || (rc == -2 && atomic_load(&emu_copier.rc) == 0)) atomic_store(&emu_copier.rc, rc);
  }
}

static void *emu_copier_run(void *arg) {
  uint32_t seen = (uint32_t)(uintptr_t)arg;
  for (;;) {
    uint32_t seq = atomic_load(&emu_copier.seq);
    if (seq == seen) {
      emu_futex_wait(&emu_copier.seq, seq, -1);
      continue;
    }
    seen = seq;
    uint32_t posted = EMU_JOB_POSTED;
    if (!atomic_compare_exchange_strong(&emu_copier.state, &posted, EMU_JOB_RUNNING)) continue;
    emu_copier_chunks();
    atomic_store(&emu_copier.state, EMU_JOB_DONE);
    emu_futex_wake(&emu_copier.state, 1);
  }
  return NULL;
}

/* Called with emu_copier.busy held. Returns 0 when the copy thread is running. */
static int emu_copier_ensure(void) {
  int rc = 0;
  pthread_mutex_lock(&emu_copier.start_lock);
  if (emu_copier.owner != getpid()) {
    pthread_attr_t attr;
    pthread_t thr;
    rc = pthread_attr_init(&attr);
    if (rc == 0) rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0) rc = pthread_attr_setstacksize(&attr, 64 * 1024);
    uint32_t seen = atomic_load(&emu_copier.seq);
    if (rc == 0) rc = pthread_create(&thr, &attr, emu_copier_run, (void *)(uintptr_t)seen);
    pthread_attr_destroy(&attr);
    if (rc == 0) emu_copier.owner = getpid();
    else emu_log_debug("veo_read_mem", "no copy thread: %s", strerror(rc));
  }
  pthread_mutex_unlock(&emu_copier.start_lock);
  return rc == 0 ? 0 : -1;
}

int emu_vm_copy(pid_t pid, int write, void *host, uint64_t ve, size_t size) {
  static long ncpus;
  if (!ncpus) ncpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (size < EMU_SPLIT_MIN || ncpus < 2 || pthread_mutex_trylock(&emu_copier.busy) != 0)
    return emu_vm_copy_one(pid, write, host, ve, size);
  if (emu_copier_ensure() != 0) {
    pthread_mutex_unlock(&emu_copier.busy);
    return emu_vm_copy_one(pid, write, host, ve, size);
  }
  emu_copier.pid = pid;
  emu_copier.write = write;
  emu_copier.host = host;
  emu_copier.ve = ve;
  emu_copier.size = size;
  atomic_store(&emu_copier.next, 0);
  atomic_store(&emu_copier.rc, 0);
  atomic_store(&emu_copier.state, EMU_JOB_POSTED);
  atomic_fetch_add(&emu_copier.seq, 1);
  emu_futex_wake(&emu_copier.seq, 1);
  emu_copier_chunks();
  uint32_t posted = EMU_JOB_POSTED;
  if (!atomic_compare_exchange_strong(&emu_copier.state, &posted, EMU_JOB_CANCELLED)) {
    uint32_t st;
    while ((st = atomic_load(&emu_copier.state)) != EMU_JOB_DONE)
      emu_futex_wait(&emu_copier.state, st, -1);
  }
  int rc = atomic_load(&emu_copier.rc);
  pthread_mutex_unlock(&emu_copier.busy);
  return rc;
}

