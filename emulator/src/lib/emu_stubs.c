/*
 * emu_stubs.c - VE-SHM, VH-SHM and VE-DMA helpers (veo_veshm.h, veo_vhveshm.h, veo_vedma.h).
 * They only make sense on a real VE, so the emulator exports them with the upstream
 * prototypes and fails the way AVEO does when the VE-side support is missing: errno =
 * ENOTSUP and -1 (or -ENOTSUP for the DMA calls, (void *)-1 for attach/shmat).
 */
#include <errno.h>

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

EMU_EXPORT int veo_shmget(struct veo_proc_handle *proc, key_t key, size_t size, int shmflag) {
  (void)proc, (void)key, (void)size, (void)shmflag;
  emu_stub_fail("veo_shmget");
  return -1;
}

EMU_EXPORT void *veo_shmat(struct veo_proc_handle *proc, int shmid, const void *shmaddr,
                           int shmflag, void **vehva) {
  (void)proc, (void)shmid, (void)shmaddr, (void)shmflag;
  if (!vehva) {
    errno = EFAULT;
    return (void *)-1;
  }
  emu_stub_fail("veo_shmat");
  return (void *)-1;
}

EMU_EXPORT int veo_shmdt(struct veo_proc_handle *proc, const void *shmaddr) {
  (void)proc, (void)shmaddr;
  emu_stub_fail("veo_shmdt");
  return -1;
}

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
