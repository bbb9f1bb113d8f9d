/*
 * loops.c - the C client's measured loops (see loops.h): call latency Tests 1-4 and 1-byte
 * transfers. Linked into veo_bench and into libveo_bench_loops.so, so the standalone client
 * and the in-process C loops of the paired section run the same code.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loops.h"

double vbl_now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void vbl_die(const char *what)
{
  fprintf(stderr, "veo_bench: %s failed (errno %d: %s)\n", what, errno, strerror(errno));
  exit(2);
}

void vbl_wait_ok(struct veo_thr_ctxt *ctx, uint64_t req)
{
  uint64_t ret;
  if (req == VEO_REQUEST_ID_INVALID)
    vbl_die("submission");
  int rc = veo_call_wait_result(ctx, req, &ret);
  if (rc != VEO_COMMAND_OK) {
    fprintf(stderr, "veo_bench: request %" PRIu64 " ended with status %d\n", req, rc);
    exit(2);
  }
}

static void calls_batch(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx, uint64_t sym,
                        struct veo_args *args, int test, long n, uint64_t *reqs)
{
  uint64_t ret;
  switch (test) {
  case 1:
    for (long i = 0; i < n; i++)
      reqs[i] = veo_call_async(ctx, sym, args);
    for (long i = 0; i < n; i++)
      vbl_wait_ok(ctx, reqs[i]);
    break;
  case 2:
    for (long i = 0; i < n; i++)
      vbl_wait_ok(ctx, veo_call_async(ctx, sym, args));
    break;
  case 3:
    for (long i = 0; i < n; i++) {
      reqs[i] = veo_call_async(ctx, sym, args);
      if (reqs[i] == VEO_REQUEST_ID_INVALID)
        vbl_die("veo_call_async");
    }
    vbl_wait_ok(ctx, reqs[n - 1]);
    break;
  case 4:
    for (long i = 0; i < n; i++)
      if (veo_call_sync(proc, sym, args, &ret) != 0)
        vbl_die("veo_call_sync");
    break;
  }
}

double vbl_calls_timed(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx, uint64_t sym,
                       struct veo_args *args, int test, long n, long batches, uint64_t *reqs)
{
  double spent = 0;
  for (long b = 0; b < batches; b++) {
    double t0 = vbl_now_us();
    calls_batch(proc, ctx, sym, args, test, n, reqs);
    spent += vbl_now_us() - t0;
    /* Test 3 leaves N-1 results uncollected; collect them untimed, so no later batch,
     * test or N runs with a backlog upstream's one-N-per-process program never has */
    if (test == 3)
      for (long i = 0; i < n - 1; i++)
        vbl_wait_ok(ctx, reqs[i]);
  }
  return spent;
}

double vbl_xfer(struct veo_proc_handle *proc, uint64_t ve, void *buf, int write, long iters)
{
  double t0 = vbl_now_us();
  if (write) {
    for (long i = 0; i < iters; i++)
      if (veo_write_mem(proc, ve, buf, 1) != 0)
        vbl_die("veo_write_mem");
  } else {
    for (long i = 0; i < iters; i++)
      if (veo_read_mem(proc, buf, ve, 1) != 0)
        vbl_die("veo_read_mem");
  }
  return vbl_now_us() - t0;
}

/* The VH function of vbl_callvh: returns its argument, as the binding's benchmark does. */
static uint64_t vbl_vh_identity(void *arg)
{
  return (uint64_t)(uintptr_t)arg;
}

double vbl_callvh(struct veo_thr_ctxt *ctx, int pipelined, long iters, uint64_t *reqs)
{
  uint64_t res;
  double t0 = vbl_now_us();
  if (!pipelined) {
    for (long i = 0; i < iters; i++) {
      uint64_t id = veo_call_async_vh(ctx, vbl_vh_identity, (void *)(uintptr_t)(i + 1));
      if (id == VEO_REQUEST_ID_INVALID || veo_call_wait_result(ctx, id, &res) != VEO_COMMAND_OK ||
          res != (uint64_t)(i + 1))
        vbl_die("veo_call_async_vh");
    }
  } else {
    for (long i = 0; i < iters; i++) {
      reqs[i] = veo_call_async_vh(ctx, vbl_vh_identity, (void *)(uintptr_t)(i + 1));
      if (reqs[i] == VEO_REQUEST_ID_INVALID)
        vbl_die("veo_call_async_vh");
    }
    for (long i = 0; i < iters; i++)
      if (veo_call_wait_result(ctx, reqs[i], &res) != VEO_COMMAND_OK || res != (uint64_t)(i + 1))
        vbl_die("veo_call_wait_result");
  }
  return vbl_now_us() - t0;
}
