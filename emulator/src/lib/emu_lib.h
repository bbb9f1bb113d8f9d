/*
 * emu_lib.h - internal header of the host library (libveo.so.1): the real structures behind
 * the opaque veo_* handles, and the functions the lib's files share. Never installed.
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

/* One request's host-side bookkeeping: 16 bytes, in a ring indexed by request id. */
struct emu_slot {
  uint64_t value;    /* ring end position while pending, the result once done */
  uint32_t state;    /* VEO_COMMAND_* once done */
  uint32_t flags;    /* EMU_SLOT_* */
};
#define EMU_SLOT_PENDING 1u
#define EMU_SLOT_DONE 2u
#define EMU_SLOT_COLLECTED 4u

struct veo_thr_ctxt {
  struct veo_proc_handle *proc;
  int index;                       /* 0 = main context */
  struct emu_ctx_ctl *ctl;
  char *ring;
  pthread_mutex_t lock;            /* recursive: submission, drain, request table */
  _Atomic int state;               /* VEO_STATE_RUNNING / VEO_STATE_EXIT */
  uint64_t head;                   /* host copy of ctl->head */
  uint64_t release;                /* drained up to here */
  uint64_t punched;                /* ring bytes returned to the kernel up to here */
  /* request table */
  struct emu_slot *slots;
  uint64_t cap;                    /* power of two */
  uint64_t base_id;                /* ids below are collected */
  uint64_t next_id;
  uint64_t drain_id;               /* id of the next record to drain */
  /* VH thread (lazy) */
  pthread_t vh_thread;
  int vh_started;
  /* lifetime: a closed context keeps its struct (stale handles fail softly) */
  _Atomic int refs;                /* threads inside an API call on this context */
  _Atomic int closed;
};

struct veo_proc_handle {
  int node;                        /* -1 once destroyed */
  int ident;
  pid_t pid;                       /* helper pid */
  pid_t host_pid;                  /* getpid() at creation (fork safety) */
  int shm_fd;
  struct emu_shm_hdr *hdr;
  char *shm;
  _Atomic int dead;                /* helper gone */
  _Atomic int destroyed;
  int host_vm_ok;                  /* process_vm_readv/writev into the helper works */
  pthread_t monitor;
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

/* emu_log.c */
void emu_log_error(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void emu_log_debug(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* emu_proc.c */
int emu_node_resolve(int venode, int *physical);
void emu_proc_mark_dead(struct veo_proc_handle *proc);
struct veo_proc_handle *emu_proc_from_ident(int ident);
int emu_proc_alive(struct veo_proc_handle *proc);

/* emu_ctx.c */
struct veo_thr_ctxt *emu_ctx_create(struct veo_proc_handle *proc, int index);
/* Frees a context that was never used (failed open). */
void emu_ctx_destroy(struct veo_thr_ctxt *ctx);
/* Ends a context: queues EXIT behind everything pending, waits up to timeout_ns for it
 * (the helper's thread exits; for the main context the helper exits), then retires it:
 * later calls on the handle fail, threads still inside are woken and waited for.
 * Returns 0, or -1 on timeout (the ring stays reserved). */
int emu_ctx_close(struct veo_thr_ctxt *ctx, int64_t timeout_ns);
/* Retires without sending EXIT (the helper is gone). */
void emu_ctx_retire(struct veo_thr_ctxt *ctx, int reusable);
/* Reserves a record of `payload` bytes at the tail of the ring (ctx locked by caller).
 * Returns NULL (logged) if the context is dead or the record too large. */
struct emu_rec *emu_ctx_reserve(struct veo_thr_ctxt *ctx, uint64_t payload, int kind);
/* Publishes the reserved record, assigns its id (ctx locked). */
uint64_t emu_ctx_commit(struct veo_thr_ctxt *ctx, struct emu_rec *rec);
void emu_ctx_lock(struct veo_thr_ctxt *ctx);
void emu_ctx_unlock(struct veo_thr_ctxt *ctx);
/* Simple submissions without payload. Returns the id or VEO_REQUEST_ID_INVALID. */
uint64_t emu_ctx_submit(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                        uint64_t a1, uint64_t a2);
int emu_ctx_wait(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result);
int emu_ctx_peek(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result);
/* Waits until every request submitted so far has completed (no id consumed on a quiet
 * context). Returns 0, or -1 if the helper is dead. */
int emu_ctx_barrier(struct veo_thr_ctxt *ctx);
void emu_ctx_wake_all(struct veo_thr_ctxt *ctx);
int emu_ctx_ensure_vh(struct veo_thr_ctxt *ctx);
void emu_ctx_stop_vh(struct veo_thr_ctxt *ctx);

/* emu_hmem.c (hooks) */
struct emu_hook {
  void (*hook)(void *, ...);
  void *payload;
};
int emu_hook_find(void *func, struct emu_hook *out);

/* emu_mem.c */
/* process_vm_* copy between host memory and the helper: 0, -1 bad address, -2 refused. */
int emu_mem_vm_copy(struct veo_proc_handle *proc, int write, void *host, uint64_t ve,
                    size_t size);
int emu_mem_read(struct veo_proc_handle *proc, void *dst, uint64_t src, size_t size);
int emu_mem_write(struct veo_proc_handle *proc, uint64_t dst, const void *src, size_t size);

#endif /* EMU_LIB_H */
