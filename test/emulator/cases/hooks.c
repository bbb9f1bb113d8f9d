/*
 * hooks.c - hooks (spec §3.11): veo_register_hook / veo_get_hook / veo_unregister_hook on
 * the veo_alloc_mem, veo_free_mem, veo_alloc_mem_async, veo_free_mem_async, veo_alloc_hmem
 * and veo_free_hmem keys with their documented varargs, and
 * veo_register_hmem_hook_functions (HMEM addresses of the owning proc).
 */
#include <pthread.h>
#include <stdarg.h>

#include "../helpers.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *ctx;
static int payload_obj;

static int alloc_calls, free_calls, aalloc_calls, afree_calls, halloc_calls, hfree_calls;
static uint64_t seen_addr, seen_size, seen_free, seen_aaddr, seen_asize, seen_afree;
static void *seen_hmem, *seen_hfree;
static int bad; /* set by hooks when an argument is wrong */

#define HOOK_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: hook argument check failed: %s\n", __FILE__, __LINE__,        \
              #cond);                                                                       \
      bad = 1;                                                                              \
    }                                                                                       \
  } while (0)

static void alloc_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *p = va_arg(ap, struct veo_proc_handle *);
  uint64_t *addr = va_arg(ap, uint64_t *);
  size_t size = va_arg(ap, size_t);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(p == proc);
  HOOK_CHECK(addr != NULL);
  seen_addr = *addr;
  seen_size = size;
  alloc_calls++;
}

static void free_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *p = va_arg(ap, struct veo_proc_handle *);
  uint64_t addr = va_arg(ap, uint64_t);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(p == proc);
  seen_free = addr;
  free_calls++;
}

static void aalloc_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_thr_ctxt *c = va_arg(ap, struct veo_thr_ctxt *);
  uint64_t addr = va_arg(ap, uint64_t);
  size_t size = va_arg(ap, size_t);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(c == ctx);
  HOOK_CHECK(veo_get_context_state(c) == VEO_STATE_RUNNING);
  HOOK_CHECK(!veo_is_ve_addr((void *)addr));
  seen_aaddr = addr;
  seen_asize = size;
  __atomic_add_fetch(&aalloc_calls, 1, __ATOMIC_SEQ_CST);
}

static void afree_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_thr_ctxt *c = va_arg(ap, struct veo_thr_ctxt *);
  uint64_t addr = va_arg(ap, uint64_t);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(c == ctx);
  seen_afree = addr;
  __atomic_add_fetch(&afree_calls, 1, __ATOMIC_SEQ_CST);
}

static void halloc_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *p = va_arg(ap, struct veo_proc_handle *);
  void *hmem = va_arg(ap, void *);
  size_t size = va_arg(ap, size_t);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(p == proc);
  HOOK_CHECK(size == 3000);
  seen_hmem = hmem;
  halloc_calls++;
}

static void hfree_hook(void *payload, ...) {
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *p = va_arg(ap, struct veo_proc_handle *);
  void *hmem = va_arg(ap, void *);
  va_end(ap);
  HOOK_CHECK(payload == &payload_obj);
  HOOK_CHECK(p == proc);
  seen_hfree = hmem;
  hfree_calls++;
}

static int hm_alloc_calls, hm_free_calls;
static void *hm_alloc_addr;
static size_t hm_alloc_size;
static uint64_t hm_free_addr;
static void hm_alloc(void *hmem, size_t size) {
  hm_alloc_addr = hmem;
  hm_alloc_size = size;
  __atomic_add_fetch(&hm_alloc_calls, 1, __ATOMIC_SEQ_CST);
}
static void hm_free(uint64_t hmem) {
  hm_free_addr = hmem;
  __atomic_add_fetch(&hm_free_calls, 1, __ATOMIC_SEQ_CST);
}

int main(void) {
  check_watchdog(30);
  proc = PROC(0);
  ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  CHECK_EQ(veo_proc_identifier(proc), 0);

  STEP("no hooks at first");
  CHECK(veo_get_hook((void *)&veo_alloc_mem) == NULL);
  CHECK(veo_get_hook((void *)&veo_free_mem_async) == NULL);

  STEP("sync alloc/free hooks");
  veo_register_hook((void *)&veo_alloc_mem, alloc_hook, &payload_obj);
  veo_register_hook((void *)&veo_free_mem, free_hook, &payload_obj);
  CHECK(veo_get_hook((void *)&veo_alloc_mem) == (void *)alloc_hook);
  CHECK(veo_get_hook((void *)&veo_free_mem) == (void *)free_hook);
  uint64_t addr = 0;
  CHECK_EQ(veo_alloc_mem(proc, &addr, 4000), 0);
  CHECK_EQ(alloc_calls, 1);
  CHECK_EQ(seen_addr, addr);
  CHECK_EQ(seen_size, 4000);
  CHECK_EQ(veo_free_mem(proc, addr), 0);
  CHECK_EQ(free_calls, 1);
  CHECK_EQ(seen_free, addr);
  STEP("a failed allocation does not call the alloc hook");
  uint64_t huge = 0;
  CHECK_EQ(veo_alloc_mem(proc, &huge, (size_t)1 << 62), -1);
  CHECK_EQ(alloc_calls, 1);
  STEP("re-registering overwrites");
  veo_register_hook((void *)&veo_free_mem, alloc_hook, &payload_obj);
  CHECK(veo_get_hook((void *)&veo_free_mem) == (void *)alloc_hook);
  veo_register_hook((void *)&veo_free_mem, free_hook, &payload_obj);

  STEP("async alloc/free hooks");
  veo_register_hook((void *)&veo_alloc_mem_async, aalloc_hook, &payload_obj);
  veo_register_hook((void *)&veo_free_mem_async, afree_hook, &payload_obj);
  CHECK(veo_get_hook((void *)&veo_alloc_mem_async) == (void *)aalloc_hook);
  uint64_t id = veo_alloc_mem_async(ctx, 2048);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  uint64_t aaddr = WAIT_OK(ctx, id);
  CHECK(aaddr != 0);
  CHECK_EQ(aalloc_calls, 1);
  CHECK_EQ(seen_aaddr, aaddr);
  CHECK_EQ(seen_asize, 2048);
  id = veo_free_mem_async(ctx, aaddr);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  CHECK_EQ(WAIT_OK(ctx, id), 0);
  CHECK_EQ(afree_calls, 1);
  CHECK_EQ(seen_afree, aaddr);
  CHECK_EQ(alloc_calls, 1); /* the sync hooks are not involved */
  CHECK_EQ(free_calls, 1);

  STEP("hmem hooks (veo_alloc_hmem also fires the veo_alloc_mem hook)");
  veo_register_hook((void *)&veo_alloc_hmem, halloc_hook, &payload_obj);
  veo_register_hook((void *)&veo_free_hmem, hfree_hook, &payload_obj);
  void *hm = NULL;
  CHECK_EQ(veo_alloc_hmem(proc, &hm, 3000), 0);
  CHECK_EQ(halloc_calls, 1);
  CHECK(seen_hmem == hm);
  CHECK_EQ(alloc_calls, 2);
  CHECK_EQ(seen_addr, (uint64_t)veo_get_hmem_addr(hm));
  CHECK_EQ(veo_free_hmem(hm), 0);
  CHECK_EQ(hfree_calls, 1);
  CHECK(seen_hfree == hm);
  CHECK_EQ(free_calls, 2);
  CHECK_EQ(seen_free, (uint64_t)veo_get_hmem_addr(hm));
  STEP("host hmem does not fire the hmem free hook");
  void *host = NULL;
  CHECK_EQ(veo_alloc_hmem(NULL, &host, 64), 0);
  CHECK_EQ(veo_free_hmem(host), 0);
  CHECK_EQ(hfree_calls, 1);

  STEP("unregister");
  veo_unregister_hook((void *)&veo_alloc_mem);
  veo_unregister_hook((void *)&veo_free_mem);
  veo_unregister_hook((void *)&veo_alloc_mem_async);
  veo_unregister_hook((void *)&veo_free_mem_async);
  veo_unregister_hook((void *)&veo_alloc_hmem);
  veo_unregister_hook((void *)&veo_free_hmem);
  veo_unregister_hook((void *)&veo_free_hmem); /* absent: no-op */
  CHECK(veo_get_hook((void *)&veo_alloc_mem) == NULL);
  CHECK(veo_get_hook((void *)&veo_free_mem) == NULL);
  CHECK(veo_get_hook((void *)&veo_alloc_mem_async) == NULL);
  CHECK(veo_get_hook((void *)&veo_free_hmem) == NULL);
  CHECK_EQ(veo_alloc_mem(proc, &addr, 100), 0);
  CHECK_EQ(veo_free_mem(proc, addr), 0);
  CHECK_EQ(alloc_calls, 2);
  CHECK_EQ(free_calls, 2);

  STEP("veo_register_hmem_hook_functions");
  veo_register_hmem_hook_functions(hm_alloc, hm_free);
  CHECK(veo_get_hook((void *)&veo_alloc_mem) != NULL);
  CHECK(veo_get_hook((void *)&veo_free_mem) != NULL);
  CHECK(veo_get_hook((void *)&veo_alloc_mem_async) != NULL);
  CHECK(veo_get_hook((void *)&veo_free_mem_async) != NULL);
  CHECK_EQ(veo_alloc_mem(proc, &addr, 1234), 0);
  CHECK_EQ(hm_alloc_calls, 1);
  CHECK(hm_alloc_addr == veo_set_proc_identifier((void *)addr, 0));
  CHECK_EQ(hm_alloc_size, 1234);
  CHECK_EQ(veo_free_mem(proc, addr), 0);
  CHECK_EQ(hm_free_calls, 1);
  CHECK_EQ(hm_free_addr, (uint64_t)veo_set_proc_identifier((void *)addr, 0));
  STEP("hmem hook functions: async");
  id = veo_alloc_mem_async(ctx, 555);
  aaddr = WAIT_OK(ctx, id);
  CHECK(aaddr != 0);
  CHECK_EQ(hm_alloc_calls, 2);
  CHECK(hm_alloc_addr == veo_set_proc_identifier((void *)aaddr, 0));
  CHECK_EQ(hm_alloc_size, 555);
  id = veo_free_mem_async(ctx, aaddr);
  CHECK_EQ(WAIT_OK(ctx, id), 0);
  CHECK_EQ(hm_free_calls, 2);
  CHECK_EQ(hm_free_addr, (uint64_t)veo_set_proc_identifier((void *)aaddr, 0));
  STEP("hmem hook functions: veo_alloc_hmem fires alloc once");
  CHECK_EQ(veo_alloc_hmem(proc, &hm, 64), 0);
  CHECK_EQ(hm_alloc_calls, 3);
  CHECK(hm_alloc_addr == hm);
  CHECK_EQ(veo_free_hmem(hm), 0);
  CHECK_EQ(hm_free_calls, 3);
  CHECK_EQ(hm_free_addr, (uint64_t)hm);
  STEP("veo_unregister_hmem_hook_functions");
  veo_unregister_hmem_hook_functions();
  CHECK(veo_get_hook((void *)&veo_alloc_mem) == NULL);
  CHECK(veo_get_hook((void *)&veo_free_mem_async) == NULL);
  CHECK_EQ(veo_alloc_mem(proc, &addr, 100), 0);
  CHECK_EQ(veo_free_mem(proc, addr), 0);
  CHECK_EQ(hm_alloc_calls, 3);
  CHECK_EQ(hm_free_calls, 3);

  CHECK_EQ(bad, 0);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("hooks: OK\n");
  return 0;
}
