/* k_omp.c - OpenMP kernel (built with -fopenmp; also linked into a static helper). */
#include <omp.h>
#include <stdint.h>

uint64_t omp_threads(void) {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return (uint64_t)n;
}
