/*
 * emu_mem.c - synchronous VE memory: veo_alloc_mem/veo_free_mem (helper malloc/free on the
 * main context, then the registered hooks) and veo_read_mem/veo_write_mem. Transfers go
 * straight between the two address spaces with process_vm_readv/writev once the main
 * context's queue has drained (AVEO orders them behind it); when the kernel refuses that
 * (or VEO_EMU_NO_VM_RW=1), they go through the ring like asynchronous transfers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "emu_lib.h"

uint64_t emu_xfer_async_submit(struct veo_thr_ctxt *ctx, int kind, uint64_t ve_addr,
                        uint64_t host_addr, size_t size);

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

EMU_EXPORT int veo_free_mem(struct veo_proc_handle *proc, uint64_t addr) {
  if (!emu_proc_alive(proc)) return 0;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  uint64_t id = emu_ctx_submit(main_ctx, EMU_K_FREE, 0, addr, 0, 0);
  if (id != VEO_REQUEST_ID_INVALID) {
    uint64_t res;
    (void)emu_ctx_wait(main_ctx, id, &res);
  }
  struct emu_hook hook;
  if (emu_hook_find((void *)veo_free_mem, &hook) == 0) hook.hook(hook.payload, proc, addr);
  return 0;
}

/* Moves size bytes with process_vm_*; returns 0, -1 on a bad address, -2 if refused. */
int emu_mem_vm_copy(struct veo_proc_handle *proc, int write, void *host, uint64_t ve,
                    size_t size) {
  while (size > 0) {
    struct iovec local = {host, size};
    struct iovec remote = {(void *)(uintptr_t)ve, size};
    ssize_t n = write ? process_vm_writev(proc->pid, &local, 1, &remote, 1, 0)
                      : process_vm_readv(proc->pid, &local, 1, &remote, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EFAULT) return -1;
      if (errno == ESRCH) return -1;
      return -2;
    }
    if (n == 0) return -1;
    host = (char *)host + n;
    ve += (uint64_t)n;
    size -= (size_t)n;
  }
  return 0;
}

static int emu_mem_xfer(struct veo_proc_handle *proc, int write, void *host, uint64_t ve,
                        size_t size, const char *func) {
  if (size == 0) return 0;
  if (!emu_proc_alive(proc)) return -1;
  struct veo_thr_ctxt *main_ctx = proc->ctx[0];
  if (proc->host_vm_ok) {
    if (emu_ctx_barrier(main_ctx) != 0) return -1;
    int rc = emu_mem_vm_copy(proc, write, host, ve, size);
    if (rc == 0) return 0;
    if (rc == -1) {
      emu_log_error(func, "cannot access VE memory at %#llx (%zu bytes)",
                    (unsigned long long)ve, size);
      return -1;
    }
    proc->host_vm_ok = 0; /* refused: use the ring from now on */
  }
  uint64_t id = emu_xfer_async_submit(main_ctx, write ? EMU_K_WRITE : EMU_K_READ, ve,
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
