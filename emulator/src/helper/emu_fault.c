/*
 * emu_fault.c - the helper's fatal-signal handling (AVEO spec 5.2): SIGSEGV, SIGFPE, SIGILL,
 * SIGBUS or SIGABRT in a kernel marks the record being executed EXCEPTION with the signal
 * number as result, then the helper exits at once. The host notices the exit (its monitor
 * thread reaps us) and settles every other pending request as ERROR.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_helper.h"
#include "ve_offload.h"

#define EMU_ALTSTACK_SIZE (64 * 1024)

static const int emu_fatal_signals[] = {SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGABRT};

static void emu_fault_print(const char *s) {
  ssize_t n = write(STDERR_FILENO, s, strlen(s));
  (void)n;
}

static void emu_fault_handle(int sig, siginfo_t *si, void *uc) {
  (void)si;
  (void)uc;
  struct emu_thread *t = emu_self;
  struct emu_rec *rec = t ? atomic_load(&t->current) : NULL;
  /* A thread the kernel started (OpenMP, pthreads) has no context: blame a running call. */
  for (int i = 0; !rec && i < EMU_MAX_CTX; i++) {
    struct emu_thread *o = atomic_load(&emu_threads[i]);
    if (o && atomic_load(&o->current)) {
      t = o;
      rec = atomic_load(&o->current);
    }
  }
  if (rec) {
    rec->result = (uint64_t)sig;
    atomic_store(&rec->state, VEO_COMMAND_EXCEPTION);
  }
  if (emu_hdr) {
    atomic_store(&emu_hdr->fault_ctx, t ? t->index : -1);
    atomic_store(&emu_hdr->fault_signal, (uint32_t)sig);
  }
  char msg[96] = "[VE] ERROR: the kernel caught signal ";
  char num[8];
  int n = 0, v = sig;
  do {
    num[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < 7);
  size_t len = strlen(msg);
  while (n) msg[len++] = num[--n];
  msg[len] = 0;
  strcat(msg, " (");
  strcat(msg, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  strcat(msg, "); the VE process exits\n");
  emu_fault_print(msg);
  _exit(128 + sig);
}

void *emu_altstack_install(void) {
  stack_t ss;
  ss.ss_sp = malloc(EMU_ALTSTACK_SIZE);
  if (!ss.ss_sp) return NULL;
  ss.ss_size = EMU_ALTSTACK_SIZE;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0) {
    free(ss.ss_sp);
    return NULL;
  }
  return ss.ss_sp;
}

void emu_altstack_remove(void *stack) {
  if (!stack) return;
  stack_t ss = {.ss_flags = SS_DISABLE};
  if (sigaltstack(&ss, NULL) != 0) return; /* still in use: leave it */
  free(stack);
}

int emu_fault_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = emu_fault_handle;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof emu_fatal_signals / sizeof emu_fatal_signals[0]; i++)
    if (sigaction(emu_fatal_signals[i], &sa, NULL) != 0) return -1;
  return emu_altstack_install() ? 0 : -1;
}
