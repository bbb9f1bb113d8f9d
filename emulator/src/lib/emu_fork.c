/*
 * emu_fork.c - the library's process-wide locks across fork(). A process that forks while
 * another of its threads holds one of them would leave the child a lock nobody can ever
 * release: the child's exit (the library destructor walks the proc list) or its first HMEM
 * or hook call would hang. Each such lock is registered here once (from a constructor);
 * fork() takes them all first and releases them in the parent and in the child. They are
 * leaf locks (no holder takes another), so the order is free. Transport layer: calls only
 * the log.
 */
#define _GNU_SOURCE
#include <string.h>

#include "emu_lib.h"

#define EMU_FORK_LOCKS 8

static pthread_mutex_t *emu_fork_locks[EMU_FORK_LOCKS];
static int emu_fork_nlocks;
static pthread_once_t emu_fork_once = PTHREAD_ONCE_INIT;

static void emu_fork_prepare(void) {
  for (int i = 0; i < emu_fork_nlocks; i++) pthread_mutex_lock(emu_fork_locks[i]);
}

static void emu_fork_release(void) {
  for (int i = emu_fork_nlocks - 1; i >= 0; i--) pthread_mutex_unlock(emu_fork_locks[i]);
}

static void emu_fork_init(void) {
  int rc = pthread_atfork(emu_fork_prepare, emu_fork_release, emu_fork_release);
  if (rc != 0) emu_log_error("veo_proc_create", "pthread_atfork: %s", strerror(rc));
}

void emu_fork_guard(pthread_mutex_t *lock) {
  pthread_once(&emu_fork_once, emu_fork_init);
  if (emu_fork_nlocks < EMU_FORK_LOCKS) emu_fork_locks[emu_fork_nlocks++] = lock;
  else emu_log_error("veo_proc_create", "too many fork-guarded locks");
}
