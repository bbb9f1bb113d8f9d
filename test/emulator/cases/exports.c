/*
 * exports.c - the library exports the whole AVEO API 16 (81 functions, spec §0), the
 * emulator extensions, reports API 16 and an emulator version string; the VE-SHM/DMA
 * helpers that cannot work without a VE are stubs failing with ENOTSUP, and VH-SHM runs in
 * the helper with its errno brought back.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "../helpers.h"

static const char *const api16[] = {
    /* ve_offload.h */
    "veo_api_version", "veo_version_string", "veo_proc_create", "veo_proc_create_static",
    "veo_proc_destroy", "veo_proc_identifier", "veo_set_proc_identifier", "veo_load_library",
    "veo_unload_library", "veo_get_sym", "veo_alloc_mem", "veo_free_mem", "veo_read_mem",
    "veo_write_mem", "veo_context_open", "veo_context_open_with_attr", "veo_context_close",
    "veo_get_context_state", "veo_context_sync", "veo_num_contexts", "veo_get_context",
    "veo_alloc_thr_ctxt_attr", "veo_free_thr_ctxt_attr", "veo_set_thr_ctxt_stacksize",
    "veo_get_thr_ctxt_stacksize", "veo_args_alloc", "veo_args_set_i64", "veo_args_set_u64",
    "veo_args_set_i32", "veo_args_set_u32", "veo_args_set_i16", "veo_args_set_u16",
    "veo_args_set_i8", "veo_args_set_u8", "veo_args_set_double", "veo_args_set_float",
    "veo_args_set_stack", "veo_args_set_hmem", "veo_args_clear", "veo_args_free",
    "veo_call_sync", "veo_call_async", "veo_call_async_by_name", "veo_call_async_vh",
    "veo_call_peek_result", "veo_call_wait_result", "veo_async_read_mem",
    "veo_async_write_mem", "veo_alloc_mem_async", "veo_free_mem_async",
    "veo_req_block_begin", "veo_req_block_end", "veo_register_hook", "veo_get_hook",
    "veo_unregister_hook", "veo_register_hmem_hook_functions",
    "veo_unregister_hmem_hook_functions", "veo_alloc_hmem", "veo_free_hmem", "veo_hmemcpy",
    "veo_get_proc_handle_from_hmem", "veo_get_pid_from_hmem", "veo_get_venum_from_hmem",
    "veo_get_ve_arch",
    /* veo_hmem.h */
    "veo_is_ve_addr", "veo_get_hmem_addr", "veo_get_max_proc_identifier",
    "veo_get_proc_identifier_from_hmem",
    /* VE-SHM / VH-SHM / VE-DMA helpers */
    "veo_shared_mem_open", "veo_shared_mem_close", "veo_shared_mem_attach",
    "veo_shared_mem_detach", "veo_shmget", "veo_shmat", "veo_shmdt", "veo_dma_post",
    "veo_dma_poll", "veo_dma_post_wait", "veo_register_mem_to_dmaatb",
    "veo_unregister_mem_from_dmaatb", "veo_access_pcircvsyc_register",
};

static const char *const extensions[] = {"veo_emu_args_set_result_type", "veo_emu_proc_pid",
                                         "veo_emu_proc_tie_thread", "veo_emu_is_emulator",
                                         "veo_emu_notify_fd", "veo_emu_arm",
                                         "veo_emu_wait_result_for"};

typedef struct {
  int status;
  int index;
} dma_handle;

int main(void) {
  check_watchdog(20);
  STEP("dlopen");
  const char *lib = getenv("VEO_TEST_LIBRARY");
  CHECK(lib != NULL);
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) CHECK_FAIL_("dlopen(%s): %s", lib, dlerror());

  STEP("exports");
  CHECK_EQ(sizeof api16 / sizeof api16[0], 81);
  int missing = 0;
  for (size_t i = 0; i < sizeof api16 / sizeof api16[0]; i++)
    if (!dlsym(h, api16[i])) {
      fprintf(stderr, "missing export: %s\n", api16[i]);
      missing++;
    }
  for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
    if (!dlsym(h, extensions[i])) {
      fprintf(stderr, "missing extension: %s\n", extensions[i]);
      missing++;
    }
  CHECK_EQ(missing, 0);

  STEP("version");
  CHECK_EQ(veo_api_version(), 16);
  CHECK_EQ(VEO_API_VERSION, 16);
  const char *v = veo_version_string();
  CHECK(v != NULL);
  printf("version string: %s\n", v);
  CHECK(strcasestr(v, "emulat") != NULL);
  CHECK_EQ(veo_emu_is_emulator(), 1);
  CHECK_EQ(veo_get_max_proc_identifier(), 16);

  /* The stubs, called through dlsym with their upstream prototypes (spec §3.14). */
  STEP("ve-shm stubs");
  int (*shm_open_)(void *, size_t, int, long long) = dlsym(h, "veo_shared_mem_open");
  int (*shm_close_)(void *, size_t, int, long long) = dlsym(h, "veo_shared_mem_close");
  void *(*shm_attach_)(struct veo_proc_handle *, pid_t, void *, size_t, int, long long) =
      dlsym(h, "veo_shared_mem_attach");
  int (*shm_detach_)(struct veo_proc_handle *, void *, long long) =
      dlsym(h, "veo_shared_mem_detach");
  int (*shmget_)(struct veo_proc_handle *, key_t, size_t, int) = dlsym(h, "veo_shmget");
  void *(*shmat_)(struct veo_proc_handle *, int, const void *, int, void **) =
      dlsym(h, "veo_shmat");
  int (*shmdt_)(struct veo_proc_handle *, const void *) = dlsym(h, "veo_shmdt");
  int (*dma_post_)(struct veo_proc_handle *, uint64_t, uint64_t, int, dma_handle *) =
      dlsym(h, "veo_dma_post");
  int (*dma_poll_)(struct veo_proc_handle *, dma_handle *) = dlsym(h, "veo_dma_poll");
  int (*dma_post_wait_)(struct veo_proc_handle *, uint64_t, uint64_t, int) =
      dlsym(h, "veo_dma_post_wait");
  uint64_t (*reg_dmaatb_)(void *, size_t) = dlsym(h, "veo_register_mem_to_dmaatb");
  int (*unreg_dmaatb_)(struct veo_proc_handle *, uint64_t) =
      dlsym(h, "veo_unregister_mem_from_dmaatb");
  void (*pcircvsyc_)(struct veo_proc_handle *) = dlsym(h, "veo_access_pcircvsyc_register");

  struct veo_proc_handle *proc = PROC(0);
  uint64_t vemem = 0;
  CHECK_EQ(veo_alloc_mem(proc, &vemem, 4096), 0);
  void *hmem = veo_set_proc_identifier((void *)vemem, veo_proc_identifier(proc));
  dma_handle dh = {0, 0};
  void *vehva = NULL;

#define EXPECT_ENOTSUP(call)                                                                \
  do {                                                                                      \
    errno = 0;                                                                              \
    long long rc_ = (long long)(call);                                                      \
    if (!(rc_ == -1 && errno == ENOTSUP) && rc_ != -ENOTSUP)                                \
      CHECK_FAIL_("%s: returned %lld errno %d, expected -1/ENOTSUP", #call, rc_, errno);    \
  } while (0)
  EXPECT_ENOTSUP(shm_open_(hmem, 4096, 0, 0));
  EXPECT_ENOTSUP(shm_close_(hmem, 4096, 0, 0));
  EXPECT_ENOTSUP(shm_detach_(proc, hmem, 0));
  EXPECT_ENOTSUP(dma_post_(proc, vemem, vemem, 8, &dh));
  EXPECT_ENOTSUP(dma_poll_(proc, &dh));
  EXPECT_ENOTSUP(dma_post_wait_(proc, vemem, vemem, 8));
  EXPECT_ENOTSUP(unreg_dmaatb_(proc, 0x1000));
  errno = 0;
  void *att = shm_attach_(proc, getpid(), hmem, 4096, 0, 0);
  CHECK(att == NULL || att == (void *)-1);
  CHECK_EQ(errno, ENOTSUP);
  STEP("vh-shm: the helper's shmget/shmat/shmdt, its errno");
  errno = 0;
  CHECK_EQ(shmget_(proc, 0x7eed1234, 4096, 0), -1); /* no such key, no IPC_CREAT */
  CHECK_EQ(errno, ENOENT);
  errno = 0;
  CHECK_EQ(shmdt_(proc, hmem), -1); /* nothing is attached there */
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK(shmat_(proc, -1, NULL, 0, &vehva) == (void *)-1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK(shmat_(proc, 1, NULL, 0, NULL) == (void *)-1);
  CHECK_EQ(errno, EFAULT);
  errno = 0;
  CHECK_EQ(reg_dmaatb_(hmem, 4096), (uint64_t)-1);
  CHECK_EQ(errno, ENOTSUP);
  pcircvsyc_(proc); /* fire and forget: must simply return */

  STEP("proc still works after the stubs");
  uint64_t x = 0x1122334455667788ULL, y = 0;
  CHECK_EQ(veo_write_mem(proc, vemem, &x, 8), 0);
  CHECK_EQ(veo_read_mem(proc, &y, vemem, 8), 0);
  CHECK_EQ(y, x);
  CHECK_EQ(veo_free_mem(proc, vemem), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("exports: OK\n");
  return 0;
}
