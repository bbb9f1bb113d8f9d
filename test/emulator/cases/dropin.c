/*
 * dropin.c - the emulator's headers are drop-ins for upstream's (issue #11). This program
 * is written the way a client of upstream AVEO is: it includes only the VEO headers and
 * relies on what upstream's include (<unistd.h>, <stdint.h>, <sys/types.h> from
 * ve_offload.h; <stdio.h>, <stdlib.h>, <signal.h> from veo_vhveshm.h, veo_veshm.h and
 * veo_vedma.h), the VH-SHM prototypes in veo_vhveshm.h, the VE-DMA ones in veo_vedma.h,
 * the VE-SHM flags in veo_veshm_defs.h and CMD_VEGDB/CMD_XTERM. The runner compiles it with
 * -std=c11 -Werror=implicit-function-declaration (no check.h: that one is gnu11).
 */
#include <ve_offload.h>
#include <veo_hmem.h>
#include <veo_vedma.h>
#include <veo_veshm.h>
#include <veo_vhveshm.h>

#define FAIL(what)                                 \
  do {                                             \
    fprintf(stderr, "dropin: %s failed\n", what); \
    exit(1);                                       \
  } while (0)

int main(void) {
  const char *dir = getenv("VEO_TEST_KDIR");
  if (!dir) FAIL("VEO_TEST_KDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/libk_basic.so", dir);
  if (getpid() <= 0) FAIL("getpid"); /* <unistd.h> */
  if (CMD_VEGDB[0] != '/' || CMD_XTERM[0] != '/') FAIL("CMD_*");

  struct veo_proc_handle *proc = veo_proc_create(0);
  if (!proc) FAIL("veo_proc_create");
  uint64_t lib = veo_load_library(proc, path);
  if (!lib) FAIL("veo_load_library");
  struct veo_thr_ctxt *ctx = veo_context_open(proc);
  struct veo_args *args = veo_args_alloc();
  veo_args_set_i32(args, 0, 41);
  uint64_t id = veo_call_async_by_name(ctx, lib, "hello", args);
  uint64_t result = 0;
  if (veo_call_wait_result(ctx, id, &result) != VEO_COMMAND_OK || result != 42) FAIL("call");
  veo_args_free(args);

  /* VH-SHM, VE-SHM and VE-DMA compile and fail on the emulator. */
  key_t key = 1234;
  if (veo_shmget(proc, key, 4096, 0) != -1) FAIL("veo_shmget");
  if (veo_shared_mem_open(NULL, 0, 0, VE_REGISTER_VEMVA | VE_SHM_RO) != -1)
    FAIL("veo_shared_mem_open");
  ve_dma_handle_t handle;
  if (veo_dma_post(proc, 0, 0, 8, &handle) >= 0) FAIL("veo_dma_post");
  void *hmem = veo_set_proc_identifier((void *)0x1000, veo_proc_identifier(proc));
  if (!veo_is_ve_addr(hmem)) FAIL("veo_is_ve_addr");
  if (raise(0) != 0) FAIL("raise"); /* <signal.h> */

  veo_context_close(ctx);
  veo_proc_destroy(proc);
  printf("dropin: OK\n");
  return 0;
}
