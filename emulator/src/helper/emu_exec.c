/*
 * emu_rec_exec.c - what veorun does with each record: call a kernel through libffi with each
 * argument's class (stack arguments point into the record itself, so copy-in happened at
 * submission and copy-out happens when the host drains it), malloc/free, transfers,
 * dlopen/dlsym/dlclose (plus the static symbol table of mk_veorun_static helpers), VH
 * hand-offs to the host, and starting context threads.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <ffi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

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

static uint32_t emu_call_exec(struct emu_thread *t, struct emu_rec *rec, uint64_t *result) {
  uint32_t n = rec->nargs;
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
  struct emu_wire_arg *wa = emu_rec_payload(rec);
  char *data = (char *)wa + emu_align_up((uint64_t)n * sizeof *wa, 16);
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
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, n, emu_ffi_ret_type_get(rec->rtype), types) == FFI_OK) {
    atomic_store_explicit(&t->current, rec, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    ffi_call(&cif, FFI_FN((void (*)(void))(uintptr_t)rec->a0), &ret, values);
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
    *result = emu_result_encode(rec->rtype, &ret);
    state = VEO_COMMAND_OK;
  } else {
    fprintf(stdout, "[VE] ERROR: cannot prepare a call with %u arguments\n", n);
  }
  if (n > EMU_FAST_ARGS) {
    free(types);
    free(values);
    free(ptrs);
  }
  fflush(stdout);
  return state;
}

/* Moves data between our memory and the host's, or through the record (INLINE). */
static uint32_t emu_xfer_exec(struct emu_rec *rec) {
  void *ve = (void *)(uintptr_t)rec->a0;
  size_t size = emu_rec_ext(rec)->a1;
  if (rec->flags & EMU_F_INLINE) {
    if (rec->kind == EMU_K_READ) memcpy(emu_rec_payload(rec), ve, size);
    else memcpy(ve, emu_rec_payload(rec), size);
    return VEO_COMMAND_OK;
  }
  char *local = ve;
  uint64_t remote = emu_rec_ext(rec)->a2;
  while (size > 0) {
    struct iovec l = {local, size};
    struct iovec r = {(void *)(uintptr_t)remote, size};
    ssize_t n = rec->kind == EMU_K_READ ? process_vm_writev(emu_host_pid, &l, 1, &r, 1, 0)
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

static uint64_t emu_sym_lookup(struct emu_rec *rec) {
  const char *name = emu_rec_payload(rec);
  void *addr = NULL;
  if (rec->a0) {
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

int emu_rec_exec(struct emu_thread *t, struct emu_rec *rec, uint64_t pos) {
  uint32_t state = VEO_COMMAND_OK;
  uint64_t result = 0;
  int reply = 1, stop = 0;
  switch (rec->kind) {
    case EMU_K_NOP:
      reply = 0;
      break;
    case EMU_K_CALL:
      state = emu_call_exec(t, rec, &result);
      break;
    case EMU_K_ALLOC:
      result = (uint64_t)(uintptr_t)emu_vemem_alloc(rec->a0);
      break;
    case EMU_K_FREE:
      free((void *)(uintptr_t)rec->a0);
      break;
    case EMU_K_READ:
    case EMU_K_WRITE:
      if (rec->flags & EMU_F_HOST_XFER) {
        emu_vh_hand_off(t, pos);
        state = rec->result == 0 ? VEO_COMMAND_OK : VEO_COMMAND_ERROR;
        break;
      }
      atomic_store_explicit(&t->current, rec, memory_order_relaxed);
      state = emu_xfer_exec(rec);
      atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
      break;
    case EMU_K_MEMCPY:
      atomic_store_explicit(&t->current, rec, memory_order_relaxed);
      memmove((void *)(uintptr_t)rec->a0, (void *)(uintptr_t)emu_rec_ext(rec)->a1,
              emu_rec_ext(rec)->a2);
      atomic_store_explicit(&t->current, NULL, memory_order_relaxed);
      break;
    case EMU_K_LOAD: {
      void *h = dlopen((const char *)emu_rec_payload(rec), RTLD_NOW | RTLD_GLOBAL);
      if (!h) {
        fprintf(stdout, "[VE] ERROR: veo_load_library() %s\n", dlerror());
        fflush(stdout);
      }
      result = (uint64_t)(uintptr_t)h;
      break;
    }
    case EMU_K_UNLOAD:
      result = (uint64_t)(int64_t)dlclose((void *)(uintptr_t)rec->a0);
      break;
    case EMU_K_SYM:
      result = emu_sym_lookup(rec);
      break;
    case EMU_K_VH:
      reply = 0;
      emu_vh_hand_off(t, pos);
      result = rec->result;
      break;
    case EMU_K_OPEN_CTX:
      reply = 0;
      result = emu_ctx_thread_start((int)rec->a0, emu_rec_ext(rec)->a1) == 0 ? 0 : 1;
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
  if (rec->flags & EMU_F_FRAG) {
    if (state != VEO_COMMAND_OK) t->chain_failed = 1;
    if (rec->flags & EMU_F_FRAG_LAST) {
      if (t->chain_failed) state = VEO_COMMAND_ERROR;
      t->chain_failed = 0;
    }
  }
  if (reply) emu_reply_push(t, rec->kind == EMU_K_READ ? emu_rec_ext(rec)->a2 : result);
  rec->result = result;
  if ((rec->flags & EMU_F_VH_POST) && state == VEO_COMMAND_OK) {
    emu_vh_hand_off(t, pos);
    result = rec->result;
  }
  atomic_store_explicit(&rec->state, state, memory_order_relaxed);
  return stop;
}
