/*
 * emu_exec.c - what veorun does with each record: call a kernel through libffi with each
 * argument's class, malloc/free (a free of anything but a live block fails the request),
 * transfers, dlopen/dlsym/dlclose (plus the static symbol table of mk_veorun_static
 * helpers; handles are checked, and a library with a kernel running on another context is
 * not unloaded), VH hand-offs to the host, and starting context threads.
 *
 * Stack arguments travel in the record, but the kernel gets them in the context thread's
 * private area, placed so that a PROT_NONE guard page follows the data: a kernel writing
 * past its buffer faults (its request is EXCEPTION) instead of overwriting the records
 * queued behind it. OUT/INOUT data is copied back into the record after the call, and the
 * host copies it out when it drains the record.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <ffi.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emu_futex.h"
#include "emu_helper.h"
#include "ve_offload.h"
#include "veo_emu.h"

/* Linked in by mk_veorun_static; absent (NULL) in the stock helper. */
struct emu_static_sym {
  const char *name;
  void *addr;
};
extern const struct emu_static_sym emu_static_symtab[] __attribute__((weak));

#define EMU_FAST_ARGS 32
#define EMU_STACK_KEEP (1u << 20) /* a larger stack-argument area may be unmapped after use */
#define EMU_MAX_LIBS 1024

/* Set while veo_unload_library checks the running kernels (see emu_call_exec). */
static _Atomic int emu_unloading;

/* Handles veo_load_library returned, with their dlopen counts (main context only). */
static struct {
  void *handle;
  unsigned count;
} emu_libs[EMU_MAX_LIBS];

static void emu_reply_push(struct emu_thread *t, uint64_t value) {
  t->prev[t->nprev % EMU_PREV_MAX] = value;
  t->nprev++;
}

/* "VE memory": plain malloc (kernels may free it), but large blocks are aligned to and
 * backed by transparent huge pages where the kernel allows: fewer page faults on first
 * touch and faster process_vm_readv/writev. */
static void *emu_vemem_alloc(size_t size) {
  const size_t huge = 2u << 20;
  if (size < huge) return malloc(size);
  void *p = NULL;
  if (posix_memalign(&p, huge, size) != 0) return NULL;
  if (madvise(p, (size + huge - 1) & ~(huge - 1), MADV_HUGEPAGE) != 0 && errno != EINVAL)
    fprintf(stderr, "veorun: madvise: %s\n", strerror(errno));
  return p;
}

static ffi_type *emu_ffi_arg_type_get(uint32_t type) {
  switch (type) {
    case EMU_A_I8: return &ffi_type_sint8;
    case EMU_A_U8: return &ffi_type_uint8;
    case EMU_A_I16: return &ffi_type_sint16;
    case EMU_A_U16: return &ffi_type_uint16;
    case EMU_A_I32: return &ffi_type_sint32;
    case EMU_A_U32: return &ffi_type_uint32;
    case EMU_A_I64: return &ffi_type_sint64;
    case EMU_A_U64: return &ffi_type_uint64;
    case EMU_A_FLOAT: return &ffi_type_float;
    case EMU_A_DOUBLE: return &ffi_type_double;
    default: return &ffi_type_pointer;
  }
}

static ffi_type *emu_ffi_ret_type_get(uint64_t type) {
  switch (type) {
    case VEO_EMU_TYPE_VOID: return &ffi_type_void;
    case VEO_EMU_TYPE_I8: return &ffi_type_sint8;
    case VEO_EMU_TYPE_U8: return &ffi_type_uint8;
    case VEO_EMU_TYPE_I16: return &ffi_type_sint16;
    case VEO_EMU_TYPE_U16: return &ffi_type_uint16;
    case VEO_EMU_TYPE_I32: return &ffi_type_sint32;
    case VEO_EMU_TYPE_U32: return &ffi_type_uint32;
    case VEO_EMU_TYPE_I64: return &ffi_type_sint64;
    case VEO_EMU_TYPE_FLOAT: return &ffi_type_float;
    case VEO_EMU_TYPE_DOUBLE: return &ffi_type_double;
    case VEO_EMU_TYPE_PTR: return &ffi_type_pointer;
    default: return &ffi_type_uint64;
  }
}

/* Encodes the x86-64 result the way a VE delivers it in %s0. */
static uint64_t emu_result_encode(uint64_t type, const void *ret) {
  ffi_arg a;
  memcpy(&a, ret, sizeof a);
  switch (type) {
    case VEO_EMU_TYPE_VOID: return 0;
    case VEO_EMU_TYPE_I8: return (uint64_t)(int64_t)(int8_t)a;
    case VEO_EMU_TYPE_U8: return (uint64_t)(uint8_t)a;
    case VEO_EMU_TYPE_I16: return (uint64_t)(int64_t)(int16_t)a;
    case VEO_EMU_TYPE_U16: return (uint64_t)(uint16_t)a;
    case VEO_EMU_TYPE_I32: return (uint64_t)(int64_t)(int32_t)a;
    case VEO_EMU_TYPE_U32: return (uint64_t)(uint32_t)a;
    case VEO_EMU_TYPE_FLOAT: {
      float f;
      uint32_t bits;
      memcpy(&f, ret, sizeof f);
      memcpy(&bits, &f, sizeof bits);
      return (uint64_t)bits << 32;
    }
    case VEO_EMU_TYPE_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, ret, sizeof bits);
      return bits;
    }
    default: return (uint64_t)a;
  }
}

static void emu_stack_area_drop(struct emu_thread *t) {
  if (!t->stk) return;
  if (munmap(t->stk, t->stk_size + (size_t)getpagesize()) != 0)
    fprintf(stderr, "veorun: munmap: %s\n", strerror(errno));
  t->stk = NULL;
  t->stk_size = 0;
}

void emu_thread_release(struct emu_thread *t) { emu_stack_area_drop(t); }

/* `total` bytes of the thread's stack-argument area, ending where its guard page starts. */
static char *emu_stack_area_get(struct emu_thread *t, uint64_t total) {
  size_t page = (size_t)getpagesize();
  size_t want = (size_t)emu_align_up(total, page);
  if (want > t->stk_size) {
    emu_stack_area_drop(t);
    char *base = mmap(NULL, want + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return NULL;
    if (mprotect(base + want, page, PROT_NONE) != 0) {
      if (munmap(base, want + page) != 0) fprintf(stderr, "veorun: munmap failed\n");
      return NULL;
    }
    t->stk = base;
    t->stk_size = want;
  }
  return t->stk + t->stk_size - total;
}

static uint32_t emu_call_exec(struct emu_thread *t, struct emu_rec *rec, uint32_t size,
                              uint64_t *result) {
  uint32_t n = rec->nargs;
  uint64_t fn = rec->a0;
  uint32_t rtype = rec->rtype;
  struct emu_wire_arg *wa = (struct emu_wire_arg *)(rec + 1);
  uint64_t argbytes = emu_align_up((uint64_t)n * sizeof *wa, 16), total = 0;
  if (sizeof *rec + argbytes > size) goto bad;
  for (uint32_t i = 0; i < n; i++)
    if (wa[i].type >= EMU_A_STACK_IN) total += emu_align_up(wa[i].len, 16);
  if (sizeof *rec + argbytes + total > size) goto bad;
  char *ring_data = (char *)wa + argbytes;
  char *area = NULL;
  if (total) {
    area = emu_stack_area_get(t, total);
    if (!area) {
      fprintf(stdout, "[VE] ERROR: no memory for %llu bytes of stack arguments\n",
              (unsigned long long)total);
      fflush(stdout);
      return VEO_COMMAND_ERROR;
    }
    memcpy(area, ring_data, total);
  }
  ffi_type *fast_types[EMU_FAST_ARGS];
  void *fast_values[EMU_FAST_ARGS];
  uint64_t fast_ptrs[EMU_FAST_ARGS];
  ffi_type **types = fast_types;
  void **values = fast_values;
  uint64_t *ptrs = fast_ptrs;
  if (n > EMU_FAST_ARGS) {
    types = malloc(n * sizeof *types);
    values = malloc(n * sizeof *values);
    ptrs = malloc(n * sizeof *ptrs);
    if (!types || !values || !ptrs) {
      free(types);
      free(values);
      free(ptrs);
      return VEO_COMMAND_ERROR;
    }
  }
  char *data = area ? area : ring_data;
  for (uint32_t i = 0; i < n; i++) {
    types[i] = emu_ffi_arg_type_get(wa[i].type);
    if (wa[i].type >= EMU_A_STACK_IN) {
      ptrs[i] = (uint64_t)(uintptr_t)data;
      values[i] = &ptrs[i];
      data += emu_align_up(wa[i].len, 16);
    } else {
      values[i] = &wa[i].value;
    }
  }
  uint32_t state = VEO_COMMAND_ERROR;
  ffi_cif cif;
  union {
    ffi_arg a;
    double d;
    float f;
    uint64_t u;
  } ret;
  ret.u = 0;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, n, emu_ffi_ret_type_get(rtype), types) == FFI_OK) {
    atomic_store_explicit(&t->current, rec, memory_order_relaxed);
    /* Publish the kernel before looking for an unload in progress (the unloader does the
     * opposite), so one of the two always sees the other. */
    atomic_store(&t->running_fn, fn);
    while (atomic_load(&emu_unloading)) sched_yield();
    ffi_call(&cif, FFI_FN((void (*)(void))(uintptr_t)fn), &ret, values);
    atomic_store_explicit(&t->running_fn, 0, memory_order_release);
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
    *result = emu_result_encode(rtype, &ret);
    state = VEO_COMMAND_OK;
  } else {
    fprintf(stdout, "[VE] ERROR: cannot prepare a call with %u arguments\n", n);
  }
  if (n > EMU_FAST_ARGS) {
    free(types);
    free(values);
    free(ptrs);
  }
  if (total) {
    /* OUT/INOUT data back into the record, for the host to copy out. */
    for (uint64_t i = 0, off = 0; i < n; i++) {
      if (wa[i].type < EMU_A_STACK_IN) continue;
      if (wa[i].type != EMU_A_STACK_IN) memcpy(ring_data + off, area + off, wa[i].len);
      off += emu_align_up(wa[i].len, 16);
    }
    /* A large area stays for calls of a similar size (remapping costs page faults) and goes
     * once a call needs far less. */
    if (t->stk_size > EMU_STACK_KEEP && total * 4 < t->stk_size) emu_stack_area_drop(t);
  }
  fflush(stdout);
  return state;
bad:
  fprintf(stdout, "[VE] ERROR: a call record does not hold its %u arguments\n", n);
  fflush(stdout);
  return VEO_COMMAND_ERROR;
}

/* Moves data between our memory and the host's, or through the record (INLINE). */
static uint32_t emu_xfer_exec(struct emu_rec *rec, uint32_t size_rec, uint32_t kind,
                              uint32_t flags) {
  void *ve = (void *)(uintptr_t)rec->a0;
  size_t size = emu_rec_ext(rec)->a1;
  if (flags & EMU_F_INLINE) {
    char *payload = (char *)rec + emu_rec_hdr_size((int)kind);
    if (size > size_rec - emu_rec_hdr_size((int)kind)) {
      fprintf(stdout, "[VE] ERROR: a transfer record does not hold its %zu bytes\n", size);
      fflush(stdout);
      return VEO_COMMAND_ERROR;
    }
    if (kind == EMU_K_READ) memcpy(payload, ve, size);
    else memcpy(ve, payload, size);
    return VEO_COMMAND_OK;
  }
  char *local = ve;
  uint64_t remote = emu_rec_ext(rec)->a2;
  while (size > 0) {
    struct iovec l = {local, size};
    struct iovec r = {(void *)(uintptr_t)remote, size};
    ssize_t n = kind == EMU_K_READ ? process_vm_writev(emu_host_pid, &l, 1, &r, 1, 0)
                                   : process_vm_readv(emu_host_pid, &l, 1, &r, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stdout, "[VE] ERROR: transfer of %zu bytes at %p failed: %s\n", size,
              (void *)local, n < 0 ? strerror(errno) : "short");
      fflush(stdout);
      return VEO_COMMAND_ERROR;
    }
    local += n;
    remote += (uint64_t)n;
    size -= (size_t)n;
  }
  return VEO_COMMAND_OK;
}

/* The record's NUL-terminated string payload, or NULL if it has none. */
static const char *emu_rec_string_get(struct emu_rec *rec, uint32_t size, uint32_t kind) {
  const char *s = (const char *)rec + emu_rec_hdr_size((int)kind);
  return memchr(s, 0, size - emu_rec_hdr_size((int)kind)) ? s : NULL;
}

static int emu_lib_find(void *handle) {
  for (int i = 0; i < EMU_MAX_LIBS; i++)
    if (emu_libs[i].count && emu_libs[i].handle == handle) return i;
  return -1;
}

static void *emu_lib_load(const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    fprintf(stdout, "[VE] ERROR: veo_load_library() %s\n", dlerror());
    fflush(stdout);
    return NULL;
  }
  int i = emu_lib_find(h);
  for (int j = 0; i < 0 && j < EMU_MAX_LIBS; j++)
    if (!emu_libs[j].count) i = j;
  if (i < 0) {
    fprintf(stdout, "[VE] ERROR: veo_load_library() more than %d libraries\n", EMU_MAX_LIBS);
    fflush(stdout);
    if (dlclose(h) != 0) fprintf(stdout, "[VE] ERROR: dlclose: %s\n", dlerror());
    return NULL;
  }
  emu_libs[i].handle = h;
  emu_libs[i].count++;
  return h;
}

/* 1 if a kernel of the library `handle` runs on another context now. Called with
 * emu_unloading set, so no call can start unseen. */
static int emu_lib_busy(struct emu_thread *self, void *handle) {
  struct link_map *lib = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lib) != 0 || !lib) return 0;
  for (int i = 0; i < EMU_MAX_CTX; i++) {
    struct emu_thread *o = atomic_load(&emu_threads[i]);
    if (!o || o == self) continue;
    uint64_t fn = atomic_load(&o->running_fn);
    Dl_info info;
    struct link_map *owner = NULL;
    if (fn && dladdr1((void *)(uintptr_t)fn, &info, (void **)&owner, RTLD_DL_LINKMAP) &&
        owner == lib) {
      fprintf(stdout, "[VE] ERROR: veo_unload_library() a kernel of %s is running on context "
              "%d; the library stays loaded\n", lib->l_name, o->index);
      fflush(stdout);
      return 1;
    }
  }
  return 0;
}

/* dlclose's result; -1 for a handle we never returned or a library still in use. */
static int64_t emu_lib_unload(struct emu_thread *t, void *handle) {
  int i = emu_lib_find(handle);
  if (i < 0) {
    fprintf(stdout, "[VE] ERROR: veo_unload_library() %p is not a loaded library\n", handle);
    fflush(stdout);
    return -1;
  }
  atomic_store(&emu_unloading, 1);
  int64_t rc = -1;
  if (!emu_lib_busy(t, handle)) {
    rc = dlclose(handle);
    if (rc == 0) emu_libs[i].count--;
  }
  atomic_store(&emu_unloading, 0);
  return rc;
}

static uint64_t emu_sym_lookup(struct emu_rec *rec, uint32_t size, uint32_t kind) {
  const char *name = emu_rec_string_get(rec, size, kind);
  void *addr = NULL;
  if (!name) return 0;
  if (rec->a0 && emu_lib_find((void *)(uintptr_t)rec->a0) < 0) {
    fprintf(stdout, "[VE] ERROR: veo_get_sym() %#llx is not a loaded library\n",
            (unsigned long long)rec->a0);
    fflush(stdout);
  } else if (rec->a0) {
    dlerror();
    addr = dlsym((void *)(uintptr_t)rec->a0, name);
    if (!addr && getenv("VEO_LOG_DEBUG")) fprintf(stdout, "[VE] DEBUG: dlsym: %s\n", dlerror());
  }
  if (emu_static_symtab) {
    for (const struct emu_static_sym *s = emu_static_symtab; s->name; s++) {
      if (!strcmp(s->name, name)) {
        addr = s->addr;
        break;
      }
    }
  }
  return (uint64_t)(uintptr_t)addr;
}

/* Lets the host's VH thread process this record, then continues. */
static void emu_vh_hand_off(struct emu_thread *t, uint64_t pos) {
  struct emu_ctx_ctl *ctl = t->ctl;
  uint32_t seen = atomic_load(&ctl->vh_done_seq);
  atomic_store(&ctl->vh_pos, pos);
  atomic_fetch_add(&ctl->vh_seq, 1);
  emu_futex_wake(&ctl->vh_seq, INT_MAX);
  for (unsigned i = 0; i < 2000; i++) {
    if (atomic_load(&ctl->vh_done_seq) != seen) return;
    emu_cpu_relax();
  }
  while (atomic_load(&ctl->vh_done_seq) == seen) {
    if (emu_futex_wait(&ctl->vh_done_seq, seen, 1000000000LL) != 0) emu_host_check();
  }
}

int emu_rec_exec(struct emu_thread *t, struct emu_rec *rec, uint64_t pos, uint32_t size,
                 uint32_t kind) {
  uint32_t state = VEO_COMMAND_OK, flags = rec->flags;
  uint64_t result = 0;
  int reply = 1, stop = 0;
  switch (kind) {
    case EMU_K_NOP:
      reply = 0;
      break;
    case EMU_K_CALL:
      state = emu_call_exec(t, rec, size, &result);
      break;
    case EMU_K_ALLOC:
      result = (uint64_t)(uintptr_t)emu_vemem_alloc(rec->a0);
      break;
    case EMU_K_FREE:
      if (emu_heap_free((void *)(uintptr_t)rec->a0) != 0) {
        fprintf(stdout, "[VE] ERROR: free(%#llx): not the start of a live block; nothing "
                "freed\n", (unsigned long long)rec->a0);
        fflush(stdout);
        state = VEO_COMMAND_ERROR;
      }
      break;
    case EMU_K_READ:
    case EMU_K_WRITE:
      if (flags & EMU_F_HOST_XFER) {
        emu_vh_hand_off(t, pos);
        state = rec->result == 0 ? VEO_COMMAND_OK : VEO_COMMAND_ERROR;
        break;
      }
      atomic_store_explicit(&t->current, rec, memory_order_relaxed);
      state = emu_xfer_exec(rec, size, kind, flags);
      atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
      break;
    case EMU_K_MEMCPY:
      atomic_store_explicit(&t->current, rec, memory_order_relaxed);
      memmove((void *)(uintptr_t)rec->a0, (void *)(uintptr_t)emu_rec_ext(rec)->a1,
              emu_rec_ext(rec)->a2);
      atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
      break;
    case EMU_K_LOAD: {
      const char *path = emu_rec_string_get(rec, size, kind);
      result = path ? (uint64_t)(uintptr_t)emu_lib_load(path) : 0;
      break;
    }
    case EMU_K_UNLOAD:
      result = (uint64_t)emu_lib_unload(t, (void *)(uintptr_t)rec->a0);
      break;
    case EMU_K_SYM:
      result = emu_sym_lookup(rec, size, kind);
      break;
    case EMU_K_VH:
      reply = 0;
      emu_vh_hand_off(t, pos);
      result = rec->result;
      break;
    case EMU_K_OPEN_CTX:
      reply = 0;
      result = rec->a0 > 0 && rec->a0 < EMU_MAX_CTX &&
                       emu_ctx_thread_start((int)rec->a0, emu_rec_ext(rec)->a1) == 0
                   ? 0
                   : 1;
      break;
    case EMU_K_EXIT:
      reply = 0;
      stop = 1;
      break;
    default:
      state = VEO_COMMAND_ERROR;
      reply = 0;
      break;
  }
  if (flags & EMU_F_FRAG) {
    if (state != VEO_COMMAND_OK) t->chain_failed = 1;
    if (flags & EMU_F_FRAG_LAST) {
      if (t->chain_failed) state = VEO_COMMAND_ERROR;
      t->chain_failed = 0;
    }
  }
  if (reply) emu_reply_push(t, kind == EMU_K_READ ? emu_rec_ext(rec)->a2 : result);
  rec->result = result;
  if ((flags & EMU_F_VH_POST) && state == VEO_COMMAND_OK) {
    emu_vh_hand_off(t, pos);
    result = rec->result;
  }
  atomic_store_explicit(&rec->state, state, memory_order_relaxed);
  return stop;
}
