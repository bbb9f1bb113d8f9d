/*
 * args.c - call arguments (spec §4): every setter type received exactly by a kernel of the
 * matching x86 prototype (signed and unsigned extremes), more than 8 arguments, 48 mixed
 * and 256 alternating int/double arguments (both register classes spill), stack arguments
 * IN / OUT / INOUT (copy-in at submission, copy-out at completion), OUT-only, length 0,
 * a stack argument beyond the register arguments, large stack arguments, veo_args_clear
 * reuse and freeing the arguments right after submission.
 */
#include <float.h>
#include <math.h>

#define VEO_TEST_HOST
#include "../helpers.h"
#include "../many_args.h"

static struct veo_proc_handle *proc;
static struct veo_thr_ctxt *ctx;
static uint64_t lib;

static uint64_t sym(const char *name) { return SYM(proc, lib, name); }

/* Calls `name` with the prepared args on ctx, insists on OK, returns the result. */
static uint64_t run(const char *name, struct veo_args *a) {
  uint64_t id = veo_call_async(ctx, sym(name), a);
  if (id == VEO_REQUEST_ID_INVALID) CHECK_FAIL_("veo_call_async(%s) returned INVALID", name);
  return WAIT_OK(ctx, id);
}

static uint32_t fbits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

static uint64_t dbits(double d) {
  uint64_t b;
  memcpy(&b, &d, 8);
  return b;
}

static void scalars(void) {
  struct veo_args *a = veo_args_alloc();
  CHECK(a != NULL);
#define ONE(setter, kernel, value, expected)                                                \
  do {                                                                                      \
    veo_args_clear(a);                                                                      \
    CHECK_EQ(setter(a, 0, value), 0);                                                       \
    CHECK_EQ(run(kernel, a), (uint64_t)(expected));                                         \
  } while (0)
  STEP("i8");
  ONE(veo_args_set_i8, "r_i8", INT8_MIN, (int64_t)INT8_MIN);
  ONE(veo_args_set_i8, "r_i8", INT8_MAX, 127);
  ONE(veo_args_set_i8, "r_i8", -1, (int64_t)-1);
  STEP("u8");
  ONE(veo_args_set_u8, "r_u8", UINT8_MAX, 255);
  ONE(veo_args_set_u8, "r_u8", 0x80, 0x80);
  STEP("i16");
  ONE(veo_args_set_i16, "r_i16", INT16_MIN, (int64_t)INT16_MIN);
  ONE(veo_args_set_i16, "r_i16", INT16_MAX, INT16_MAX);
  STEP("u16");
  ONE(veo_args_set_u16, "r_u16", UINT16_MAX, UINT16_MAX);
  STEP("i32");
  ONE(veo_args_set_i32, "r_i32", INT32_MIN, (int64_t)INT32_MIN);
  ONE(veo_args_set_i32, "r_i32", INT32_MAX, INT32_MAX);
  ONE(veo_args_set_i32, "r_i32", -2, (int64_t)-2);
  STEP("u32");
  ONE(veo_args_set_u32, "r_u32", UINT32_MAX, UINT32_MAX);
  ONE(veo_args_set_u32, "r_u32", 0xa0a0a0a0u, 0xa0a0a0a0u);
  STEP("i64");
  ONE(veo_args_set_i64, "r_i64", INT64_MIN, INT64_MIN);
  ONE(veo_args_set_i64, "r_i64", INT64_MAX, INT64_MAX);
  ONE(veo_args_set_i64, "r_i64", -1, (int64_t)-1);
  STEP("u64");
  ONE(veo_args_set_u64, "r_u64", UINT64_MAX, UINT64_MAX);
  ONE(veo_args_set_u64, "r_u64", 0x8000000000000001ULL, 0x8000000000000001ULL);
  STEP("float");
  ONE(veo_args_set_float, "r_float", 1.0f, fbits(1.0f));
  ONE(veo_args_set_float, "r_float", -FLT_MAX, fbits(-FLT_MAX));
  ONE(veo_args_set_float, "r_float", FLT_MIN, fbits(FLT_MIN));
  ONE(veo_args_set_float, "r_float", 0.1f, fbits(0.1f));
  STEP("double");
  ONE(veo_args_set_double, "r_double", 1.0, dbits(1.0));
  ONE(veo_args_set_double, "r_double", -DBL_MAX, dbits(-DBL_MAX));
  ONE(veo_args_set_double, "r_double", DBL_MIN, dbits(DBL_MIN));
  ONE(veo_args_set_double, "r_double", -0.1, dbits(-0.1));
  STEP("hmem (passed through as u64, tag bits included)");
  void *tagged = veo_set_proc_identifier((void *)0x1234560ULL, 3);
  ONE(veo_args_set_hmem, "r_ptr", tagged, (uint64_t)tagged);
  ONE(veo_args_set_hmem, "r_ptr", (void *)0x7fff0000ULL, 0x7fff0000ULL);

  STEP("a narrow argument after float and double");
  veo_args_clear(a);
  veo_args_set_float(a, 0, 2.5f);
  veo_args_set_double(a, 1, -0.125);
  veo_args_set_i8(a, 2, -3);
  veo_args_set_u16(a, 3, 65535);
  CHECK_EQ(run("r_after_fp", a), (uint64_t)(-3 * 100000 + 65535));
  STEP("setting an argument again replaces it");
  veo_args_clear(a);
  veo_args_set_i32(a, 0, 5);
  veo_args_set_i32(a, 0, 6);
  CHECK_EQ(run("r_i32", a), 6);
  veo_args_free(a);
  veo_args_free(NULL);
}

static void many(void) {
  struct veo_args *a = veo_args_alloc();
  STEP("nine integers");
  for (int i = 0; i < 9; i++) veo_args_set_i64(a, i, (i % 2 ? -1 : 1) * (int64_t)(i + 1) * 1000);
  int64_t expect = 0;
  for (int i = 0; i < 9; i++) expect += (i + 1) * ((i % 2 ? -1 : 1) * (int64_t)(i + 1) * 1000);
  CHECK_EQ(run("nine", a), (uint64_t)expect);
  STEP("ten doubles");
  veo_args_clear(a);
  double s = 0;
  for (int i = 0; i < 10; i++) {
    veo_args_set_double(a, i, i * 1.5 - 2.0);
    s += i * 1.5 - 2.0;
  }
  CHECK_EQ(run("ten_doubles", a), dbits(s));
  STEP("48 mixed arguments");
  veo_args_clear(a);
  mix48_set(a);
  CHECK_EQ(run("mix48", a), 0);
  STEP("256 arguments");
  veo_args_clear(a);
  many256_set(a);
  CHECK_EQ(run("many256", a), 0);
  STEP("256 arguments through veo_call_sync");
  uint64_t r = 1;
  CHECK_EQ(veo_call_sync(proc, sym("many256"), a, &r), 0);
  CHECK_EQ(r, 0);
  STEP("veo_args_clear, then fewer arguments");
  veo_args_clear(a);
  veo_args_set_u64(a, 0, 77);
  CHECK_EQ(run("r_u64", a), 77);
  veo_args_free(a);
}

static uint64_t weighted(const unsigned char *b, int n) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++) s += (uint64_t)b[i] * (uint64_t)(i + 1);
  return s;
}

static void stack_args(void) {
  uint64_t k_sleep = SYM(proc, LOAD(proc, "libk_basic.so"), "sleep_ms");
  struct veo_args *a = veo_args_alloc();
  unsigned char buf[1000];

  STEP("IN: copied at submission");
  for (int i = 0; i < 1000; i++) buf[i] = (unsigned char)(i * 3);
  uint64_t expect = weighted(buf, 1000);
  uint64_t blocker = SUBMIT(ctx, k_sleep, 1, 150); /* the IN call waits behind this */
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, (char *)buf, sizeof buf), 0);
  veo_args_set_i32(a, 1, 1000);
  uint64_t id = veo_call_async(ctx, sym("stk_sum"), a);
  CHECK(id != VEO_REQUEST_ID_INVALID);
  memset(buf, 0xff, sizeof buf); /* too late to matter */
  WAIT_OK(ctx, blocker);
  CHECK_EQ(WAIT_OK(ctx, id), expect);
  STEP("IN: a reused veo_args re-reads the buffer at each submission");
  CHECK_EQ(run("stk_sum", a), weighted(buf, 1000));

  STEP("IN: args freed right after submission");
  for (int i = 0; i < 1000; i++) buf[i] = (unsigned char)(i ^ 0x33);
  expect = weighted(buf, 1000);
  blocker = SUBMIT(ctx, k_sleep, 1, 100);
  id = veo_call_async(ctx, sym("stk_sum"), a);
  veo_args_free(a);
  memset(buf, 0, sizeof buf);
  WAIT_OK(ctx, blocker);
  CHECK_EQ(WAIT_OK(ctx, id), expect);

  STEP("INOUT");
  a = veo_args_alloc();
  int64_t v[64], orig[64];
  int64_t sum = 0;
  for (int i = 0; i < 64; i++) {
    v[i] = orig[i] = (int64_t)i * -12345 + 7;
    sum += v[i];
  }
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_INOUT, 0, (char *)v, sizeof v), 0);
  veo_args_set_i32(a, 1, 64);
  blocker = SUBMIT(ctx, k_sleep, 1, 100);
  id = veo_call_async(ctx, sym("stk_inout"), a);
  veo_args_free(a); /* the OUT half still lands in v */
  for (int i = 0; i < 64; i++) CHECK_EQ(v[i], orig[i]); /* nothing copied out yet */
  WAIT_OK(ctx, blocker);
  CHECK_EQ(WAIT_OK(ctx, id), (uint64_t)sum);
  for (int i = 0; i < 64; i++) CHECK_EQ(v[i], 3 * orig[i] + 1);

  STEP("OUT-only pointer (test_stackout)");
  a = veo_args_alloc();
  void *ptr = NULL;
  veo_args_set_i32(a, 0, 1);
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_OUT, 1, (char *)&ptr, sizeof ptr), 0);
  CHECK_EQ(run("stk_out_ptr", a), 0);
  CHECK(ptr == (void *)0x12345679);
  veo_args_set_i32(a, 0, 0);
  CHECK_EQ(run("stk_out_ptr", a), 0);
  CHECK(ptr == (void *)0x12345678);

  STEP("OUT fill");
  veo_args_clear(a);
  unsigned char out[777];
  memset(out, 0, sizeof out);
  veo_args_set_stack(a, VEO_INTENT_OUT, 0, (char *)out, 777);
  veo_args_set_i32(a, 1, 777);
  veo_args_set_i32(a, 2, 9);
  CHECK_EQ(run("stk_out_fill", a), 777);
  for (int i = 0; i < 777; i++) CHECK_EQ(out[i], (unsigned char)(i * 13 + 9));

  STEP("length 0");
  veo_args_clear(a);
  char dummy = 'x';
  CHECK_EQ(veo_args_set_stack(a, VEO_INTENT_IN, 0, &dummy, 0), 0);
  veo_args_set_i32(a, 1, 41);
  CHECK_EQ(run("stk_empty", a), 42);
  veo_args_clear(a);
  veo_args_set_stack(a, VEO_INTENT_INOUT, 0, &dummy, 0);
  veo_args_set_i32(a, 1, 43);
  CHECK_EQ(run("stk_empty", a), 44);
  CHECK_EQ(dummy, 'x');

  STEP("mixed IN/INOUT/OUT with doubles and a u32 (test_many_inout)");
  veo_args_clear(a);
  char in[] = "veo-in";
  int io = 21;
  float fout = 0;
  char out10[10];
  memset(out10, '-', sizeof out10);
  veo_args_set_stack(a, VEO_INTENT_IN, 0, in, sizeof in);
  veo_args_set_stack(a, VEO_INTENT_INOUT, 1, (char *)&io, sizeof io);
  veo_args_set_stack(a, VEO_INTENT_OUT, 2, (char *)&fout, sizeof fout);
  veo_args_set_double(a, 3, 1.0);
  veo_args_set_double(a, 4, 2.0);
  veo_args_set_double(a, 5, 3.0);
  veo_args_set_double(a, 6, 4.0);
  veo_args_set_double(a, 7, 5.5);
  veo_args_set_stack(a, VEO_INTENT_OUT, 8, out10, sizeof out10);
  veo_args_set_u32(a, 9, 0xa0a0a0a0u);
  CHECK_EQ(run("stk_mixed", a), 0);
  CHECK_EQ(io, 42);
  CHECK(fout == 3.5f);
  CHECK_MEM(out10, "0123456789", 10);

  STEP("a stack argument after nine integers");
  veo_args_clear(a);
  for (int i = 0; i < 9; i++) veo_args_set_i64(a, i, i + 1);
  int64_t late = 1000;
  veo_args_set_stack(a, VEO_INTENT_INOUT, 9, (char *)&late, sizeof late);
  CHECK_EQ(run("stk_late", a), 1045);
  CHECK_EQ(late, 1045);

  STEP("8 MiB INOUT stack argument");
  size_t n = 8u << 20;
  unsigned char *big = malloc(n), *ref = malloc(n);
  CHECK(big && ref);
  uint64_t bsum = 0;
  for (size_t i = 0; i < n; i++) {
    big[i] = ref[i] = (unsigned char)(i * 17 + (i >> 10));
    bsum += big[i];
  }
  veo_args_clear(a);
  veo_args_set_stack(a, VEO_INTENT_INOUT, 0, (char *)big, n);
  veo_args_set_u64(a, 1, n);
  CHECK_EQ(run("stk_xor", a), bsum);
  for (size_t i = 0; i < n; i++)
    if (big[i] != (unsigned char)(ref[i] ^ 0x5a)) CHECK_FAIL_("byte %zu not copied out", i);
  STEP("8 MiB stack argument through veo_call_sync");
  uint64_t r = 0, xsum = 0;
  for (size_t i = 0; i < n; i++) xsum += big[i];
  CHECK_EQ(veo_call_sync(proc, sym("stk_xor"), a, &r), 0);
  CHECK_EQ(r, xsum);
  CHECK_MEM(big, ref, n); /* xor twice */
  free(big);
  free(ref);

  STEP("61 MiB INOUT stack argument (the largest size upstream's scan uses)");
  n = 61u << 20;
  big = malloc(n);
  CHECK(big != NULL);
  bsum = 0;
  for (size_t i = 0; i < n; i++) {
    big[i] = (unsigned char)(i * 7);
    bsum += big[i];
  }
  veo_args_clear(a);
  veo_args_set_stack(a, VEO_INTENT_INOUT, 0, (char *)big, n);
  veo_args_set_u64(a, 1, n);
  CHECK_EQ(run("stk_xor", a), bsum);
  for (size_t i = 0; i < n; i += 4093)
    if (big[i] != (unsigned char)((i * 7) ^ 0x5a)) CHECK_FAIL_("byte %zu not copied out", i);
  CHECK_EQ(big[n - 1], (unsigned char)(((n - 1) * 7) ^ 0x5a));
  free(big);
  veo_args_free(a);
}

int main(void) {
  check_watchdog(60);
  proc = PROC(0);
  ctx = veo_context_open(proc);
  CHECK(ctx != NULL);
  lib = LOAD(proc, "libk_args.so");
  scalars();
  many();
  stack_args();
  CHECK_EQ(veo_proc_destroy(proc), 0);
  printf("args: OK\n");
  return 0;
}
