/*
 * Kernels of the device benchmark (bench/devices.ts): one that computes for about `ms`
 * milliseconds per item (pool throughput), and two small ones whose per-run time the
 * evaluator measures against a bare C loop (bench/devices/loop.c).
 */
#include <stdint.h>
#include <time.h>

static double now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Computes for about ms milliseconds; returns i * i. */
long work_item(long i, double ms)
{
  double end = now_ms() + ms;
  volatile double x = 0;
  while (now_ms() < end)
    x += 1;
  return i * i;
}

/* Nothing: the floor of a timed run. */
long empty_kernel(void) { return 0; }

/* A short vector loop: the sum of n doubles. */
double vsum(const double *a, long n)
{
  double s = 0;
  for (long i = 0; i < n; i++)
    s += a[i];
  return s;
}
