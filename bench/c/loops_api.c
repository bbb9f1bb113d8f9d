/*
 * loops_api.c - the exported face of libveo_bench_loops.so: the C client's loops (loops.c)
 * for a caller that already holds a proc, a context and a kernel address. The binding client
 * (bench/binding/paired.ts) calls them through koffi with the binding's own handles, so the
 * C loop and the binding's loop are timed in one process, on one machine state.
 * vbl_xfer (loops.h) is exported as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "loops.h"

/* As in the C client, one veo_args and one request-id array per process, kept across calls.
 * The array grows to the largest n asked for and is written when it grows, so no timed batch
 * pays its first-touch page faults (the binding's request array is allocated filled, too). */
static struct veo_args *call_args;
static uint64_t *call_reqs;
static long call_reqs_len;

/* Grows the request-id array to at least n (written, so no timed batch faults its pages in). */
static void grow_reqs(long n)
{
  if (n <= call_reqs_len)
    return;
  uint64_t *grown = realloc(call_reqs, sizeof(uint64_t) * (size_t)n);
  if (!grown)
    vbl_die("realloc");
  memset(grown, 0, sizeof(uint64_t) * (size_t)n);
  call_reqs = grown;
  call_reqs_len = n;
}

/* vbl_calls_timed with the library's own veo_args and request ids; returns the µs spent. */
double vbl_calls(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx, uint64_t sym, int test,
                 long n, long batches)
{
  if (!call_args && !(call_args = veo_args_alloc()))
    vbl_die("veo_args_alloc");
  grow_reqs(n);
  return vbl_calls_timed(proc, ctx, sym, call_args, test, n, batches, call_reqs);
}

/* vbl_callvh with the library's own request-id array (grown as vbl_calls grows it). */
double vbl_callvh_api(struct veo_thr_ctxt *ctx, int pipelined, long iters)
{
  grow_reqs(iters);
  return vbl_callvh(ctx, pipelined, iters, call_reqs);
}
