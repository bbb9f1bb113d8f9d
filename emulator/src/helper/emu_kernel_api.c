/*
 * emu_kernel_api.c - functions an emulated kernel can call, as a VE kernel would from
 * libaveoVE / libveohmem: veo_prev_req_result and the HMEM address helpers. veorun is
 * linked with -rdynamic, so kernels loaded with dlopen resolve them here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "emu_helper.h"
#include "emu_hmem_addr.h"

#define EMU_API __attribute__((visibility("default")))

EMU_API int veo_prev_req_result(int offs, uint64_t *result) {
  struct emu_thread *t = emu_self;
  if (!t || !result || offs < 0 || offs >= EMU_PREV_MAX || (uint64_t)offs >= t->nprev)
    return -1;
  *result = t->prev[(t->nprev - 1 - (uint64_t)offs) % EMU_PREV_MAX];
  return 0;
}

EMU_API int veo_is_ve_addr(const void *addr) {
  return emu_hmem_addr_is_ve((uint64_t)(uintptr_t)addr);
}

EMU_API void *veo_get_hmem_addr(void *addr) {
  return (void *)(uintptr_t)emu_hmem_addr_strip((uint64_t)(uintptr_t)addr);
}

EMU_API int veo_get_max_proc_identifier(void) { return EMU_HMEM_MAX_PROCS; }

EMU_API int veo_get_proc_identifier_from_hmem(const void *addr) {
  return emu_hmem_ident_get((uint64_t)(uintptr_t)addr);
}

EMU_API long syscall_wrapper(int num, long a1, long a2, long a3, long a4, long a5, long a6) {
  long rc = syscall(num, a1, a2, a3, a4, a5, a6);
  return rc < 0 ? -errno : rc;
}
