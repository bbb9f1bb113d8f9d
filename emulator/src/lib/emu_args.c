/*
 * emu_args.c - veo_args: a growable list of typed arguments, plus context attributes.
 * The setters only record (value, class); the image is built when a call is submitted, so a
 * veo_args may be changed or freed as soon as veo_call_async returns (AVEO semantics).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu_lib.h"
#include "veo_emu.h"

#define EMU_ARGS_MAX 65535 /* emu_rec.nargs is 16 bits */

EMU_EXPORT struct veo_args *veo_args_alloc(void) {
  return calloc(1, sizeof(struct veo_args));
}

static int emu_args_set(struct veo_args *ca, int argnum, uint32_t type, uint64_t value,
                        uint32_t len) {
  if (!ca || argnum < 0 || argnum >= EMU_ARGS_MAX) {
    emu_log_error("veo_args_set", "invalid argument number %d", argnum);
    return -1;
  }
  if (argnum >= ca->cap) {
    int ncap = ca->cap ? ca->cap : 8;
    while (ncap <= argnum) ncap *= 2;
    struct emu_arg *na = realloc(ca->args, (size_t)ncap * sizeof *na);
    if (!na) return -1;
    memset(na + ca->cap, 0, (size_t)(ncap - ca->cap) * sizeof *na);
    ca->args = na;
    ca->cap = ncap;
  }
  for (int i = ca->nargs; i < argnum; i++) ca->args[i].type = EMU_A_NONE;
  if (argnum >= ca->nargs) ca->nargs = argnum + 1;
  ca->args[argnum].value = value;
  ca->args[argnum].type = type;
  ca->args[argnum].len = len;
  return 0;
}

EMU_EXPORT int veo_args_set_i64(struct veo_args *ca, int n, int64_t v) {
  return emu_args_set(ca, n, EMU_A_I64, (uint64_t)v, 0);
}
EMU_EXPORT int veo_args_set_u64(struct veo_args *ca, int n, uint64_t v) {
  return emu_args_set(ca, n, EMU_A_U64, v, 0);
}
EMU_EXPORT int veo_args_set_i32(struct veo_args *ca, int n, int32_t v) {
  return emu_args_set(ca, n, EMU_A_I32, (uint64_t)(int64_t)v, 0);
}
EMU_EXPORT int veo_args_set_u32(struct veo_args *ca, int n, uint32_t v) {
  return emu_args_set(ca, n, EMU_A_U32, v, 0);
}
EMU_EXPORT int veo_args_set_i16(struct veo_args *ca, int n, int16_t v) {
  return emu_args_set(ca, n, EMU_A_I16, (uint64_t)(int64_t)v, 0);
}
EMU_EXPORT int veo_args_set_u16(struct veo_args *ca, int n, uint16_t v) {
  return emu_args_set(ca, n, EMU_A_U16, v, 0);
}
EMU_EXPORT int veo_args_set_i8(struct veo_args *ca, int n, int8_t v) {
  return emu_args_set(ca, n, EMU_A_I8, (uint64_t)(int64_t)v, 0);
}
EMU_EXPORT int veo_args_set_u8(struct veo_args *ca, int n, uint8_t v) {
  return emu_args_set(ca, n, EMU_A_U8, v, 0);
}
EMU_EXPORT int veo_args_set_double(struct veo_args *ca, int n, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return emu_args_set(ca, n, EMU_A_DOUBLE, bits, 0);
}
EMU_EXPORT int veo_args_set_float(struct veo_args *ca, int n, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return emu_args_set(ca, n, EMU_A_FLOAT, bits, 0);
}
EMU_EXPORT int veo_args_set_hmem(struct veo_args *ca, int n, void *ptr) {
  return emu_args_set(ca, n, EMU_A_U64, (uint64_t)(uintptr_t)ptr, 0);
}
EMU_EXPORT int veo_args_set_stack(struct veo_args *ca, enum veo_args_intent inout, int n,
                                  char *buff, size_t len) {
  uint32_t type;
  switch (inout) {
    case VEO_INTENT_IN: type = EMU_A_STACK_IN; break;
    case VEO_INTENT_INOUT: type = EMU_A_STACK_INOUT; break;
    case VEO_INTENT_OUT: type = EMU_A_STACK_OUT; break;
    default:
      emu_log_error("veo_args_set_stack", "invalid intent %d", (int)inout);
      return -1;
  }
  if (len && !buff) {
    emu_log_error("veo_args_set_stack", "NULL buffer for %zu bytes", len);
    return -1;
  }
  /* Too large for a call is reported by veo_call_async, as AVEO does. */
  uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
  return emu_args_set(ca, n, type, (uint64_t)(uintptr_t)buff, len32);
}

EMU_EXPORT void veo_args_clear(struct veo_args *ca) {
  if (!ca) return;
  ca->nargs = 0;
  ca->result_type = VEO_EMU_TYPE_DEFAULT;
}

EMU_EXPORT void veo_args_free(struct veo_args *ca) {
  if (!ca) return;
  free(ca->args);
  free(ca);
}

EMU_EXPORT int veo_emu_args_set_result_type(struct veo_args *ca, int type) {
  if (!ca || type < VEO_EMU_TYPE_DEFAULT || type > VEO_EMU_TYPE_PTR) {
    errno = EINVAL;
    return -1;
  }
  ca->result_type = type;
  return 0;
}

/* ---- context attributes ---- */

#define EMU_STACK_MIN (4UL << 20)

EMU_EXPORT struct veo_thr_ctxt_attr *veo_alloc_thr_ctxt_attr(void) {
  struct veo_thr_ctxt_attr *attr = calloc(1, sizeof *attr);
  if (attr) attr->stacksize = EMU_DEFAULT_STACK;
  return attr;
}

EMU_EXPORT int veo_free_thr_ctxt_attr(struct veo_thr_ctxt_attr *attr) {
  if (!attr) {
    errno = EINVAL;
    return -1;
  }
  free(attr);
  return 0;
}

EMU_EXPORT int veo_set_thr_ctxt_stacksize(struct veo_thr_ctxt_attr *attr, size_t size) {
  if (!attr) {
    errno = EINVAL;
    return -1;
  }
  if (size < EMU_STACK_MIN) {
    emu_log_error("veo_set_thr_ctxt_stacksize", "stack size %zu is below the minimum %lu",
                  size, EMU_STACK_MIN);
    errno = EINVAL;
    return -1;
  }
  attr->stacksize = size;
  return 0;
}

EMU_EXPORT int veo_get_thr_ctxt_stacksize(struct veo_thr_ctxt_attr *attr, size_t *size) {
  if (!attr || !size) {
    errno = EINVAL;
    return -1;
  }
  *size = attr->stacksize;
  return 0;
}
