/*
 * Test kernels for the binding: every scalar type in and out, more than 8 arguments, stack
 * (OnStack) arguments of every intent, VE memory, ordering, faults and a global variable.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long buffer = (long)0xdeadbeefdeadbeefUL;

double sum(double *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return s;
}

int8_t id_i8(int8_t x) { return x; }
uint8_t id_u8(uint8_t x) { return x; }
int16_t id_i16(int16_t x) { return x; }
uint16_t id_u16(uint16_t x) { return x; }
int32_t id_i32(int32_t x) { return x; }
uint32_t id_u32(uint32_t x) { return x; }
int64_t id_i64(int64_t x) { return x; }
uint64_t id_u64(uint64_t x) { return x; }
float id_float(float x) { return x; }
double id_double(double x) { return x; }
void *id_ptr(void *p) { return p; }
float half_float(float x) { return x / 2; }
int neg_int(int x) { return -x; }

static long void_calls;
void nothing(void) { void_calls++; }
long void_count(void) { return void_calls; }

/* Every type at once, and more than 8 arguments: the result depends on each one. */
double mixed(char a, unsigned char b, short c, unsigned short d, int e, unsigned int f, long g,
             unsigned long h, float i, double j, int8_t k, uint64_t l) {
  return a + b * 2.0 + c * 3.0 + d * 4.0 + e * 5.0 + f * 6.0 + g * 7.0 + (double)h * 8.0 +
         i * 9.0 + j * 10.0 + k * 11.0 + (double)l * 12.0;
}

double sum10d(double a0, double a1, double a2, double a3, double a4, double a5, double a6,
              double a7, double a8, double a9) {
  return a0 + a1 * 2 + a2 * 3 + a3 * 4 + a4 * 5 + a5 * 6 + a6 * 7 + a7 * 8 + a8 * 9 + a9 * 10;
}

long sum12l(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8,
            long a9, long a10, long a11) {
  return a0 + a1 * 2 + a2 * 3 + a3 * 4 + a4 * 5 + a5 * 6 + a6 * 7 + a7 * 8 + a8 * 9 + a9 * 10 +
         a10 * 11 + a11 * 12;
}

/* Four and five arguments: the edge of the binding's no-array call path. */
long sum4l(long a0, long a1, long a2, long a3) { return a0 + a1 * 2 + a2 * 3 + a3 * 4; }
long sum5l(long a0, long a1, long a2, long a3, long a4) { return sum4l(a0, a1, a2, a3) + a4 * 5; }

/* OnStack: IN sums, OUT fills, INOUT transforms. */
long stack_in(const int *p, int n) {
  long s = 0;
  for (int i = 0; i < n; i++) s += p[i];
  return s;
}
int stack_out(int *p, int n) {
  for (int i = 0; i < n; i++) p[i] = i * i;
  return n;
}
int stack_inout(double *p, int n) {
  for (int i = 0; i < n; i++) p[i] = p[i] * 2 + 1;
  return n;
}
/* py-veo's mod_buff: b[i] = a[i] + 2 (a IN, b OUT), returns the sum of a. */
long mod_buff(const long *a, long *b, int n) {
  long s = 0;
  for (int i = 0; i < n; i++) {
    b[i] = a[i] + 2;
    s += a[i];
  }
  return s;
}
/* Ten stack arguments after eight scalars: stack pointers beyond the registers. */
long stack_many(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7,
                long *out, const long *in) {
  *out = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + *in;
  return *out;
}

/* VE memory. */
void fill(double *a, int n, double v) {
  for (int i = 0; i < n; i++) a[i] = v;
}
void scale(double *a, int n, double f) {
  for (int i = 0; i < n; i++) a[i] *= f;
}

/* Ordering: each call appends to a log; the log is read back. */
static long order_log[1 << 20];
static long order_len;
long record(long v) { /* contexts run concurrently: count atomically */
  long i = __atomic_fetch_add(&order_len, 1, __ATOMIC_SEQ_CST);
  if (i < (long)(sizeof order_log / sizeof order_log[0])) order_log[i] = v;
  return v;
}
long record_len(void) { return order_len; }
long record_at(long i) { return order_log[i]; }
void record_reset(void) { order_len = 0; }

long empty(void) { return 0; }
int add_one(int x) { return x + 1; }
int do_sleep(int ms) {
  usleep((useconds_t)ms * 1000);
  return ms;
}

/* Waits (up to 60 s) until the file `path` exists, the host's go signal: requests queued
 * behind it on the context are all submitted before any of them runs. 1 if it opened. */
int gate(const char *path) {
  for (int i = 0; i < 60000; i++) {
    if (access(path, F_OK) == 0) return 1;
    usleep(1000);
  }
  return 0;
}

/* Faults. */
int segv(void) {
  volatile int *p = (int *)8;
  return *p;
}
int fpe(int x) {
  volatile int z = 0;
  return x / z;
}
int abort_now(void) {
  abort();
  return 0;
}
void exit_now(void) { _exit(3); }

/* HMEM: the kernel strips the tag before using the address. */
#include <veo_hmem.h>
long hmem_sum(long *p, int n) {
  long *q = (long *)veo_get_hmem_addr(p);
  long s = 0;
  for (int i = 0; i < n; i++) s += q[i];
  return s;
}
int hmem_is_ve(void *p) { return veo_is_ve_addr(p); }

/* Memory a kernel allocates on the VE (adoptMem), and a kernel that frees it itself. */
void *ve_malloc(long n) { return malloc((size_t)n); }
void ve_free(void *p) { free(p); }
