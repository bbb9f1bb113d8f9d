/*
 * emu_lib.h - internal header of the host library (libveo.so.1): the real structures behind
 * the opaque veo_* handles, and the functions the lib's files share. Never installed.
 *
 * Layering (calls only go down; data structures are shared):
 *   entry points   emu_api.c (contexts, calls, libraries), emu_hmem.c -> emu_mem.c,
 *                  emu_args.c, emu_stubs.c
 *   core           emu_proc.c (procs: spawn, destroy, grace, exit) -> emu_ctx.c (a context's
 *                  ring: submit, drain with validation, wait, its VH thread)
 *   transport      emu_vm.c (process_vm_* copies), emu_hook.c (the hook table),
 *                  emu_fork.c (locks across fork), emu_log.c, ../common (wire format, futex)
 * The host trusts nothing in shared memory that the helper (or a kernel) can write: record
 * boundaries, kinds, argument lists and host addresses come from host-side copies
 * (the request table and the sidecars below); the helper's completion position, record
 * states and VH hand-offs are validated, and an invalid one kills the proc with a log line.
 */
#ifndef EMU_LIB_H
#define EMU_LIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_shm.h"
#include "ve_offload.h"

#define EMU_EXPORT __attribute__((visibility("default")))

/* A context thread's stack when no attribute says otherwise (veo_context_open). */
#define EMU_DEFAULT_STACK 0x8000000UL

/* One request's host-side bookkeeping: 16 bytes, in a ring indexed by request id. While the
 * request is pending, `value` is the ring position where its record ends and `state` the
 * record's size, so the host finds every record without reading the ring's headers. */
struct emu_slot {
  uint64_t value;    /* ring end position while pending, the result once done */
  uint32_t state;    /* record size while pending, VEO_COMMAND_* once done */
  uint32_t flags;    /* EMU_SLOT_* */
};
#define EMU_SLOT_PENDING 1u
#define EMU_SLOT_DONE 2u
#define EMU_SLOT_COLLECTED 4u
#define EMU_SLOT_INTERNAL 8u
#define EMU_SLOT_SIDECAR 16u /* a sidecar with copy-out work is queued for this request */

/* One host buffer to fill from a completed record: OUT/INOUT stack data, inline reads. */
struct emu_copy_out {
  uint64_t host;     /* host address */
  uint32_t offset;   /* from the start of the record */
  uint32_t len;
};

/* What the host must remember about a request instead of re-reading it from shared memory:
 * copy-out work (drained in id order) or a job for the VH thread (in ring order). */
struct emu_sidecar {
  struct emu_sidecar *next;
  uint64_t pos;      /* ring position of the record's start */
  uint32_t kind;     /* enum emu_kind */
  uint32_t flags;    /* EMU_F_* */
  uint64_t a0, a1, a2;
  uint32_t nout;
  struct emu_copy_out out[];
};

struct emu_fifo {
  struct emu_sidecar *first, *last;
};

struct veo_thr_ctxt {
  struct veo_proc_handle *proc;
  int index;                       /* 0 = main context */
  struct emu_ctx_ctl *ctl;
  char *ring;
  pthread_mutex_t lock;            /* recursive: submission, drain, request table */
  _Atomic int state;               /* VEO_STATE_RUNNING / VEO_STATE_EXIT */
  uint64_t head;                   /* host copy of ctl->head */
  uint32_t resv_size;              /* size of the record emu_ctx_reserve handed out */
  uint64_t release;                /* drained up to here */
  uint64_t punched;                /* ring bytes returned to the kernel up to here */
  /* request table */
  struct emu_slot *slots;
  uint64_t cap;                    /* power of two */
  uint64_t base_id;                /* ids below are collected */
  uint64_t next_id;
  uint64_t drain_id;               /* id of the next record to drain */
  struct emu_fifo copies;          /* sidecars with copy-out work, in id order */
  /* VH thread (lazy) */
  pthread_t vh_thread;
  int vh_started;
  _Atomic int vh_running;          /* the VH thread has not returned yet */
  pthread_mutex_t vh_lock;         /* vh_jobs */
  struct emu_fifo vh_jobs;         /* what each VH hand-off must do, in ring order */
  /* lifetime: a closed context keeps its struct for a while (stale handles fail softly) */
  _Atomic int refs;                /* threads inside an API call on this context */
  _Atomic int closed;
};

struct veo_proc_handle {
  int node;                        /* -1 once destroyed */
  int ident;
  pid_t pid;                       /* helper pid, also its process group */
  pid_t host_pid;                  /* getpid() at creation (fork safety) */
  int shm_fd;                      /* the shared file, only until the helper has it */
  struct emu_shm_hdr *hdr;
  char *shm;
  _Atomic int dead;                /* helper gone (or declared corrupt and killed) */
  _Atomic int destroyed;
  int host_vm_ok;                  /* process_vm_readv/writev into the helper works */
  pthread_t monitor;
  int monitor_started;
  pthread_mutex_t lock;            /* contexts list, symbol cache */
  struct veo_thr_ctxt *ctx[EMU_MAX_CTX];  /* by index; ctx[0] = main */
  struct veo_thr_ctxt *order[EMU_MAX_CTX]; /* opened contexts, in opening order */
  int nopen;
  struct emu_sym *syms;            /* get_sym cache */
  /* spawn handshake with the monitor thread */
  char *bin;
  char **envp;
  int spawn_errno;
  pthread_mutex_t spawn_lock;
  pthread_cond_t spawn_cond;
  int spawn_done;
  int exit_status;
  void *tie;                       /* token of the thread it dies with (emu_procs_lock) */
};

struct emu_sym {
  struct emu_sym *next;
  uint64_t lib;
  uint64_t addr;
  char name[];
};

struct emu_arg {
  uint64_t value;    /* value, or host buffer for stack args */
  uint32_t type;     /* enum emu_arg_type */
  uint32_t len;
};

struct veo_args {
  struct emu_arg *args;
  int nargs;
  int cap;
  int result_type;   /* enum veo_emu_type */
};

struct veo_thr_ctxt_attr {
  size_t stacksize;
};

/* ---- transport ---- */

/* emu_log.c */
void emu_log_error(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void emu_log_debug(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A millisecond setting from the environment (non-negative integer), else `dflt`. */
int64_t emu_env_ms(const char *name, int64_t dflt);

/* emu_fork.c: `lock` (a process-wide leaf lock) is held by no one in a child of fork().
 * Called once per lock, from a constructor. */
void emu_fork_guard(pthread_mutex_t *lock);

/* emu_hook.c */
struct emu_hook {
  void (*hook)(void *, ...);
  void *payload;
};
int emu_hook_find(void *func, struct emu_hook *out);

/* emu_vm.c: process_vm_* copy between host memory and the helper: 0, -1 bad address,
 * -2 refused by the kernel (ptrace restrictions). */
int emu_vm_copy(pid_t pid, int write, void *host, uint64_t ve, size_t size);

/* ---- core: contexts (emu_ctx.c) ---- */

struct veo_thr_ctxt *emu_ctx_create(struct veo_proc_handle *proc, int index);
/* Frees a context struct (never used, or retired and no longer referenced). */
void emu_ctx_free(struct veo_thr_ctxt *ctx);
/* Queues EXIT behind everything pending (the helper's thread exits; for the main context
 * the helper exits). Returns 0 if queued, -1 if there is nothing to wait for. */
int emu_ctx_exit_begin(struct veo_thr_ctxt *ctx);
/* Waits until `deadline` (emu_now_ns clock) for the EXIT queued by emu_ctx_exit_begin.
 * Returns 0 (done, or the helper is gone) or -1 on timeout. */
int emu_ctx_exit_wait(struct veo_thr_ctxt *ctx, uint64_t deadline);
/* Retires: later calls on the handle fail, threads still inside are woken and waited for
 * until `deadline`. `reusable`: the helper's thread is gone, the ring may be reused. */
void emu_ctx_retire(struct veo_thr_ctxt *ctx, int reusable, uint64_t deadline);
/* Reserves a record of `payload` bytes at the tail of the ring (ctx locked by caller).
 * Returns NULL (logged) if the context is dead or the record too large. */
struct emu_rec *emu_ctx_reserve(struct veo_thr_ctxt *ctx, uint64_t payload, int kind);
/* Publishes the reserved record, assigns its id (ctx locked). `side` (may be NULL) holds
 * copy-out work (nout > 0) or a VH job (kind/flags/a0..a2); it is owned by the context
 * from here on, also on failure. */
uint64_t emu_ctx_commit(struct veo_thr_ctxt *ctx, struct emu_rec *rec, struct emu_sidecar *side);
struct emu_sidecar *emu_sidecar_new(uint32_t nout);
void emu_ctx_lock(struct veo_thr_ctxt *ctx);
void emu_ctx_unlock(struct veo_thr_ctxt *ctx);
/* Simple submissions without payload. Returns the id or VEO_REQUEST_ID_INVALID. */
uint64_t emu_ctx_submit(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                        uint64_t a1, uint64_t a2);
/* The same for a record the host's VH thread handles (VH call, host-side transfer, hooked
 * alloc/free): a0..a2 are also kept host-side for the hand-off. Starts the VH thread. */
uint64_t emu_ctx_submit_vh(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                           uint64_t a1, uint64_t a2);
int emu_ctx_wait(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result);
int emu_ctx_peek(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result);
int emu_ctx_arm(struct veo_thr_ctxt *ctx, uint64_t reqid);
int emu_ctx_wait_until(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result,
                       uint64_t deadline);
/* Waits until every request submitted so far has completed (no id consumed on a quiet
 * context). Returns 0, or -1 if the helper is dead. */
int emu_ctx_barrier(struct veo_thr_ctxt *ctx);
void emu_ctx_wake_all(struct veo_thr_ctxt *ctx);
/* Declares the proc dead because of what the helper wrote (logged with `why`) and kills
 * the helper's process group. */
void emu_ctx_proc_poison(struct veo_thr_ctxt *ctx, const char *why);

/* ---- core: procs (emu_proc.c) ---- */

int emu_node_resolve(int venode, int *physical);
struct veo_proc_handle *emu_proc_from_ident(int ident);
int emu_proc_alive(struct veo_proc_handle *proc);
/* Kills the helper and everything in its process group. */
void emu_proc_kill(struct veo_proc_handle *proc);
/* The grace period of destroy/close/exit before a busy helper is killed (ns). */
uint64_t emu_grace_ns_get(void);
/* veo_context_close of an extra context, with the caller's deadline. */
int emu_proc_ctx_close(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx,
                       uint64_t deadline);

/* ---- entry points used by other entry points ---- */

/* emu_mem.c */
int emu_mem_read(struct veo_proc_handle *proc, void *dst, uint64_t src, size_t size);
int emu_mem_write(struct veo_proc_handle *proc, uint64_t dst, const void *src, size_t size);

#endif /* EMU_LIB_H */
