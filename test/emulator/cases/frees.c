/*
 * frees.c - bad frees and unloads never kill the VE process (issue #10 item 2). On AVEO a
 * veo_free_mem of anything but a live block aborts the VE process (or corrupts its heap)
 * and still returns 0; the emulator refuses it: -1, the proc stays usable, the free hook
 * does not run. Good frees keep AVEO's behaviour (0, hook). veo_unload_library of a library
 * whose kernel runs on another context returns -1 and leaves it loaded.
 */
#include <pthread.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;
static uint64_t k_hello;
static int free_hooks;

static void free_hook(void *payload, ...) {
  (void)payload;
  free_hooks++;
}

/* The proc still answers. */
static void alive(const char *after) {
  STEP(after);
  CHECK_EQ(CALL_SYNC(proc, k_hello, 1, 41), 42);
}

int main(void) {
  check_watchdog(30);
  STEP("setup");
  proc = PROC(0);
  uint64_t basic = LOAD(proc, "libk_basic.so");
  uint64_t robust = LOAD(proc, "libk_robust.so");
  k_hello = SYM(proc, basic, "hello");
  veo_register_hook((void *)veo_free_mem, free_hook, NULL);

  STEP("a good free: 0 and the hook");
  uint64_t a = 0;
  CHECK_EQ(veo_alloc_mem(proc, &a, 64), 0);
  CHECK_EQ(veo_free_mem(proc, a), 0);
  CHECK_EQ(free_hooks, 1);
  CHECK_EQ(veo_free_mem(proc, 0), 0); /* free(NULL) */
  CHECK_EQ(free_hooks, 2);

  STEP("double free");
  CHECK_EQ(veo_free_mem(proc, a), -1);
  alive("alive after a double free");

  STEP("interior pointer");
  CHECK_EQ(veo_alloc_mem(proc, &a, 64), 0);
  CHECK_EQ(veo_free_mem(proc, a + 8), -1);
  alive("alive after an interior free");
  CHECK_EQ(veo_free_mem(proc, a), 0);

  STEP("never allocated");
  CHECK_EQ(veo_free_mem(proc, 0x12345670), -1);
  CHECK_EQ(veo_free_mem(proc, 0x7fff00001000ULL), -1);
  alive("alive after freeing addresses never allocated");

  STEP("a data symbol");
  uint64_t data = SYM(proc, robust, "robust_data");
  CHECK_EQ(veo_free_mem(proc, data), -1);
  uint64_t v = 0;
  CHECK_EQ(veo_read_mem(proc, &v, data + 8, sizeof v), 0);
  CHECK_EQ(v, 2);
  alive("alive after freeing a data symbol");
  CHECK_EQ(free_hooks, 3); /* only the good frees */

  STEP("kernel malloc memory is freed by veo_free_mem");
  uint64_t km = CALL_SYNC(proc, SYM(proc, basic, "vemalloc"), 1, 100);
  CHECK(km != 0);
  CHECK_EQ(veo_free_mem(proc, km), 0);
  CHECK_EQ(veo_free_mem(proc, km), -1);
  STEP("veo_alloc_mem memory a kernel freed is gone");
  CHECK_EQ(veo_alloc_mem(proc, &a, 100), 0);
  CALL_SYNC(proc, SYM(proc, basic, "vefree"), 1, a);
  CHECK_EQ(veo_free_mem(proc, a), -1);
  alive("alive after the kernel-freed block");

  STEP("asynchronous frees");
  struct veo_thr_ctxt *ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  CHECK_EQ(veo_alloc_mem(proc, &a, 32), 0);
  uint64_t bad = veo_free_mem_async(ctx, a + 16);
  uint64_t good = veo_free_mem_async(ctx, a);
  uint64_t again = veo_free_mem_async(ctx, a);
  WAIT_STATUS(ctx, bad, VEO_COMMAND_ERROR);
  WAIT_OK(ctx, good);
  WAIT_STATUS(ctx, again, VEO_COMMAND_ERROR);
  CHECK_EQ(CALL(ctx, k_hello, 1, 1), 2);

  STEP("veo_free_hmem twice");
  void *h = NULL;
  CHECK_EQ(veo_alloc_hmem(proc, &h, 64), 0);
  CHECK_EQ(veo_free_hmem((char *)h + 8), -1);
  CHECK_EQ(veo_free_hmem(h), 0);
  CHECK_EQ(veo_free_hmem(h), -1);
  alive("alive after freeing HMEM twice");

  STEP("unload while a kernel of the library runs on another context");
  char gate[4096];
  snprintf(gate, sizeof gate, "%s/frees-gate-%d", kpath(""), (int)getpid());
  unlink(gate);
  struct veo_args *ga = veo_args_alloc();
  CHECK_EQ(veo_args_set_stack(ga, VEO_INTENT_IN, 0, gate, strlen(gate) + 1), 0);
  struct veo_thr_ctxt *xctx = OPEN_EXTRA(proc);
  uint64_t running = veo_call_async(xctx, SYM(proc, robust, "gate"), ga);
  CHECK(running != VEO_REQUEST_ID_INVALID);
  veo_args_free(ga);
  STEP("wait until the kernel runs");
  char started[4200];
  snprintf(started, sizeof started, "%s.started", gate);
  while (access(started, F_OK) != 0) sleep_ms(2);
  STEP("the unload is refused");
  CHECK_EQ(veo_unload_library(proc, robust), -1);
  alive("alive after the refused unload");
  STEP("the kernel completes");
  FILE *f = fopen(gate, "w");
  CHECK(f != NULL);
  fclose(f);
  CHECK_EQ(WAIT_OK(xctx, running), 1);
  unlink(gate);
  unlink(started);
  STEP("unload once idle");
  CHECK_EQ(veo_unload_library(proc, robust), 0);
  STEP("a stale or unknown library handle fails softly");
  CHECK_EQ(veo_unload_library(proc, robust), -1);
  CHECK_EQ(veo_get_sym(proc, robust, "gate"), 0);
  CHECK_EQ(veo_get_sym(proc, 0x1234567, "gate"), 0);
  CHECK_EQ(veo_unload_library(proc, 0x1234567), -1);
  alive("alive after stale handles");

  STEP("close and destroy");
  veo_unregister_hook((void *)veo_free_mem);
  CHECK_EQ(veo_context_close(xctx), 0);
  CHECK_EQ(veo_context_close(ctx), 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("frees: OK\n");
  return 0;
}
