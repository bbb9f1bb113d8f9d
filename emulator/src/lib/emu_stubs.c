/*
 * emu_stubs.c - VE-SHM, VH-SHM and VE-DMA helpers (veo_veshm.h, veo_vhveshm.h, veo_vedma.h).
 * VH-SHM is System V shared memory of the host attached by the VE process: the emulator does
 * exactly that, running shmget/shmat/shmdt in the helper. VE-SHM and VE-DMA need a VE's
 * memory registration and DMA engine, so those fail the way AVEO does when the VE-side
 * support is missing: errno = ENOTSUP and -1 (-ENOTSUP for the DMA calls, (void *)-1 for
 * veo_shared_mem_attach).
 */
#include <errno.h>
#include <stdint.h>

#include "emu_lib.h"
#include "veo_vedma.h"
#include "veo_veshm.h"
#include "veo_vhveshm.h"

static void emu_stub_fail(const char *func) {
  emu_log_debug(func, "not supported by the emulator");
  errno = ENOTSUP;
}

EMU_EXPORT int veo_shared_mem_open(void *hmem, size_t size, int syncnum, long long mode) {
  (void)hmem, (void)size, (void)syncnum, (void)mode;
  emu_stub_fail("veo_shared_mem_open");
  return -1;
}

EMU_EXPORT int veo_shared_mem_close(void *hmem, size_t size, int syncnum, long long mode) {
  (void)hmem, (void)size, (void)syncnum, (void)mode;
  emu_stub_fail("veo_shared_mem_close");
  return -1;
}

EMU_EXPORT void *veo_shared_mem_attach(struct veo_proc_handle *proc, pid_t pid, void *hmem,
                                       size_t size, int syncnum, long long mode) {
  (void)proc, (void)pid, (void)hmem, (void)size, (void)syncnum, (void)mode;
  emu_stub_fail("veo_shared_mem_attach");
  return (void *)-1;
}

EMU_EXPORT int veo_shared_mem_detach(struct veo_proc_handle *proc, void *hmem, long long mode) {
  (void)proc, (void)hmem, (void)mode;
  emu_stub_fail("veo_shared_mem_detach");
  return -1;
}

/* ---- VH-SHM: System V shared memory of the host, attached by the helper ---- */

/*
 * AVEO runs shmget/shmat/shmdt in the VE process (a VE syscall that VEOS forwards to the VH
 * kernel). The emulator's "VE process" is a host process, so it runs the same libc calls in
 * the helper, synchronously on the main context, and brings the helper's errno back.
 */
static uint64_t emu_shm_libc(struct veo_proc_handle *proc) {
  return veo_load_library(proc, "libc.so.6");
}

/* Calls libc's `name` in the helper with `n` integer arguments; sets errno from the helper's
 * errno when it failed (an int -1, or (void *)-1 when `pointer`). Returns the result, or the
 * failure value with errno = EBUSY when the call itself could not be made (AVEO's
 * convention). An int result comes back as the raw register: only its low 32 bits count. */
static uint64_t emu_shm_call(struct veo_proc_handle *proc, const char *name, int n,
                             const uint64_t *argv, int pointer) {
  uint64_t fail = pointer ? UINT64_MAX : (uint64_t)(int64_t)-1;
  uint64_t libc = emu_shm_libc(proc);
  uint64_t fn = libc ? veo_get_sym(proc, libc, name) : 0;
  uint64_t err_fn = libc ? veo_get_sym(proc, libc, "__errno_location") : 0;
  struct veo_args *ca = fn && err_fn ? veo_args_alloc() : NULL;
  if (!ca) {
    errno = EBUSY;
    return fail;
  }
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) rc = veo_args_set_u64(ca, i, argv[i]);
  uint64_t res = fail;
  if (rc == 0) rc = veo_call_sync(proc, fn, ca, &res);
  if (rc == 0 && !pointer) res = (uint64_t)(int64_t)(int32_t)res;
  int helper_errno = 0;
  if (rc == 0 && res == fail) {
    /* The main context runs on one helper thread: its errno is still the call's. */
    uint64_t where = 0;
    veo_args_clear(ca);
    if (veo_call_sync(proc, err_fn, ca, &where) != 0 || !where ||
        veo_read_mem(proc, &helper_errno, where, sizeof helper_errno) != 0)
      helper_errno = EBUSY;
  }
  veo_args_free(ca);
  if (rc != 0) {
    errno = EBUSY;
    return fail;
  }
  if (res == fail) errno = helper_errno;
  return res;
}

EMU_EXPORT int veo_shmget(struct veo_proc_handle *proc, key_t key, size_t size, int shmflag) {
  if (!emu_proc_alive(proc)) {
    errno = EBUSY;
    return -1;
  }
  const uint64_t argv[] = {(uint64_t)(int64_t)key, size, (uint64_t)(int64_t)shmflag};
  return (int)emu_shm_call(proc, "shmget", 3, argv, 0);
}

/* The attached address in the helper; *vehva = (void *)-1: the emulator has no VE host
 * virtual addresses (no VE DMA engine; the VeoDma functions fail with ENOTSUP). */
EMU_EXPORT void *veo_shmat(struct veo_proc_handle *proc, int shmid, const void *shmaddr,
                           int shmflag, void **vehva) {
  if (!vehva) {
    errno = EFAULT;
    return (void *)-1;
  }
  if (!emu_proc_alive(proc)) {
    errno = EBUSY;
    return (void *)-1;
  }
  const uint64_t argv[] = {(uint64_t)(int64_t)shmid, (uint64_t)(uintptr_t)shmaddr,
                           (uint64_t)(int64_t)shmflag};
  uint64_t addr = emu_shm_call(proc, "shmat", 3, argv, 1);
  *vehva = (void *)-1;
  return (void *)(uintptr_t)addr;
}

EMU_EXPORT int veo_shmdt(struct veo_proc_handle *proc, const void *shmaddr) {
  if (!emu_proc_alive(proc)) {
    errno = EBUSY;
    return -1;
  }
  const uint64_t argv[] = {(uint64_t)(uintptr_t)shmaddr};
  return (int)emu_shm_call(proc, "shmdt", 1, argv, 0);
}

/* ---- VE-DMA ---- */

EMU_EXPORT int veo_dma_post(struct veo_proc_handle *proc, uint64_t dst, uint64_t src,
                            int size, ve_dma_handle_t *handle) {
  (void)proc, (void)dst, (void)src, (void)size;
  if (!handle) return -EFAULT;
  emu_stub_fail("veo_dma_post");
  return -ENOTSUP;
}

EMU_EXPORT int veo_dma_poll(struct veo_proc_handle *proc, ve_dma_handle_t *handle) {
  (void)proc;
  if (!handle) return -EFAULT;
  emu_stub_fail("veo_dma_poll");
  return -ENOTSUP;
}

EMU_EXPORT int veo_dma_post_wait(struct veo_proc_handle *proc, uint64_t dst, uint64_t src,
                                 int size) {
  (void)proc, (void)dst, (void)src, (void)size;
  emu_stub_fail("veo_dma_post_wait");
  return -ENOTSUP;
}

EMU_EXPORT uint64_t veo_register_mem_to_dmaatb(void *hmem, size_t size) {
  (void)hmem, (void)size;
  emu_stub_fail("veo_register_mem_to_dmaatb");
  return (uint64_t)-1;
}

EMU_EXPORT int veo_unregister_mem_from_dmaatb(struct veo_proc_handle *proc, uint64_t vehva) {
  (void)proc, (void)vehva;
  emu_stub_fail("veo_unregister_mem_from_dmaatb");
  return -1;
}

EMU_EXPORT void veo_access_pcircvsyc_register(struct veo_proc_handle *proc) {
  (void)proc;
  emu_stub_fail("veo_access_pcircvsyc_register");
}
