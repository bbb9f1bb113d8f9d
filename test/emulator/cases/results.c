/*
 * results.c - result values. Without a hint the result is the raw 64-bit return register
 * (uint64_t kernels, spec §4.4). With veo_emu_args_set_result_type the helper encodes the
 * result as a VE would (veo_emu.h): FLOAT in bits 63:32, DOUBLE as its bits, signed types
 * sign-extended, unsigned zero-extended, VOID 0. veo_args_clear resets the hint.
 */
#include "../helpers.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *ctx;
static uint64_t lib;

static uint64_t typed(const char *name, int type) {
  struct veo_args *a = veo_args_alloc();
  CHECK_EQ(veo_emu_args_set_result_type(a, type), 0);
  uint64_t id = veo_call_async(ctx, SYM(proc, lib, name), a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  uint64_t r = WAIT_OK(ctx, id);
  uint64_t rs = 0;
  CHECK_EQ(veo_call_sync(proc, SYM(proc, lib, name), a, &rs), 0);
  CHECK_EQ(rs, r); /* the same through veo_call_sync */
  veo_args_free(a);
  return r;
}

static uint64_t fbits_hi(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return (uint64_t)b << 32;
}

static uint64_t dbits(double d) {
  uint64_t b;
  memcpy(&b, &d, 8);
  return b;
}

int main(void) {
  check_watchdog(30);
  proc = PROC(0);
  ctx = veo_context_open(proc);
  lib = LOAD(proc, "libk_ret.so");

  STEP("default: raw register");
  CHECK_EQ(typed("ret_u64", VEO_EMU_TYPE_DEFAULT), 0xfedcba9876543210ULL);
  STEP("typed results");
  CHECK_EQ(typed("ret_float", VEO_EMU_TYPE_FLOAT), fbits_hi(1.5f));
  CHECK_EQ(typed("ret_float", VEO_EMU_TYPE_FLOAT), 0x3fc0000000000000ULL);
  CHECK_EQ(typed("ret_double", VEO_EMU_TYPE_DOUBLE), dbits(-2.25));
  CHECK_EQ(typed("ret_i8", VEO_EMU_TYPE_I8), (uint64_t)(int64_t)-5);
  CHECK_EQ(typed("ret_u8", VEO_EMU_TYPE_U8), 250);
  CHECK_EQ(typed("ret_i16", VEO_EMU_TYPE_I16), (uint64_t)(int64_t)-300);
  CHECK_EQ(typed("ret_u16", VEO_EMU_TYPE_U16), 65000);
  CHECK_EQ(typed("ret_i32", VEO_EMU_TYPE_I32), (uint64_t)(int64_t)-7);
  CHECK_EQ(typed("ret_u32", VEO_EMU_TYPE_U32), 0xfffffff0ULL);
  CHECK_EQ(typed("ret_i64", VEO_EMU_TYPE_I64), (uint64_t)(int64_t)-9);
  CHECK_EQ(typed("ret_u64", VEO_EMU_TYPE_U64), 0xfedcba9876543210ULL);
  CHECK_EQ(typed("ret_ptr", VEO_EMU_TYPE_PTR), 0x123456789aULL);
  CHECK_EQ(typed("ret_void", VEO_EMU_TYPE_VOID), 0);

  STEP("typed result with a typed argument");
  struct veo_args *a = veo_args_alloc();
  veo_args_set_float(a, 0, 5.0f);
  CHECK_EQ(veo_emu_args_set_result_type(a, VEO_EMU_TYPE_FLOAT), 0);
  uint64_t id = veo_call_async(ctx, SYM(proc, lib, "half_float"), a);
  CHECK_EQ(WAIT_OK(ctx, id), fbits_hi(2.5f));
  veo_args_clear(a);
  veo_args_set_double(a, 0, -9.0);
  CHECK_EQ(veo_emu_args_set_result_type(a, VEO_EMU_TYPE_DOUBLE), 0);
  id = veo_call_async(ctx, SYM(proc, lib, "half_double"), a);
  CHECK_EQ(WAIT_OK(ctx, id), dbits(-4.5));

  STEP("veo_args_clear resets the hint to DEFAULT");
  veo_args_clear(a);
  CHECK_EQ(veo_emu_args_set_result_type(a, VEO_EMU_TYPE_I32), 0);
  id = veo_call_async(ctx, SYM(proc, lib, "ret_i32"), a);
  CHECK_EQ(WAIT_OK(ctx, id), (uint64_t)(int64_t)-7);
  veo_args_clear(a);
  id = veo_call_async(ctx, SYM(proc, lib, "ret_u64"), a);
  CHECK_EQ(WAIT_OK(ctx, id), 0xfedcba9876543210ULL);
  /* gcc returns an int32_t in %eax, which zero-extends into %rax: the raw register */
  id = veo_call_async(ctx, SYM(proc, lib, "ret_i32"), a);
  CHECK_EQ(WAIT_OK(ctx, id) & 0xffffffffULL, 0xfffffff9ULL);

  STEP("invalid hints");
  errno = 0;
  CHECK_EQ(veo_emu_args_set_result_type(a, 999), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_emu_args_set_result_type(a, -1), -1);
  CHECK_EQ(errno, EINVAL);
  errno = 0;
  CHECK_EQ(veo_emu_args_set_result_type(NULL, VEO_EMU_TYPE_I32), -1);
  CHECK_EQ(errno, EINVAL);
  veo_args_free(a);
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("results: OK\n");
  return 0;
}
