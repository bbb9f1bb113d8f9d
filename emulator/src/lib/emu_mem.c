/*
 * emu_mem.c - VE memory entry points: veo_alloc_mem/veo_free_mem (helper malloc/free on the
 * main context, then the registered hooks; the helper refuses to free anything that is not
 * a live block and the call returns -1), veo_read_mem/veo_write_mem, and the asynchronous
 * ones (veo_async_read_mem/write_mem, veo_alloc_mem_async/free_mem_async). Synchronous
 * transfers go straight between the two address spaces with process_vm_readv/writev
 * (emu_vm.c) once the main context's queue has drained (AVEO orders them behind it); when
 * the kernel refuses that (or VEO_EMU_NO_VM_RW=1), they go through the ring like
 * asynchronous transfers. Entry layer: calls emu_proc.c, emu_ctx.c and the transport.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_lib.h"

EMU_EXPORT int veo_alloc_mem(struct veo_proc_handle *proc, uint64_t *addr, const size_t size) {
  if (!addr) return -1;
  *addr = 0;
  if (!emu_proc_alive(proc)) return -1;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  uint64_t id = emu_ctx_submit(main_ctx, EMU_K_ALLOC, 0, size, 0, 0);
  if (id == VEO_REQUEST_ID_INVALID) return -1;
  uint64_t res = 0;
  if (emu_ctx_wait(main_ctx, id, &res) != VEO_COMMAND_OK || !res) return -1;
  *addr = res;
  struct emu_hook hook;
  if (emu_hook_find((void *)veo_alloc_mem, &hook) == 0)
    hook.hook(hook.payload, proc, addr, (size_t)size);
  return 0;
}

/* 0, also when the proc is dead (AVEO); -1 when the helper refused the free because addr
 * is not the start of a live block (AVEO's VE process would abort or corrupt its heap).
 * The hook runs only after a free that happened. */
EMU_EXPORT int veo_free_mem(struct veo_proc_handle *proc, uint64_t addr) {
  if (!emu_proc_alive(proc)) return 0;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  uint64_t id = emu_ctx_submit(main_ctx, EMU_K_FREE, 0, addr, 0, 0);
  if (id == VEO_REQUEST_ID_INVALID) return 0;
  uint64_t res = 0;
  int st = emu_ctx_wait(main_ctx, id, &res);
  if (st == VEO_COMMAND_ERROR && !atomic_load(&proc->dead)) {
    emu_log_error("veo_free_mem", "%#llx is not the start of a live VE memory block; nothing "
                  "was freed", (unsigned long long)addr);
    return -1;
  }
  struct emu_hook hook;
  if (emu_hook_find((void *)veo_free_mem, &hook) == 0) hook.hook(hook.payload, proc, addr);
  return 0;
}

/* Queues a transfer on ctx; returns the id of its last fragment. */
static uint64_t emu_xfer_submit(struct veo_thr_ctxt *ctx, int kind, uint64_t ve_addr,
                                uint64_t host_addr, size_t size) {
  if (!ctx) return VEO_REQUEST_ID_INVALID;
  if (size == 0) return emu_ctx_submit(ctx, EMU_K_NOP, 0, 0, 0, 0);
  struct emu_shm_hdr *hdr = ctx->proc->hdr;
  if (atomic_load(&ctx->proc->dead) || !hdr) return VEO_REQUEST_ID_INVALID;
  if (ctx->proc->host_vm_ok && size >= EMU_HOST_XFER_MIN)
    return emu_ctx_submit_vh(ctx, kind, EMU_F_HOST_XFER, ve_addr, size, host_addr);
  if (atomic_load(&hdr->helper_vm_ok))
    return emu_ctx_submit(ctx, kind, 0, ve_addr, size, host_addr);
  /* Fallback: the data travels inside the ring, in fragments. */
  uint64_t id = VEO_REQUEST_ID_INVALID;
  emu_ctx_lock(ctx);
  for (size_t off = 0; off < size;) {
    size_t n = size - off < EMU_INLINE_XFER ? size - off : EMU_INLINE_XFER;
    int last = off + n == size;
    struct emu_sidecar *side = kind == EMU_K_READ ? emu_sidecar_new(1) : NULL;
    struct emu_rec *rec = kind == EMU_K_READ && !side ? NULL : emu_ctx_reserve(ctx, n, kind);
    if (!rec) {
      free(side);
      id = VEO_REQUEST_ID_INVALID;
      break;
    }
    if (side)
      side->out[0] = (struct emu_copy_out){host_addr + off, (uint32_t)emu_rec_hdr_size(kind),
                                           (uint32_t)n};
    rec->flags = EMU_F_INLINE | EMU_F_FRAG | (last ? EMU_F_FRAG_LAST : EMU_F_INTERNAL);
    rec->a0 = ve_addr + off;
    emu_rec_ext(rec)->a1 = n;
    emu_rec_ext(rec)->a2 = host_addr + off;
    if (kind == EMU_K_WRITE)
      memcpy(emu_rec_payload(rec), (const char *)(uintptr_t)(host_addr + off), n);
    id = emu_ctx_commit(ctx, rec, side);
    if (id == VEO_REQUEST_ID_INVALID) break;
    off += n;
  }
  emu_ctx_unlock(ctx);
  return id;
}

EMU_EXPORT uint64_t veo_async_read_mem(struct veo_thr_ctxt *ctx, void *dst, uint64_t src,
                                       size_t size) {
  return emu_xfer_submit(ctx, EMU_K_READ, src, (uint64_t)(uintptr_t)dst, size);
}

EMU_EXPORT uint64_t veo_async_write_mem(struct veo_thr_ctxt *ctx, uint64_t dst,
                                        const void *src, size_t size) {
  return emu_xfer_submit(ctx, EMU_K_WRITE, dst, (uint64_t)(uintptr_t)src, size);
}

/* An async alloc/free; with a hook registered the VH thread calls it afterwards. */
static uint64_t emu_memop_submit(struct veo_thr_ctxt *ctx, int kind, void *key, uint64_t a0) {
  if (!ctx) return VEO_REQUEST_ID_INVALID;
  struct emu_hook hook;
  if (emu_hook_find(key, &hook) != 0) return emu_ctx_submit(ctx, kind, 0, a0, 0, 0);
  return emu_ctx_submit_vh(ctx, kind, EMU_F_VH_POST, a0, (uint64_t)(uintptr_t)hook.hook,
                           (uint64_t)(uintptr_t)hook.payload);
}

EMU_EXPORT uint64_t veo_alloc_mem_async(struct veo_thr_ctxt *ctx, const size_t size) {
  return emu_memop_submit(ctx, EMU_K_ALLOC, (void *)veo_alloc_mem_async, size);
}

EMU_EXPORT uint64_t veo_free_mem_async(struct veo_thr_ctxt *ctx, uint64_t addr) {
  return emu_memop_submit(ctx, EMU_K_FREE, (void *)veo_free_mem_async, addr);
}

static int emu_mem_xfer(struct veo_proc_handle *proc, int write, void *host, uint64_t ve,
                        size_t size, const char *func) {
  if (size == 0) return 0;
  if (!emu_proc_alive(proc)) return -1;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  if (proc->host_vm_ok) {
    if (emu_ctx_barrier(main_ctx) != 0) return -1;
    int rc = emu_vm_copy(proc->pid, write, host, ve, size);
    if (rc == 0) return 0;
    if (rc == -1) {
      emu_log_error(func, "cannot access VE memory at %#llx (%zu bytes)",
                    (unsigned long long)ve, size);
      return -1;
    }
    proc->host_vm_ok = 0; /* refused: use the ring from now on */
  }
  uint64_t id = emu_xfer_submit(main_ctx, write ? EMU_K_WRITE : EMU_K_READ, ve,
                                (uint64_t)(uintptr_t)host, size);
  if (id == VEO_REQUEST_ID_INVALID) return -1;
  uint64_t res;
  return emu_ctx_wait(main_ctx, id, &res) == VEO_COMMAND_OK ? 0 : -1;
}

int emu_mem_read(struct veo_proc_handle *proc, void *dst, uint64_t src, size_t size) {
  return emu_mem_xfer(proc, 0, dst, src, size, "veo_read_mem");
}

int emu_mem_write(struct veo_proc_handle *proc, uint64_t dst, const void *src, size_t size) {
  return emu_mem_xfer(proc, 1, (void *)src, dst, size, "veo_write_mem");
}

EMU_EXPORT int veo_read_mem(struct veo_proc_handle *proc, void *dst, uint64_t src,
                            size_t size) {
  return emu_mem_read(proc, dst, src, size);
}

EMU_EXPORT int veo_write_mem(struct veo_proc_handle *proc, uint64_t dst, const void *src,
                             size_t size) {
  return emu_mem_write(proc, dst, src, size);
}
