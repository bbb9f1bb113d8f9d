/*
 * The bare C loop the evaluator is compared with: calls a kernel of kernels.c `number`
 * times through a function pointer (as the evaluator's timer does, so neither inlines it)
 * between two CLOCK_MONOTONIC readings, `repeat` times, and prints the fastest and the
 * median nanoseconds per run as JSON.
 *   loop <empty|vsum> <number> <repeat> [n]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long empty_kernel(void);
double vsum(const double *a, long n);

static long (*volatile empty_fn)(void) = empty_kernel;
static double (*volatile vsum_fn)(const double *, long) = vsum;

static double now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  if (argc < 4) return 2;
  const char *which = argv[1];
  long number = atol(argv[2]), repeat = atol(argv[3]), n = argc > 4 ? atol(argv[4]) : 0;
  double *a = calloc(n > 0 ? n : 1, sizeof(double));
  double *per = calloc(repeat, sizeof(double));
  if (!a || !per || number <= 0 || repeat <= 0) return 2;
  for (long i = 0; i < n; i++) a[i] = i % 7;
  int empty = strcmp(which, "empty") == 0;
  for (long r = 0; r < repeat; r++) {
    double t0 = now_ns();
    for (long i = 0; i < number; i++) {
      if (empty) empty_fn();
      else vsum_fn(a, n);
    }
    per[r] = (now_ns() - t0) / number;
  }
  qsort(per, repeat, sizeof(double), cmp);
  printf("{\"minNs\": %.3f, \"medianNs\": %.3f}\n", per[0], per[repeat / 2]);
  return 0;
}
