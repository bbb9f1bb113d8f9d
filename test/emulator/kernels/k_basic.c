/*
 * k_basic.c - general-purpose kernels of the conformance suite (built as libk_basic.so).
 * Every kernel returns uint64_t, as the VEO documentation asks of offloaded functions.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t buffer = 0xdeadbeefdeadbeefULL; /* a data symbol, read through veo_get_sym */
int32_t small_global = -12345;
static uint64_t counter;

uint64_t hello(int i) { return (uint64_t)(i + 1); }

/* Returns 1, 2, 3, ... on successive calls within one proc (one "VE" process). */
uint64_t empty(void) { return ++counter; }

uint64_t get_counter(void) { return counter; }

uint64_t add(uint64_t a, uint64_t b) { return a + b; }

uint64_t return_arg(uint64_t x) { return x; }

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleeps, then returns the CLOCK_MONOTONIC time (ns) at which it finished. */
uint64_t sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return mono_ns();
}

/* Returns the CLOCK_MONOTONIC time (ns) at which it started. */
uint64_t now_ns(void) { return mono_ns(); }

/* log[0] is the count; appends v. Returns the new count. */
uint64_t log_append(uint64_t log, int64_t v) {
  int64_t *p = (int64_t *)log;
  p[1 + p[0]] = v;
  return (uint64_t)++p[0];
}

uint64_t peek64(uint64_t addr) { return *(volatile uint64_t *)addr; }

uint64_t poke64(uint64_t addr, uint64_t v) {
  *(volatile uint64_t *)addr = v;
  return 0;
}

/* Adds d to each of n uint64 at addr. Returns the sum before. */
uint64_t add_each(uint64_t addr, int n, uint64_t d) {
  uint64_t *p = (uint64_t *)addr, s = 0;
  for (int i = 0; i < n; i++) {
    s += p[i];
    p[i] += d;
  }
  return s;
}

uint64_t vemalloc(uint64_t size) { return (uint64_t)malloc(size); }

uint64_t vefree(uint64_t addr) {
  free((void *)addr);
  return 0;
}

/* Fills n bytes at addr with (i*7+seed)&0xff. */
uint64_t fill_pattern(uint64_t addr, uint64_t n, int seed) {
  unsigned char *p = (unsigned char *)addr;
  for (uint64_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
  return n;
}

/*
 * Two kernels on two contexts meet here: flags[me] = 1, then spin until flags[1-me] is set
 * or timeout_ms passes. Returns 1 if the other side arrived. Serialized contexts time out.
 */
uint64_t rendezvous(uint64_t flags, int me, int timeout_ms) {
  volatile uint64_t *f = (volatile uint64_t *)flags;
  __atomic_store_n(&f[me], 1, __ATOMIC_SEQ_CST);
  uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
  while (mono_ns() < end)
    if (__atomic_load_n(&f[1 - me], __ATOMIC_SEQ_CST)) return 1;
  return 0;
}

uint64_t kernel_pid(void) { return (uint64_t)getpid(); }

/* The stack size of the thread running this kernel (0 if unknown). */
uint64_t stack_size(void) {
  pthread_attr_t attr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  pthread_attr_getstacksize(&attr, &size);
  pthread_attr_destroy(&attr);
  return size;
}

/* Uses `mb` MiB of stack, touching every page. Returns a checksum. */
uint64_t use_stack(int mb) {
  size_t n = (size_t)mb << 20;
  volatile unsigned char *p = __builtin_alloca(n);
  for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)i;
  return p[0] + p[n - 4096];
}

static void *thread_body(void *arg) { return (void *)((uintptr_t)arg + 1); }

/* Starts and joins a pthread inside the kernel. Returns 43 iff x == 42. */
uint64_t spawn_thread(int x) {
  pthread_t t;
  void *r;
  if (pthread_create(&t, NULL, thread_body, (void *)(uintptr_t)x) != 0) return 0;
  pthread_join(t, &r);
  return (uintptr_t)r == 43 ? 43 : 0;
}

/* Output without fflush: the helper must flush its stdout before it exits. */
uint64_t say(int n) {
  printf("kernel-says-%d\n", n);
  return (uint64_t)n;
}

/* VE_NODE_NUMBER as the "VE" process sees it (-1 if unset). */
uint64_t env_node(void) {
  const char *s = getenv("VE_NODE_NUMBER");
  return s ? (uint64_t)(int64_t)atoi(s) : (uint64_t)-1;
}

/* Output with fflush: appears at once, in order with the host's flushed output. */
uint64_t say_flushed(int n) {
  printf("kernel-flushed-%d\n", n);
  fflush(stdout);
  return (uint64_t)n;
}

/* The CPUs the calling thread may run on, as a bit mask of CPUs 0..63. */
uint64_t cpu_mask(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  uint64_t m = 0;
  for (int i = 0; i < 64; i++)
    if (CPU_ISSET(i, &set)) m |= 1ULL << i;
  return m;
}
