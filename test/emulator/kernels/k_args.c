/*
 * k_args.c - argument-passing kernels (libk_args.so): one receiver per setter type, the
 * long argument lists of many_args.h, and stack-argument (veo_args_set_stack) kernels.
 * Receivers return what arrived, widened to 64 bits by the x86 compiler itself, so the
 * host can compare exactly without relying on result conversion.
 */
#include <stdint.h>
#include <string.h>

#define VEO_TEST_KERNEL
#include "many_args.h"

int64_t r_i8(int8_t x) { return x; }
int64_t r_i16(int16_t x) { return x; }
int64_t r_i32(int32_t x) { return x; }
int64_t r_i64(int64_t x) { return x; }
uint64_t r_u8(uint8_t x) { return x; }
uint64_t r_u16(uint16_t x) { return x; }
uint64_t r_u32(uint32_t x) { return x; }
uint64_t r_u64(uint64_t x) { return x; }
uint64_t r_ptr(void *p) { return (uint64_t)p; }

uint64_t r_float(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

uint64_t r_double(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

/* A narrow argument after a float and a double: positions must not shift. */
uint64_t r_after_fp(float f, double d, int8_t c, uint16_t s) {
  return (f == 2.5f && d == -0.125) ? (uint64_t)(int64_t)c * 100000 + s : ~0ULL;
}

/* Nine integers: the ninth is the first one on the VE stack (parameter area). */
uint64_t nine(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g,
              int64_t h, int64_t i) {
  return (uint64_t)(a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i);
}

/* Ten doubles (more than 8 FP registers on x86-64): the bit pattern of their sum. */
uint64_t ten_doubles(double a, double b, double c, double d, double e, double f, double g,
                     double h, double i, double j) {
  double s = a + b + c + d + e + f + g + h + i + j;
  uint64_t r;
  memcpy(&r, &s, sizeof r);
  return r;
}

/* ---- stack arguments ---- */

/* Weighted checksum of an IN buffer: sum of buf[i] * (i + 1). */
uint64_t stk_sum(const unsigned char *buf, int len) {
  uint64_t s = 0;
  for (int i = 0; i < len; i++) s += (uint64_t)buf[i] * (uint64_t)(i + 1);
  return s;
}

/* INOUT: p[i] = 3 * p[i] + 1; returns the sum of the old values. */
uint64_t stk_inout(int64_t *p, int n) {
  int64_t s = 0;
  for (int i = 0; i < n; i++) {
    s += p[i];
    p[i] = 3 * p[i] + 1;
  }
  return (uint64_t)s;
}

/* OUT-only pointer result (the shape of upstream's test_stackout). */
uint64_t stk_out_ptr(int in, void **out) {
  *out = (void *)(uintptr_t)(in ? 0x12345679 : 0x12345678);
  return 0;
}

/* OUT: fills len bytes with (i * 13 + seed) & 0xff. */
uint64_t stk_out_fill(unsigned char *out, int len, int seed) {
  for (int i = 0; i < len; i++) out[i] = (unsigned char)(i * 13 + seed);
  return (uint64_t)len;
}

/* A zero-length stack argument followed by a plain one. */
uint64_t stk_empty(char *p, int x) { return p ? (uint64_t)(x + 1) : 0; }

/* INOUT of any size: every byte ^= 0x5a; returns the sum of the old bytes. */
uint64_t stk_xor(unsigned char *buf, uint64_t len) {
  uint64_t s = 0;
  for (uint64_t i = 0; i < len; i++) {
    s += buf[i];
    buf[i] ^= 0x5a;
  }
  return s;
}

/*
 * The mixed shape of upstream's many-inout test: IN string, INOUT int, OUT float, five
 * doubles, OUT char[10], a u32. Returns a bitmask of wrong inputs (0 = all right).
 */
uint64_t stk_mixed(const char *in, int *io, float *out, double d0, double d1, double d2,
                   double d3, double d4, char *out10, uint32_t u) {
  uint64_t bad = 0;
  if (strcmp(in, "veo-in") != 0) bad |= 1;
  if (*io != 21) bad |= 2;
  if (d0 != 1.0 || d1 != 2.0 || d2 != 3.0 || d3 != 4.0 || d4 != 5.5) bad |= 4;
  if (u != 0xa0a0a0a0u) bad |= 8;
  *io *= 2;
  *out = 3.5f;
  memcpy(out10, "0123456789", 10);
  return bad;
}

/* A stack argument beyond the eight register arguments: *p += sum(a..i); returns *p. */
uint64_t stk_late(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f,
                  int64_t g, int64_t h, int64_t i, int64_t *p) {
  *p += a + b + c + d + e + f + g + h + i;
  return (uint64_t)*p;
}
