/*
 * emu_hmem.c - heterogeneous memory: HMEM addresses are helper addresses tagged with bit 63
 * and the proc identifier in bits 62:59 (helper addresses are canonical x86-64 user
 * addresses, so those bits are free), host HMEM blocks (remembered, so a double free fails
 * instead of aborting the process), and the HMEM hook functions. An entry point above
 * emu_mem.c: it allocates, frees and copies through it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "emu_hmem_addr.h"
#include "emu_lib.h"

/* ---- HMEM address helpers ---- */

EMU_EXPORT int veo_is_ve_addr(const void *addr) {
  return emu_hmem_addr_is_ve((uint64_t)(uintptr_t)addr);
}

EMU_EXPORT void *veo_get_hmem_addr(void *addr) {
  return (void *)(uintptr_t)emu_hmem_addr_strip((uint64_t)(uintptr_t)addr);
}

EMU_EXPORT int veo_get_max_proc_identifier(void) { return EMU_HMEM_MAX_PROCS; }

EMU_EXPORT int veo_get_proc_identifier_from_hmem(const void *addr) {
  return emu_hmem_ident_get((uint64_t)(uintptr_t)addr);
}

EMU_EXPORT void *veo_set_proc_identifier(void *addr, int ident) {
  if (ident < 0 || ident >= EMU_HMEM_MAX_PROCS) {
    emu_log_error("veo_set_proc_identifier", "invalid proc identifier %d", ident);
    return NULL;
  }
  return (void *)(uintptr_t)((uint64_t)(uintptr_t)addr | EMU_HMEM_VE_BIT |
                             ((uint64_t)ident << EMU_HMEM_IDENT_SHIFT));
}

static void *emu_hmem_tag(struct veo_proc_handle *proc, uint64_t addr) {
  int ident = proc ? proc->ident : -1;
  if (ident < 0 || ident >= EMU_HMEM_MAX_PROCS) return (void *)(uintptr_t)addr;
  return veo_set_proc_identifier((void *)(uintptr_t)addr, ident);
}

EMU_EXPORT struct veo_proc_handle *veo_get_proc_handle_from_hmem(const void *addr) {
  int ident = veo_get_proc_identifier_from_hmem(addr);
  return ident < 0 ? NULL : emu_proc_from_ident(ident);
}

EMU_EXPORT pid_t veo_get_pid_from_hmem(const void *addr) {
  struct veo_proc_handle *proc = veo_get_proc_handle_from_hmem(addr);
  return proc ? proc->pid : -1;
}

EMU_EXPORT int veo_get_venum_from_hmem(const void *addr) {
  struct veo_proc_handle *proc = veo_get_proc_handle_from_hmem(addr);
  return proc ? proc->node : -1;
}

/* ---- host HMEM blocks (veo_alloc_hmem with a NULL proc) ----
 * Upstream frees every untagged address with free(), so a second veo_free_hmem of a host
 * block aborts the whole process in glibc. The emulator remembers the host blocks it handed
 * out and those freed since (the latter bounded: EMU_HOST_FREED_MAX), so freeing one of
 * those again is -1 with a log line. An untagged address it never handed out still goes to
 * free(), as upstream. One open-addressing table, keys never removed except by a rehash. */
#define EMU_HOST_LIVE 1
#define EMU_HOST_FREED 2
#define EMU_HOST_FREED_MAX 4096

static pthread_mutex_t emu_host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  uint64_t *keys;
  uint8_t *states;
  size_t cap, used, freed; /* used: live + freed entries */
} emu_host;

__attribute__((constructor)) static void emu_host_init(void) { emu_fork_guard(&emu_host_lock); }

static size_t emu_host_slot(uint64_t key, size_t cap) {
  size_t i = (size_t)((key >> 4) * 0x9e3779b97f4a7c15ULL) & (cap - 1);
  while (emu_host.states[i] && emu_host.keys[i] != key) i = (i + 1) & (cap - 1);
  return i;
}

/* Rebuilds the table with room for one more entry, dropping freed entries once there are
 * too many of them. -1 if out of memory (the table is unchanged). */
static int emu_host_grow(void) {
  int drop = emu_host.freed > EMU_HOST_FREED_MAX;
  size_t keep = drop ? emu_host.used - emu_host.freed : emu_host.used;
  size_t cap = 64;
  while (cap < 4 * (keep + 1)) cap *= 2;
  uint64_t *keys = calloc(cap, sizeof *keys);
  uint8_t *states = calloc(cap, 1);
  if (!keys || !states) {
    free(keys);
    free(states);
    return -1;
  }
  uint64_t *okeys = emu_host.keys;
  uint8_t *ostates = emu_host.states;
  size_t ocap = emu_host.cap;
  emu_host.keys = keys;
  emu_host.states = states;
  emu_host.cap = cap;
  emu_host.used = emu_host.freed = 0;
  for (size_t i = 0; i < ocap; i++) {
    if (!ostates[i] || (drop && ostates[i] == EMU_HOST_FREED)) continue;
    size_t j = emu_host_slot(okeys[i], cap);
    keys[j] = okeys[i];
    states[j] = ostates[i];
    emu_host.used++;
    emu_host.freed += ostates[i] == EMU_HOST_FREED;
  }
  free(okeys);
  free(ostates);
  return 0;
}

/* Remembers a block just allocated; -1 (nothing remembered) if out of memory. */
static int emu_host_add(void *block) {
  uint64_t key = (uint64_t)(uintptr_t)block;
  pthread_mutex_lock(&emu_host_lock);
  int rc = 0;
  if (2 * (emu_host.used + 1) > emu_host.cap) rc = emu_host_grow();
  if (rc == 0) {
    size_t i = emu_host_slot(key, emu_host.cap);
    if (!emu_host.states[i]) emu_host.used++;
    else if (emu_host.states[i] == EMU_HOST_FREED) emu_host.freed--;
    emu_host.keys[i] = key;
    emu_host.states[i] = EMU_HOST_LIVE;
  }
  pthread_mutex_unlock(&emu_host_lock);
  return rc;
}

/* Marks a host block freed: 1 if it was live, -1 if it was freed already, 0 if unknown. */
static int emu_host_forget(void *block) {
  uint64_t key = (uint64_t)(uintptr_t)block;
  pthread_mutex_lock(&emu_host_lock);
  int rc = 0;
  if (emu_host.cap) {
    size_t i = emu_host_slot(key, emu_host.cap);
    if (emu_host.states[i] == EMU_HOST_LIVE) {
      emu_host.states[i] = EMU_HOST_FREED;
      emu_host.freed++;
      rc = 1;
    } else if (emu_host.states[i] == EMU_HOST_FREED) {
      rc = -1;
    }
  }
  pthread_mutex_unlock(&emu_host_lock);
  return rc;
}

EMU_EXPORT int veo_alloc_hmem(struct veo_proc_handle *proc, void **addr, const size_t size) {
  if (!addr) return -1;
  if (!proc) {
    *addr = malloc(size);
    if (*addr && emu_host_add(*addr) != 0) {
      free(*addr);
      *addr = NULL;
    }
    return *addr ? 0 : -1;
  }
  if (proc->ident < 0 || proc->ident >= EMU_HMEM_MAX_PROCS) {
    emu_log_error("veo_alloc_hmem", "HMEM supports only proc identifiers below %d",
                  EMU_HMEM_MAX_PROCS);
    return -1;
  }
  uint64_t ve = 0;
  int rc = veo_alloc_mem(proc, &ve, size);
  if (rc != 0) return rc;
  *addr = emu_hmem_tag(proc, ve);
  struct emu_hook hook;
  if (emu_hook_find((void *)veo_alloc_hmem, &hook) == 0)
    hook.hook(hook.payload, proc, *addr, (size_t)size);
  return 0;
}

EMU_EXPORT int veo_free_hmem(void *addr) {
  if (!veo_is_ve_addr(addr)) {
    if (addr && emu_host_forget(addr) < 0) {
      emu_log_error("veo_free_hmem", "host memory %p was freed already", addr);
      return -1;
    }
    free(addr);
    return 0;
  }
  struct veo_proc_handle *proc = veo_get_proc_handle_from_hmem(addr);
  if (!proc) {
    emu_log_error("veo_free_hmem", "no proc for HMEM address %p", addr);
    return -1;
  }
  /* -1 when the helper refused the free (not a live block, e.g. freed twice). */
  if (veo_free_mem(proc, (uint64_t)(uintptr_t)veo_get_hmem_addr(addr)) != 0) return -1;
  struct emu_hook hook;
  if (emu_hook_find((void *)veo_free_hmem, &hook) == 0) hook.hook(hook.payload, proc, addr);
  return 0;
}

EMU_EXPORT int veo_hmemcpy(void *dst, const void *src, size_t size) {
  int dve = veo_is_ve_addr(dst), sve = veo_is_ve_addr(src);
  uint64_t d = (uint64_t)(uintptr_t)veo_get_hmem_addr(dst);
  uint64_t s = (uint64_t)(uintptr_t)veo_get_hmem_addr((void *)src);
  if (!dve && !sve) {
    memmove(dst, src, size);
    return 0;
  }
  struct veo_proc_handle *dp = dve ? veo_get_proc_handle_from_hmem(dst) : NULL;
  struct veo_proc_handle *sp = sve ? veo_get_proc_handle_from_hmem(src) : NULL;
  if ((dve && !dp) || (sve && !sp)) {
    emu_log_error("veo_hmemcpy", "invalid HMEM address");
    return -1;
  }
  if (dve && !sve) return emu_mem_write(dp, d, src, size);
  if (!dve && sve) return emu_mem_read(sp, dst, s, size);
  if (dp != sp) {
    emu_log_error("veo_hmemcpy", "copies between two VE processes are not supported");
    return -1;
  }
  if (!emu_proc_alive(dp)) return -1;
  uint64_t id = emu_ctx_submit(dp->ctx[0], EMU_K_MEMCPY, 0, d, s, size);
  if (id == VEO_REQUEST_ID_INVALID) return -1;
  uint64_t res;
  return emu_ctx_wait(dp->ctx[0], id, &res) == VEO_COMMAND_OK ? 0 : -1;
}

/* ---- HMEM hook functions (veo_register_hmem_hook_functions) ---- */

static void (*emu_hmem_alloc_cb)(void *, size_t);
static void (*emu_hmem_free_cb)(uint64_t);

static void emu_hmem_hook_alloc_sync(void *payload, ...) {
  (void)payload;
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *proc = va_arg(ap, struct veo_proc_handle *);
  uint64_t *addr = va_arg(ap, uint64_t *);
  size_t size = va_arg(ap, size_t);
  va_end(ap);
  if (emu_hmem_alloc_cb) emu_hmem_alloc_cb(emu_hmem_tag(proc, *addr), size);
}

static void emu_hmem_hook_free_sync(void *payload, ...) {
  (void)payload;
  va_list ap;
  va_start(ap, payload);
  struct veo_proc_handle *proc = va_arg(ap, struct veo_proc_handle *);
  uint64_t addr = va_arg(ap, uint64_t);
  va_end(ap);
  if (emu_hmem_free_cb) emu_hmem_free_cb((uint64_t)(uintptr_t)emu_hmem_tag(proc, addr));
}

static void emu_hmem_hook_alloc_async(void *payload, ...) {
  (void)payload;
  va_list ap;
  va_start(ap, payload);
  struct veo_thr_ctxt *ctx = va_arg(ap, struct veo_thr_ctxt *);
  uint64_t addr = va_arg(ap, uint64_t);
  size_t size = va_arg(ap, size_t);
  va_end(ap);
  if (emu_hmem_alloc_cb) emu_hmem_alloc_cb(emu_hmem_tag(ctx->proc, addr), size);
}

static void emu_hmem_hook_free_async(void *payload, ...) {
  (void)payload;
  va_list ap;
  va_start(ap, payload);
  struct veo_thr_ctxt *ctx = va_arg(ap, struct veo_thr_ctxt *);
  uint64_t addr = va_arg(ap, uint64_t);
  va_end(ap);
  if (emu_hmem_free_cb) emu_hmem_free_cb((uint64_t)(uintptr_t)emu_hmem_tag(ctx->proc, addr));
}

EMU_EXPORT void veo_register_hmem_hook_functions(void (*alloc_hook)(void *hmem, size_t size),
                                                 void (*free_hook)(uint64_t hmem)) {
  emu_hmem_alloc_cb = alloc_hook;
  emu_hmem_free_cb = free_hook;
  veo_register_hook((void *)veo_alloc_mem, emu_hmem_hook_alloc_sync, NULL);
  veo_register_hook((void *)veo_free_mem, emu_hmem_hook_free_sync, NULL);
  veo_register_hook((void *)veo_alloc_mem_async, emu_hmem_hook_alloc_async, NULL);
  veo_register_hook((void *)veo_free_mem_async, emu_hmem_hook_free_async, NULL);
}

EMU_EXPORT void veo_unregister_hmem_hook_functions() {
  veo_unregister_hook((void *)veo_alloc_mem);
  veo_unregister_hook((void *)veo_free_mem);
  veo_unregister_hook((void *)veo_alloc_mem_async);
  veo_unregister_hook((void *)veo_free_mem_async);
}
