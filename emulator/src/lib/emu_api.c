/*
 * emu_api.c - the context, call and library entry points of ve_offload.h. Each builds one
 * or more records for a context's ring (emu_ctx.c) and, for the synchronous proc-level
 * functions, waits on the main context as AVEO does. Entry layer: calls emu_proc.c,
 * emu_ctx.c and the transport; memory entry points live in emu_mem.c and emu_hmem.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_lib.h"
#include "veo_emu.h"

/* ---- contexts ---- */

static struct veo_thr_ctxt *emu_ctx_open(struct veo_proc_handle *proc, size_t stacksize,
                                             const char *func) {
  if (!emu_proc_alive(proc)) {
    emu_log_error(func, "the proc is not alive");
    return NULL;
  }
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  struct veo_thr_ctxt *ctx = NULL;
  emu_ctx_lock(main_ctx);
  if (emu_ctx_barrier(main_ctx) != 0) goto out;
  if (proc->nopen == 0) {
    pthread_mutex_lock(&proc->lock);
    proc->order[proc->nopen++] = main_ctx;
    pthread_mutex_unlock(&proc->lock);
    ctx = main_ctx;
    goto out;
  }
  const char *omp = getenv("VE_OMP_NUM_THREADS");
  if (!omp || strcmp(omp, "1") != 0) {
    emu_log_error(func, "Env variable VE_OMP_NUM_THREADS must be set to 1 when using "
                  "multiple contexts!");
    goto out;
  }
  int idx = -1;
  for (int i = 1; i < EMU_MAX_CTX; i++) {
    if (!proc->ctx[i]) {
      idx = i;
      break;
    }
  }
  if (idx < 0) {
    emu_log_error(func, "too many contexts (at most %d)", EMU_MAX_CTX);
    goto out;
  }
  struct veo_thr_ctxt *nctx = emu_ctx_create(proc, idx);
  if (!nctx) goto out;
  int core = main_ctx->ctl->core >= 0 ? main_ctx->ctl->core + idx : -1;
  /* glibc rounds a thread's stack size down to its alignment: ask for whole pages, so the
   * context's thread gets at least the size the attribute says. */
  long page = sysconf(_SC_PAGESIZE);
  if (page > 0 && stacksize % (size_t)page != 0 && stacksize <= SIZE_MAX - (size_t)page)
    stacksize += (size_t)page - stacksize % (size_t)page;
  nctx->ctl->stacksize = stacksize;
  nctx->ctl->core = core;
  pthread_mutex_lock(&proc->lock);
  proc->ctx[idx] = nctx;
  pthread_mutex_unlock(&proc->lock);
  uint64_t res = 1;
  uint64_t id = emu_ctx_submit(main_ctx, EMU_K_OPEN_CTX, 0, (uint64_t)idx, stacksize,
                               (uint64_t)(int64_t)core);
  int st = id == VEO_REQUEST_ID_INVALID ? VEO_COMMAND_ERROR : emu_ctx_wait(main_ctx, id, &res);
  if (st != VEO_COMMAND_OK || res != 0) {
    emu_log_error(func, "cannot start the context thread");
    pthread_mutex_lock(&proc->lock);
    proc->ctx[idx] = NULL;
    pthread_mutex_unlock(&proc->lock);
    emu_ctx_free(nctx);
    goto out;
  }
  pthread_mutex_lock(&proc->lock);
  proc->order[proc->nopen++] = nctx;
  pthread_mutex_unlock(&proc->lock);
  ctx = nctx;
out:
  emu_ctx_unlock(main_ctx);
  return ctx;
}

EMU_EXPORT struct veo_thr_ctxt *veo_context_open(struct veo_proc_handle *proc) {
  return emu_ctx_open(proc, EMU_DEFAULT_STACK, "veo_context_open");
}

EMU_EXPORT struct veo_thr_ctxt *veo_context_open_with_attr(struct veo_proc_handle *proc,
                                                           struct veo_thr_ctxt_attr *attr) {
  if (!proc || !attr) {
    errno = EINVAL;
    return NULL;
  }
  return emu_ctx_open(proc, attr->stacksize, "veo_context_open_with_attr");
}

EMU_EXPORT int veo_context_close(struct veo_thr_ctxt *ctx) {
  if (!ctx || ctx->index == 0 || atomic_load(&ctx->closed)) return 0;
  return emu_proc_ctx_close(ctx->proc, ctx, emu_now_ns() + emu_grace_ns_get());
}

EMU_EXPORT int veo_get_context_state(struct veo_thr_ctxt *ctx) {
  if (!ctx) return VEO_STATE_UNKNOWN;
  if (atomic_load(&ctx->closed) || atomic_load(&ctx->proc->dead)) return VEO_STATE_EXIT;
  return atomic_load(&ctx->state);
}

EMU_EXPORT void veo_context_sync(struct veo_thr_ctxt *ctx) {
  if (!ctx) return;
  uint64_t id = emu_ctx_submit(ctx, EMU_K_NOP, EMU_F_INTERNAL, 0, 0, 0);
  if (id == VEO_REQUEST_ID_INVALID) return;
  (void)emu_ctx_barrier(ctx);
}

EMU_EXPORT int veo_num_contexts(struct veo_proc_handle *proc) {
  if (!proc) {
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&proc->lock);
  int n = proc->nopen;
  pthread_mutex_unlock(&proc->lock);
  return n;
}

EMU_EXPORT struct veo_thr_ctxt *veo_get_context(struct veo_proc_handle *proc, int idx) {
  if (!proc) return NULL;
  pthread_mutex_lock(&proc->lock);
  struct veo_thr_ctxt *ctx = idx >= 0 && idx < proc->nopen ? proc->order[idx] : NULL;
  pthread_mutex_unlock(&proc->lock);
  if (!ctx) emu_log_error("veo_get_context", "context index %d is out of range", idx);
  return ctx;
}

EMU_EXPORT void veo_req_block_begin(struct veo_thr_ctxt *ctx) {
  if (ctx) emu_ctx_lock(ctx);
}

EMU_EXPORT void veo_req_block_end(struct veo_thr_ctxt *ctx) {
  if (ctx) emu_ctx_unlock(ctx);
}

/* ---- calls ---- */

static int emu_arg_is_stack(uint32_t type) {
  return type == EMU_A_STACK_IN || type == EMU_A_STACK_INOUT || type == EMU_A_STACK_OUT;
}

EMU_EXPORT uint64_t veo_call_async(struct veo_thr_ctxt *ctx, uint64_t addr,
                                   struct veo_args *ca) {
  if (!ctx || !addr) {
    if (ctx) emu_log_error("veo_call_async", "function address is 0");
    return VEO_REQUEST_ID_INVALID;
  }
  int nargs = ca ? ca->nargs : 0;
  uint64_t payload = emu_align_up((uint64_t)nargs * sizeof(struct emu_wire_arg), 16);
  uint32_t nout = 0;
  for (int i = 0; i < nargs; i++) {
    const struct emu_arg *a = &ca->args[i];
    if (a->type == EMU_A_NONE) {
      emu_log_error("veo_call_async", "argument %d was never set", i);
      return VEO_REQUEST_ID_INVALID;
    }
    if (emu_arg_is_stack(a->type)) {
      payload += emu_align_up(a->len, 16);
      if (a->type != EMU_A_STACK_IN && a->len) nout++;
    }
  }
  if (payload + sizeof(struct emu_rec) > EMU_MAX_REC) {
    emu_log_error("veo_call_async", "stack arguments of %llu bytes exceed the %llu MiB "
                  "stack", (unsigned long long)payload, EMU_MAX_REC >> 20);
    return VEO_REQUEST_ID_INVALID;
  }
  /* Where OUT/INOUT data goes when the call completes: kept here, never read back from
   * the ring, which the kernel can write. */
  struct emu_sidecar *side = NULL;
  if (nout && !(side = emu_sidecar_new(nout))) {
    emu_log_error("veo_call_async", "out of memory");
    return VEO_REQUEST_ID_INVALID;
  }
  emu_ctx_lock(ctx);
  struct emu_rec *rec = emu_ctx_reserve(ctx, payload, EMU_K_CALL);
  uint64_t id = VEO_REQUEST_ID_INVALID;
  if (rec) {
    rec->a0 = addr;
    rec->rtype = ca ? (uint32_t)ca->result_type : 0;
    rec->nargs = (uint16_t)nargs;
    if (nout) rec->flags |= EMU_F_HAS_OUT;
    struct emu_wire_arg *wa = emu_rec_payload(rec);
    char *data = (char *)wa + emu_align_up((uint64_t)nargs * sizeof *wa, 16);
    uint32_t o = 0;
    for (int i = 0; i < nargs; i++) {
      const struct emu_arg *a = &ca->args[i];
      wa[i].value = a->value;
      wa[i].type = a->type;
      wa[i].len = a->len;
      if (!emu_arg_is_stack(a->type)) continue;
      if (a->type != EMU_A_STACK_OUT && a->len)
        memcpy(data, (const void *)(uintptr_t)a->value, a->len);
      if (a->type != EMU_A_STACK_IN && a->len)
        side->out[o++] = (struct emu_copy_out){a->value, (uint32_t)(data - (char *)rec), a->len};
      data += emu_align_up(a->len, 16);
    }
    id = emu_ctx_commit(ctx, rec, side);
    side = NULL;
  }
  emu_ctx_unlock(ctx);
  free(side);
  return id;
}

EMU_EXPORT uint64_t veo_call_async_by_name(struct veo_thr_ctxt *ctx, uint64_t libhdl,
                                           const char *symname, struct veo_args *ca) {
  if (!ctx || !symname) return VEO_REQUEST_ID_INVALID;
  uint64_t addr = veo_get_sym(ctx->proc, libhdl, symname);
  if (!addr) return VEO_REQUEST_ID_INVALID;
  return veo_call_async(ctx, addr, ca);
}

EMU_EXPORT uint64_t veo_call_async_vh(struct veo_thr_ctxt *ctx, uint64_t (*func)(void *),
                                      void *arg) {
  if (!ctx || !func) return VEO_REQUEST_ID_INVALID;
  return emu_ctx_submit_vh(ctx, EMU_K_VH, 0, (uint64_t)(uintptr_t)func,
                           (uint64_t)(uintptr_t)arg, 0);
}

EMU_EXPORT int veo_call_peek_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp) {
  if (!ctx) return -1;
  return emu_ctx_peek(ctx, reqid, retp);
}

EMU_EXPORT int veo_emu_notify_fd(struct veo_proc_handle *proc) {
  if (!emu_proc_alive(proc) || !proc->hdr || proc->hdr->notify_fd < 0 || proc->pid <= 0)
    return -1;
  /* A reader of the helper's pipe, opened through /proc (a FIFO open): the library itself
   * holds no descriptor per proc. Kept off fds 0-2, where a dup2 onto stdout would replace
   * it. Fails softly (a restricted /proc): callers then wait the usual way. */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)proc->pid, (int)proc->hdr->notify_fd);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    emu_log_debug("veo_emu_notify_fd", "open %s: %s", path, strerror(errno));
  } else if (fd <= 2) {
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = moved;
  }
  return fd;
}

EMU_EXPORT int veo_emu_wait_result_for(struct veo_thr_ctxt *ctx, uint64_t reqid,
                                       uint64_t *retp, uint64_t timeout_ns) {
  if (!ctx) return -1;
  if (timeout_ns == 0) return emu_ctx_peek(ctx, reqid, retp);
  return emu_ctx_wait_until(ctx, reqid, retp, emu_now_ns() + timeout_ns);
}

EMU_EXPORT int veo_emu_arm(struct veo_thr_ctxt *ctx, uint64_t reqid) {
  if (!ctx) return -1;
  return emu_ctx_arm(ctx, reqid);
}

EMU_EXPORT int veo_call_wait_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp) {
  if (!ctx) return -1;
  return emu_ctx_wait(ctx, reqid, retp);
}

EMU_EXPORT int veo_call_sync(struct veo_proc_handle *proc, uint64_t addr, struct veo_args *ca,
                             uint64_t *result) {
  if (!emu_proc_alive(proc)) return -1;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  uint64_t id = veo_call_async(main_ctx, addr, ca);
  if (id == VEO_REQUEST_ID_INVALID) return -1;
  uint64_t res = 0;
  int st = emu_ctx_wait(main_ctx, id, &res);
  if (st == VEO_COMMAND_OK || st == VEO_COMMAND_EXCEPTION) {
    if (result) *result = res;
  }
  return st == VEO_COMMAND_OK ? 0 : -1;
}

/* ---- libraries and symbols (synchronous, on the main context) ---- */

/* Submits a record whose payload is a NUL-terminated string and waits for it. */
static int emu_string_op_run(struct veo_proc_handle *proc, int kind, uint64_t a0,
                              const char *str, uint64_t *result) {
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  size_t len = strlen(str) + 1;
  emu_ctx_lock(main_ctx);
  struct emu_rec *rec = emu_ctx_reserve(main_ctx, len, kind);
  uint64_t id = VEO_REQUEST_ID_INVALID;
  if (rec) {
    rec->a0 = a0;
    memcpy(emu_rec_payload(rec), str, len);
    id = emu_ctx_commit(main_ctx, rec, NULL);
  }
  int st = id == VEO_REQUEST_ID_INVALID ? -1 : emu_ctx_wait(main_ctx, id, result);
  emu_ctx_unlock(main_ctx);
  return st;
}

EMU_EXPORT uint64_t veo_load_library(struct veo_proc_handle *proc, const char *libname) {
  if (!libname) return 0;
  if (strlen(libname) > VEO_SYMNAME_LEN_MAX) {
    emu_log_error("veo_load_library", "library name too long");
    errno = ENAMETOOLONG;
    return 0;
  }
  if (!emu_proc_alive(proc)) return 0;
  char *path = NULL;
  /* Relative paths are relative to the caller's current directory, now. */
  if (libname[0] != '/' && strchr(libname, '/')) {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) && asprintf(&path, "%s/%s", cwd, libname) < 0) path = NULL;
  }
  uint64_t handle = 0;
  int st = emu_string_op_run(proc, EMU_K_LOAD, 0, path ? path : libname, &handle);
  free(path);
  return st == VEO_COMMAND_OK ? handle : 0;
}

EMU_EXPORT int veo_unload_library(struct veo_proc_handle *proc, const uint64_t libhandle) {
  if (!emu_proc_alive(proc)) return -1;
  pthread_mutex_lock(&proc->lock);
  for (struct emu_sym **pp = &proc->syms; *pp;) {
    if ((*pp)->lib == libhandle) {
      struct emu_sym *dead = *pp;
      *pp = dead->next;
      free(dead);
    } else {
      pp = &(*pp)->next;
    }
  }
  pthread_mutex_unlock(&proc->lock);
  uint64_t id = emu_ctx_submit(proc->ctx[0], EMU_K_UNLOAD, 0, libhandle, 0, 0);
  if (id == VEO_REQUEST_ID_INVALID) return -1;
  uint64_t res = 0;
  int st = emu_ctx_wait(proc->ctx[0], id, &res);
  return st == VEO_COMMAND_OK ? (int)res : 0;
}

EMU_EXPORT uint64_t veo_get_sym(struct veo_proc_handle *proc, uint64_t libhdl,
                                const char *symname) {
  if (!symname) return 0;
  size_t len = strlen(symname);
  if (len > VEO_SYMNAME_LEN_MAX) {
    emu_log_error("veo_get_sym", "symbol name too long");
    errno = ENAMETOOLONG;
    return 0;
  }
  if (!emu_proc_alive(proc)) return 0;
  pthread_mutex_lock(&proc->lock);
  for (struct emu_sym *s = proc->syms; s; s = s->next) {
    if (s->lib == libhdl && !strcmp(s->name, symname)) {
      uint64_t addr = s->addr;
      pthread_mutex_unlock(&proc->lock);
      return addr;
    }
  }
  pthread_mutex_unlock(&proc->lock);
  uint64_t addr = 0;
  int st = emu_string_op_run(proc, EMU_K_SYM, libhdl, symname, &addr);
  if (st != VEO_COMMAND_OK || !addr) return 0;
  struct emu_sym *s = malloc(sizeof *s + len + 1);
  if (s) {
    s->lib = libhdl;
    s->addr = addr;
    memcpy(s->name, symname, len + 1);
    pthread_mutex_lock(&proc->lock);
    s->next = proc->syms;
    proc->syms = s;
    pthread_mutex_unlock(&proc->lock);
  }
  return addr;
}
