/*
 * emu_helper.h - internal header of veorun, the helper process that plays the VE: one
 * thread per context serves that context's ring (emu_serve.c), executing records
 * (emu_exec.c); emu_fault.c turns a kernel's fatal signal into an EXCEPTION result;
 * emu_heap.c knows the live heap blocks, so a bad veo_free_mem fails instead of aborting.
 * Calls go serve -> exec -> heap/fault.
 */
#ifndef EMU_HELPER_H
#define EMU_HELPER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_shm.h"

#define EMU_PREV_MAX 64

/* One serving thread = one context. */
struct emu_thread {
  int index;
  struct emu_ctx_ctl *ctl;
  char *ring;
  _Atomic(struct emu_rec *) current;   /* the call being executed, for the fault handler */
  uint64_t prev[EMU_PREV_MAX];          /* replies sent, for veo_prev_req_result */
  uint64_t nprev;
  int chain_failed;
  _Atomic uint64_t running_fn;          /* kernel being called (veo_unload_library checks) */
  char *stk;                            /* private stack-argument area; a guard page follows */
  size_t stk_size;
  void *altstack;
};

extern char *emu_shm;
extern struct emu_shm_hdr *emu_hdr;
extern pid_t emu_host_pid;
extern int emu_notify_fd;
extern struct emu_thread *_Atomic emu_threads[EMU_MAX_CTX];
extern __thread struct emu_thread *emu_self;

/* emu_serve.c */
void emu_ctx_serve(struct emu_thread *t);
struct emu_thread *emu_thread_new(int index);
/* Starts the thread serving context `index` (an OPEN_CTX record). Returns 0 or -1. */
int emu_ctx_thread_start(int index, uint64_t stacksize);
/* Returns when the futex word changes or after the timeout; exits if the host is gone. */
void emu_host_check(void);

/* emu_exec.c: executes one record (its size and kind already checked by the caller);
 * returns 1 if the serving thread must stop. */
int emu_rec_exec(struct emu_thread *t, struct emu_rec *rec, uint64_t pos, uint32_t size,
                 uint32_t kind);
/* Unmaps a thread's stack-argument area (at thread exit). */
void emu_thread_release(struct emu_thread *t);

/* emu_heap.c: frees a live block; -1 (nothing done) if ptr is not the start of one. */
int emu_heap_free(void *ptr);

/* emu_fault.c */
int emu_fault_install(void);
/* Installs a signal stack for the calling thread; returns it (for emu_altstack_remove). */
void *emu_altstack_install(void);
void emu_altstack_remove(void *stack);

#endif /* EMU_HELPER_H */
