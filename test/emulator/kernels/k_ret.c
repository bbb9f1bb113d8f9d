/* k_ret.c - kernels with non-uint64_t return types (libk_ret.so), for the result hint. */
#include <stdint.h>

float ret_float(void) { return 1.5f; }
double ret_double(void) { return -2.25; }
int8_t ret_i8(void) { return -5; }
uint8_t ret_u8(void) { return 250; }
int16_t ret_i16(void) { return -300; }
uint16_t ret_u16(void) { return 65000; }
int32_t ret_i32(void) { return -7; }
uint32_t ret_u32(void) { return 0xfffffff0u; }
int64_t ret_i64(void) { return -9; }
uint64_t ret_u64(void) { return 0xfedcba9876543210ULL; }
void *ret_ptr(void) { return (void *)(uintptr_t)0x123456789aULL; }

static volatile int void_calls;
void ret_void(void) { void_calls++; }

float half_float(float x) { return x / 2; }
double half_double(double x) { return x / 2; }
