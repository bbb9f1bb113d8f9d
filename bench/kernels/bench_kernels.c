/*
 * bench_kernels.c - the "VE" side of veo-ts's benchmarks. One small shared object, called
 * the same way by the C client (bench/c/veo_bench.c) and by the binding variants
 * (bench/binding-client.ts), so both measure the same kernels on the same library.
 *
 * Built with gcc (-fPIC -shared) for the host emulator, or with ncc on a Vector Host.
 * Every kernel returns uint64_t, as the VEO documentation asks of kernels.
 */
#include <stdint.h>
#include <time.h>

/* Does nothing: the call latency tests measure the offload machinery only. */
uint64_t empty(void)
{
  return 0;
}

/* Receives an OnStack buffer; its only job is to make the library copy the buffer in (IN) or
 * out (OUT). Touching the first and last byte keeps the argument observably used. */
uint64_t test_bandwidth(char *buf, uint64_t len)
{
  if (len == 0)
    return 0;
  return (uint64_t)(unsigned char)buf[0] + (uint64_t)(unsigned char)buf[len - 1];
}

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Blocks its context until *flag becomes non-zero (written with a synchronous write_mem from
 * the host, which travels on another context) or timeout_ms passes. The memory benchmark uses
 * it to keep many requests queued ("in flight") behind it. Returns 1 if released, 0 on
 * timeout.
 */
uint64_t block_on_flag(volatile uint64_t *flag, uint64_t timeout_ms)
{
  uint64_t deadline = now_ms() + timeout_ms;
  struct timespec nap = { 0, 100000 }; /* 100 us */
  while (*flag == 0) {
    if (now_ms() >= deadline)
      return 0;
    nanosleep(&nap, NULL);
  }
  return 1;
}
