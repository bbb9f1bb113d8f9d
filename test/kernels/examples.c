/*
 * Kernels in the spirit of py-veo's examples (do_sleep, multeach, mod_buff, test5/7/9,
 * average), for the ports in test/examples.test.ts.
 */
#include <string.h>
#include <unistd.h>

int do_sleep(int s) {
  usleep((useconds_t)s * 1000);
  return s;
}

/* Multiplies each element by f in VE memory; returns the new sum. */
long multeach(long *a, int n, long f) {
  long s = 0;
  for (int i = 0; i < n; i++) {
    a[i] *= f;
    s += a[i];
  }
  return s;
}

/* test5: the VH wrote a greeting into VE memory; echo its length. */
int greeting_len(const char *s) { return (int)strlen(s); }

/* test7: write a greeting into an OUT stack buffer. */
int hola(char *out, int n) {
  const char msg[] = "Hola VH!!!";
  memset(out, 0, (size_t)n);
  memcpy(out, msg, sizeof msg - 1 < (size_t)n ? sizeof msg - 1 : (size_t)n);
  return n;
}

/* test9: b = a + 2 (stack OUT), c = a (x) w into VE memory, returns sum(a). */
long test9(const long *a, long *b, double *c, const double *w, int n, int m) {
  long s = 0;
  for (int i = 0; i < n; i++) {
    b[i] = a[i] + 2;
    s += a[i];
    for (int j = 0; j < m; j++) c[i * m + j] = (double)a[i] * w[j];
  }
  return s;
}

double average(const double *a, long n) {
  double s = 0;
  for (long i = 0; i < n; i++) s += a[i];
  return n ? s / (double)n : 0;
}
