/*
 * loops.h - the C client's measured loops, written once. bench/c/veo_bench.c runs them in
 * its own process; bench/c/loops_api.c exports them as libveo_bench_loops.so, which the
 * binding client loads with koffi to run the very same loops inside its own process,
 * interleaved with the binding's (the "paired" section of bench/run.ts).
 */
#ifndef VEO_BENCH_LOOPS_H
#define VEO_BENCH_LOOPS_H

#include <stdint.h>

#include <ve_offload.h>

/* CLOCK_MONOTONIC in µs. */
double vbl_now_us(void);

/* Prints "<what> failed" with errno and exits with status 2. */
void vbl_die(const char *what);

/* Waits for a request and exits unless it ended with VEO_COMMAND_OK. */
void vbl_wait_ok(struct veo_thr_ctxt *ctx, uint64_t req);

/*
 * Call latency: `batches` batches of `n` calls of `sym` (no arguments) in the shape of
 * upstream's Test 1-4 (`test`), each batch timed on its own; returns the µs spent in them.
 * `reqs` holds at least `n` request ids. Test 3 leaves n-1 results uncollected; they are
 * collected after each batch, untimed.
 */
double vbl_calls_timed(struct veo_proc_handle *proc, struct veo_thr_ctxt *ctx, uint64_t sym,
                       struct veo_args *args, int test, long n, long batches, uint64_t *reqs);

/* 1-byte transfer latency: `iters` 1-byte veo_write_mem (write != 0) or veo_read_mem of
 * `ve`; returns the µs spent. */
double vbl_xfer(struct veo_proc_handle *proc, uint64_t ve, void *buf, int write, long iters);

/*
 * VH call round trip: `iters` × (veo_call_async_vh of a C function that returns its argument
 * + veo_call_wait_result), in the shape of Test 2 (`pipelined` = 0), or `iters` submits
 * then `iters` waits (Test 1, `pipelined` != 0; `reqs` holds `iters` ids). Returns the µs
 * spent; exits unless every result is right.
 */
double vbl_callvh(struct veo_thr_ctxt *ctx, int pipelined, long iters, uint64_t *reqs);

#endif
