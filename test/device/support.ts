/*
 * What the device tests share: a kernel source compiled through device.compile (VeBuild,
 * cached), and opening a device with it loaded.
 */
import { openDevice, type DeviceModule, type OpenDeviceOptions, type VeDevice } from "../../src/index.js";

export const DEVICE_KERNELS = String.raw`
#include <stdint.h>
#include <time.h>

void scale(double *a, long n, double f) { for (long i = 0; i < n; i++) a[i] *= f; }

double dot(const double *a, const double *b, long n) {
  double s = 0;
  for (long i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

void axpy(long n, double a, const double *x, double *y) { for (long i = 0; i < n; i++) y[i] += a * x[i]; }

/* Writes through a const pointer: a host array passed there must not see it. */
long scribble(const double *a, long n) {
  double *w = (double *)a;
  for (long i = 0; i < n; i++) w[i] = -1;
  return n;
}

long sum_i64(const int64_t *a, long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += a[i];
  return s;
}

float fsum(const float *a, long n) {
  float s = 0;
  for (long i = 0; i < n; i++) s += a[i];
  return s;
}

void iota_i32(int32_t *a, long n, int32_t first) { for (long i = 0; i < n; i++) a[i] = first + (int32_t)i; }

long first_of(double **pp) { return pp != 0; }

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Computes for about ms milliseconds, returns i * i. */
long spin_item(long i, double ms) {
  double end = now_ms() + ms;
  volatile double x = 0;
  while (now_ms() < end) x += 1;
  return i * i;
}

/* Like spin_item, but dies of SIGSEGV when i == bad. */
long spin_or_segv(long i, double ms, long bad) {
  if (i == bad) *(volatile int *)0 = 1;
  return spin_item(i, ms);
}

long empty_kernel(void) { return 0; }
`;

/** Opens `node` and compiles the test kernels into it; the caller closes the device. */
export async function openTestDevice(
  node = 0,
  options?: OpenDeviceOptions,
): Promise<{ device: VeDevice; module: DeviceModule }> {
  const device = await openDevice(node, options);
  try {
    return { device, module: await device.compile(DEVICE_KERNELS) };
  } catch (err) {
    device.close();
    throw err;
  }
}
