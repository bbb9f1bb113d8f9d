/*
 * veo_bench.c - the C reference client of veo-ts's benchmarks. It measures, on whatever
 * libveo.so.1 it is linked against (the host emulator or a real AVEO), what the binding
 * variants in bench/binding-client.ts measure, so bench/run.ts can put the two side by side
 * and show the binding's own cost as a ratio.
 *
 * Usage: veo_bench <command> [key=value ...]; one JSON object per line on stdout for each
 * figure, diagnostics on stderr, exit status 0 only if every step succeeded.
 *
 *   info                              API version, version string, emulator or not
 *   calls        kernels=<so> tests=1234 n=1,10,.. min_calls=<k>
 *                Test 1: submit N then wait N; Test 2: N x (submit + wait);
 *                Test 3: submit N, wait only the last; Test 4: N synchronous calls.
 *                A batch of N is repeated until min_calls calls were made; the figure is the
 *                mean per call over those batches.
 *   xfer-latency iters=<k>            k x 1-byte veo_write_mem, then k x 1-byte veo_read_mem
 *   bw           mode=sync|async|stack kernels=<so> sizes=.. budget=<bytes> max_loops=<k>
 *                sync: veo_write_mem/veo_read_mem loops; async: submit all then wait all;
 *                stack: IN / OUT stack argument of test_bandwidth (write / read)
 *   memcpy       sizes=.. budget=<bytes> max_loops=<k>   host memcpy, the reference ceiling
 *   idle-rss     settle_ms=<ms>       VmRSS of a freshly created helper (emulator only)
 *   inflight-rss kernels=<so> n=<k>   host RSS growth with k requests queued behind a
 *                                     blocked kernel
 *
 * Timing is CLOCK_MONOTONIC around the measured loop only; proc creation, library loading
 * and the warm-up happen before it. The call-latency and 1-byte transfer loops are in
 * loops.c, shared with libveo_bench_loops.so (the paired section, see loops.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loops.h"

#define MAX_SIZES 64

struct options {
  const char *kernels;
  const char *tests;
  const char *mode;
  long n_list[MAX_SIZES];
  int n_count;
  size_t sizes[MAX_SIZES];
  int size_count;
  long min_calls;
  long iters;
  long max_loops;
  long min_loops;
  double budget;
  long settle_ms;
};

struct session {
  struct veo_proc_handle *proc;
  struct veo_thr_ctxt *ctx;
  uint64_t lib;
  double created_us; /* when the proc had been created: warm-ups last WARMUP_MS from here */
};

/* Warm-ups last at least this long after the proc was created, in both clients: for the
 * first tens of ms a new helper process often shares the client's CPU until the kernel's
 * load balancer moves it (the first figure came out at 1.4-1.8 us per call instead of 0.7
 * after a 25 ms warm-up). */
#define WARMUP_MS 300

/* ---- argument parsing ------------------------------------------------------------------ */

static int parse_list(const char *text, long *out, int max)
{
  int count = 0;
  const char *p = text;
  while (*p && count < max) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p)
      break;
    out[count++] = v;
    p = (*end == ',') ? end + 1 : end;
  }
  return count;
}

static void parse_options(int argc, char **argv, struct options *o)
{
  memset(o, 0, sizeof *o);
  o->tests = "1234";
  o->mode = "sync";
  o->min_calls = 10000;
  o->iters = 30000;
  o->max_loops = 10000;
  o->min_loops = 3;
  o->budget = 256.0 * 1024 * 1024;
  o->settle_ms = 300;
  for (int i = 2; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) {
      fprintf(stderr, "veo_bench: expected key=value, got '%s'\n", argv[i]);
      exit(64);
    }
    *eq = '\0';
    const char *key = argv[i], *val = eq + 1;
    if (!strcmp(key, "kernels")) o->kernels = val;
    else if (!strcmp(key, "tests")) o->tests = val;
    else if (!strcmp(key, "mode")) o->mode = val;
    else if (!strcmp(key, "n")) o->n_count = parse_list(val, o->n_list, MAX_SIZES);
    else if (!strcmp(key, "sizes")) {
      long tmp[MAX_SIZES];
      o->size_count = parse_list(val, tmp, MAX_SIZES);
      for (int k = 0; k < o->size_count; k++)
        o->sizes[k] = (size_t)tmp[k];
    }
    else if (!strcmp(key, "min_calls")) o->min_calls = atol(val);
    else if (!strcmp(key, "iters")) o->iters = atol(val);
    else if (!strcmp(key, "max_loops")) o->max_loops = atol(val);
    else if (!strcmp(key, "min_loops")) o->min_loops = atol(val);
    else if (!strcmp(key, "budget")) o->budget = atof(val);
    else if (!strcmp(key, "settle_ms")) o->settle_ms = atol(val);
    else {
      fprintf(stderr, "veo_bench: unknown option '%s'\n", key);
      exit(64);
    }
  }
}

/* ---- session ----------------------------------------------------------------------------- */

static void session_open(struct session *s, const char *kernels)
{
  s->proc = veo_proc_create(0);
  if (!s->proc)
    vbl_die("veo_proc_create(0)");
  s->created_us = vbl_now_us();
  s->lib = 0;
  if (kernels) {
    s->lib = veo_load_library(s->proc, kernels);
    if (s->lib == 0)
      vbl_die("veo_load_library");
  }
  s->ctx = veo_context_open(s->proc);
  if (!s->ctx)
    vbl_die("veo_context_open");
}

static void session_close(struct session *s)
{
  if (veo_context_close(s->ctx) != 0)
    vbl_die("veo_context_close");
  if (veo_proc_destroy(s->proc) != 0)
    vbl_die("veo_proc_destroy");
}

static uint64_t session_sym(struct session *s, const char *name)
{
  uint64_t sym = veo_get_sym(s->proc, s->lib, name);
  if (sym == 0)
    vbl_die(name);
  return sym;
}

/* ---- call latency ------------------------------------------------------------------------- */

#define WARMUP_CALLS 5000

static int cmd_calls(const struct options *o)
{
  struct session s;
  session_open(&s, o->kernels);
  uint64_t sym = session_sym(&s, "empty");
  struct veo_args *args = veo_args_alloc();
  if (!args)
    vbl_die("veo_args_alloc");
  long max_n = 100; /* at least the warm-up batch */
  for (int i = 0; i < o->n_count; i++)
    if (o->n_list[i] > max_n)
      max_n = o->n_list[i];
  uint64_t *reqs = malloc(sizeof(uint64_t) * (size_t)max_n);
  if (!reqs)
    vbl_die("malloc");
  /* Warm-up, as the binding client does: every test, 5 000 calls in batches of 1 and of 100
   * (caches, the helper's pages and its spin/sleep state, not a JIT), twice and then until
   * WARMUP_MS have passed, before the first figure */
  for (int pass = 0; pass < 2 || vbl_now_us() - s.created_us < WARMUP_MS * 1000.0; pass++)
    for (const char *t = o->tests; *t; t++) {
      vbl_calls_timed(s.proc, s.ctx, sym, args, *t - '0', 1, WARMUP_CALLS, reqs);
      vbl_calls_timed(s.proc, s.ctx, sym, args, *t - '0', 100, WARMUP_CALLS / 100, reqs);
    }
  for (int i = 0; i < o->n_count; i++) {
    long n = o->n_list[i];
    long batches = (o->min_calls + n - 1) / n;
    for (const char *t = o->tests; *t; t++) {
      int test = *t - '0';
      double spent = vbl_calls_timed(s.proc, s.ctx, sym, args, test, n, batches, reqs);
      double us = spent / (double)(batches * n);
      printf("{\"kind\":\"call\",\"test\":%d,\"n\":%ld,\"batches\":%ld,\"us_per_call\":%.6f}\n",
             test, n, batches, us);
      fflush(stdout);
    }
  }
  free(reqs);
  veo_args_free(args);
  session_close(&s);
  return 0;
}

/* ---- 1-byte transfer latency -------------------------------------------------------------- */

static int cmd_xfer_latency(const struct options *o)
{
  struct session s;
  session_open(&s, NULL);
  uint64_t ve;
  char byte = 42;
  if (veo_alloc_mem(s.proc, &ve, 8) != 0)
    vbl_die("veo_alloc_mem");
  for (int i = 0; i < WARMUP_CALLS || vbl_now_us() - s.created_us < WARMUP_MS * 1000.0; i++)
    if (veo_write_mem(s.proc, ve, &byte, 1) != 0 || veo_read_mem(s.proc, &byte, ve, 1) != 0)
      vbl_die("warm-up transfer");
  double write_us = vbl_xfer(s.proc, ve, &byte, 1, o->iters);
  double read_us = vbl_xfer(s.proc, ve, &byte, 0, o->iters);
  printf("{\"kind\":\"xfer_latency\",\"dir\":\"write\",\"iters\":%ld,\"us\":%.6f}\n", o->iters,
         write_us / (double)o->iters);
  printf("{\"kind\":\"xfer_latency\",\"dir\":\"read\",\"iters\":%ld,\"us\":%.6f}\n", o->iters,
         read_us / (double)o->iters);
  if (veo_free_mem(s.proc, ve) != 0)
    vbl_die("veo_free_mem");
  session_close(&s);
  return 0;
}

/* ---- bandwidth ---------------------------------------------------------------------------- */

static long loops_for(const struct options *o, size_t size)
{
  long loops = (long)(o->budget / (double)size + 0.999);
  if (loops < o->min_loops)
    loops = o->min_loops;
  if (loops > o->max_loops)
    loops = o->max_loops;
  return loops;
}

static char *host_buffer(size_t size)
{
  char *p = malloc(size ? size : 1);
  if (!p)
    vbl_die("malloc");
  for (size_t i = 0; i < size; i++)
    p[i] = (char)(i * 7);
  return p;
}

static void print_bw(const char *kind, const char *mode, const char *dir, size_t size,
                     long loops, double us)
{
  double mbps = (double)size * (double)loops / us; /* bytes/us = MB/s */
  printf("{\"kind\":\"%s\",\"mode\":\"%s\",\"dir\":\"%s\",\"size\":%zu,\"loops\":%ld,"
         "\"mb_per_s\":%.3f}\n", kind, mode, dir, size, loops, mbps);
  fflush(stdout);
}

static void bw_sync(struct session *s, size_t size, long loops, char *buf, uint64_t ve)
{
  double t0 = vbl_now_us();
  for (long i = 0; i < loops; i++)
    if (veo_write_mem(s->proc, ve, buf, size) != 0)
      vbl_die("veo_write_mem");
  double t1 = vbl_now_us();
  for (long i = 0; i < loops; i++)
    if (veo_read_mem(s->proc, buf, ve, size) != 0)
      vbl_die("veo_read_mem");
  double t2 = vbl_now_us();
  print_bw("bw", "sync", "write", size, loops, t1 - t0);
  print_bw("bw", "sync", "read", size, loops, t2 - t1);
}

static void bw_async(struct session *s, size_t size, long loops, char *buf, uint64_t ve)
{
  uint64_t *reqs = malloc(sizeof(uint64_t) * (size_t)loops);
  if (!reqs)
    vbl_die("malloc");
  double t0 = vbl_now_us();
  for (long i = 0; i < loops; i++)
    reqs[i] = veo_async_write_mem(s->ctx, ve, buf, size);
  for (long i = 0; i < loops; i++)
    vbl_wait_ok(s->ctx, reqs[i]);
  double t1 = vbl_now_us();
  for (long i = 0; i < loops; i++)
    reqs[i] = veo_async_read_mem(s->ctx, buf, ve, size);
  for (long i = 0; i < loops; i++)
    vbl_wait_ok(s->ctx, reqs[i]);
  double t2 = vbl_now_us();
  free(reqs);
  print_bw("bw", "async", "write", size, loops, t1 - t0);
  print_bw("bw", "async", "read", size, loops, t2 - t1);
}

/* One stack-argument call; returns 0, or -1 if the library refused it (too big a stack). */
static int stack_call(struct session *s, uint64_t sym, struct veo_args *args, int intent,
                      char *buf, size_t size)
{
  veo_args_clear(args);
  if (veo_args_set_stack(args, intent, 0, buf, size) != 0 ||
      veo_args_set_u64(args, 1, size) != 0)
    vbl_die("veo_args_set_stack");
  uint64_t req = veo_call_async(s->ctx, sym, args);
  if (req == VEO_REQUEST_ID_INVALID)
    return -1;
  vbl_wait_ok(s->ctx, req);
  return 0;
}

static void bw_stack(struct session *s, size_t size, long loops, char *buf, uint64_t sym,
                     struct veo_args *args)
{
  static const int intents[2] = { VEO_INTENT_IN, VEO_INTENT_OUT };
  static const char *dirs[2] = { "write", "read" };
  for (int d = 0; d < 2; d++) {
    if (stack_call(s, sym, args, intents[d], buf, size) != 0) { /* warm-up and limit probe */
      printf("{\"kind\":\"bw\",\"mode\":\"stack\",\"dir\":\"%s\",\"size\":%zu,"
             "\"error\":\"refused by the library\"}\n", dirs[d], size);
      continue;
    }
    double t0 = vbl_now_us();
    for (long i = 0; i < loops; i++)
      if (stack_call(s, sym, args, intents[d], buf, size) != 0)
        vbl_die("veo_call_async with a stack argument");
    print_bw("bw", "stack", dirs[d], size, loops, vbl_now_us() - t0);
  }
}

static int cmd_bw(const struct options *o)
{
  int stack = !strcmp(o->mode, "stack");
  struct session s;
  session_open(&s, stack ? o->kernels : NULL);
  uint64_t sym = stack ? session_sym(&s, "test_bandwidth") : 0;
  struct veo_args *args = veo_args_alloc();
  if (!args)
    vbl_die("veo_args_alloc");
  for (int i = 0; i < o->size_count; i++) {
    size_t size = o->sizes[i];
    long loops = loops_for(o, size);
    char *buf = host_buffer(size);
    if (stack) {
      bw_stack(&s, size, loops, buf, sym, args);
    } else {
      uint64_t ve;
      if (veo_alloc_mem(s.proc, &ve, size) != 0)
        vbl_die("veo_alloc_mem");
      if (veo_write_mem(s.proc, ve, buf, size) != 0) /* warm-up: fault the VE pages in */
        vbl_die("veo_write_mem");
      if (!strcmp(o->mode, "sync"))
        bw_sync(&s, size, loops, buf, ve);
      else
        bw_async(&s, size, loops, buf, ve);
      if (veo_free_mem(s.proc, ve) != 0)
        vbl_die("veo_free_mem");
    }
    free(buf);
  }
  veo_args_free(args);
  session_close(&s);
  return 0;
}

static int cmd_memcpy(const struct options *o)
{
  for (int i = 0; i < o->size_count; i++) {
    size_t size = o->sizes[i];
    long loops = loops_for(o, size);
    char *src = host_buffer(size), *dst = host_buffer(size);
    memcpy(dst, src, size); /* warm-up */
    double t0 = vbl_now_us();
    for (long k = 0; k < loops; k++) {
      memcpy(dst, src, size);
      __asm__ __volatile__("" : : "r"(dst) : "memory"); /* keep every copy */
    }
    print_bw("memcpy", "memcpy", "copy", size, loops, vbl_now_us() - t0);
    free(src);
    free(dst);
  }
  return 0;
}

/* ---- memory ------------------------------------------------------------------------------- */

/* VmRSS of a process in KiB, or -1. */
static long rss_kib(pid_t pid)
{
  char path[64], line[256];
  long kib = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

/* The helper's host pid through the emulator extension; -1 on a real libveo. */
static pid_t helper_pid(struct veo_proc_handle *proc)
{
  pid_t (*fn)(struct veo_proc_handle *) =
      (pid_t (*)(struct veo_proc_handle *))dlsym(RTLD_DEFAULT, "veo_emu_proc_pid");
  return fn ? fn(proc) : -1;
}

static int cmd_idle_rss(const struct options *o)
{
  struct session s;
  session_open(&s, NULL);
  usleep((useconds_t)o->settle_ms * 1000);
  pid_t pid = helper_pid(s.proc);
  long kib = pid > 0 ? rss_kib(pid) : -1;
  /* kib -1: no helper process on the host (a real VE), reported as not measured */
  printf("{\"kind\":\"idle_rss\",\"pid\":%d,\"kib\":%ld}\n", (int)pid, kib);
  session_close(&s);
  return 0;
}

static int cmd_inflight_rss(const struct options *o)
{
  long n = o->n_count ? o->n_list[0] : 300000;
  if (setenv("VE_OMP_NUM_THREADS", "1", 1) != 0) /* upstream needs it for a 2nd context */
    vbl_die("setenv");
  struct session s;
  session_open(&s, o->kernels);
  struct veo_thr_ctxt *busy = veo_context_open(s.proc); /* the 1st open gave the main ctx */
  if (!busy)
    vbl_die("veo_context_open (second context)");
  uint64_t empty = session_sym(&s, "empty"), block = session_sym(&s, "block_on_flag");
  uint64_t flag, zero = 0, one = 1;
  if (veo_alloc_mem(s.proc, &flag, 8) != 0 || veo_write_mem(s.proc, flag, &zero, 8) != 0)
    vbl_die("flag setup");
  struct veo_args *args = veo_args_alloc(), *bargs = veo_args_alloc();
  uint64_t *reqs = malloc(sizeof(uint64_t) * (size_t)n);
  if (!args || !bargs || !reqs)
    vbl_die("alloc");
  vbl_wait_ok(busy, veo_call_async(busy, empty, args)); /* warm-up */
  if (veo_args_set_u64(bargs, 0, flag) != 0 || veo_args_set_u64(bargs, 1, 120000) != 0)
    vbl_die("veo_args_set_u64");
  uint64_t blocker = veo_call_async(busy, block, bargs);
  long before = rss_kib(getpid());
  for (long i = 0; i < n; i++) {
    reqs[i] = veo_call_async(busy, empty, args);
    if (reqs[i] == VEO_REQUEST_ID_INVALID)
      vbl_die("veo_call_async");
  }
  long during = rss_kib(getpid());
  if (veo_write_mem(s.proc, flag, &one, 8) != 0)
    vbl_die("release write");
  vbl_wait_ok(busy, blocker);
  for (long i = 0; i < n; i++)
    vbl_wait_ok(busy, reqs[i]);
  /* the request-id array is the client's own bookkeeping, not the library's */
  double per_req = ((double)(during - before) * 1024.0 - 8.0 * (double)n) / (double)n;
  printf("{\"kind\":\"inflight_rss\",\"n\":%ld,\"before_kib\":%ld,\"during_kib\":%ld,"
         "\"bytes_per_request\":%.1f}\n", n, before, during, per_req);
  if (veo_context_close(busy) != 0)
    vbl_die("veo_context_close (second context)");
  free(reqs);
  veo_args_free(args);
  veo_args_free(bargs);
  session_close(&s);
  return 0;
}

static int cmd_info(void)
{
  int (*is_emu)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "veo_emu_is_emulator");
  printf("{\"kind\":\"info\",\"api\":%d,\"version\":\"%s\",\"emulator\":%s}\n",
         veo_api_version(), veo_version_string(), is_emu && is_emu() ? "true" : "false");
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: veo_bench info|calls|xfer-latency|bw|memcpy|idle-rss|inflight-rss "
                    "[key=value ...]\n");
    return 64;
  }
  struct options o;
  parse_options(argc, argv, &o);
  const char *cmd = argv[1];
  if (!strcmp(cmd, "info")) return cmd_info();
  if (!strcmp(cmd, "calls")) return cmd_calls(&o);
  if (!strcmp(cmd, "xfer-latency")) return cmd_xfer_latency(&o);
  if (!strcmp(cmd, "bw")) return cmd_bw(&o);
  if (!strcmp(cmd, "memcpy")) return cmd_memcpy(&o);
  if (!strcmp(cmd, "idle-rss")) return cmd_idle_rss(&o);
  if (!strcmp(cmd, "inflight-rss")) return cmd_inflight_rss(&o);
  fprintf(stderr, "veo_bench: unknown command '%s'\n", cmd);
  return 64;
}
