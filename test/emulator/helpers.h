/*
 * helpers.h - host-side shortcuts for the case programs: create a proc, load a kernel
 * library, call a kernel and insist it succeeds. Each failure reports the caller's
 * file:line through check.h.
 */
#ifndef VEO_TEST_HELPERS_H
#define VEO_TEST_HELPERS_H

#include <stdarg.h>
#include <ve_offload.h>
#include <veo_emu.h>

#include "check.h"

#define H_FAIL_(file, line, ...)                                                            \
  do {                                                                                      \
    fflush(stdout);                                                                         \
    fprintf(stderr, "%s:%d: [step %s] ", file, line, check_step);                           \
    fprintf(stderr, __VA_ARGS__);                                                           \
    fprintf(stderr, "\n");                                                                  \
    exit(1);                                                                                \
  } while (0)

static inline struct veo_proc_handle *h_proc(const char *f, int l, int node) {
  struct veo_proc_handle *p = veo_proc_create(node);
  if (!p) H_FAIL_(f, l, "veo_proc_create(%d) returned NULL (errno %d)", node, errno);
  return p;
}
#define PROC(node) h_proc(__FILE__, __LINE__, (node))

static inline uint64_t h_load(const char *f, int l, struct veo_proc_handle *p,
                              const char *name) {
  uint64_t h = veo_load_library(p, kpath(name));
  if (!h) H_FAIL_(f, l, "veo_load_library(%s) returned 0", kpath(name));
  return h;
}
#define LOAD(proc, name) h_load(__FILE__, __LINE__, (proc), (name))

static inline uint64_t h_sym(const char *f, int l, struct veo_proc_handle *p, uint64_t lib,
                             const char *name) {
  uint64_t s = veo_get_sym(p, lib, name);
  if (!s) H_FAIL_(f, l, "veo_get_sym(%s) returned 0", name);
  return s;
}
#define SYM(proc, lib, name) h_sym(__FILE__, __LINE__, (proc), (lib), (name))

static inline struct veo_args *h_args_u64(int n, va_list ap) {
  struct veo_args *a = veo_args_alloc();
  for (int i = 0; i < n; i++) veo_args_set_u64(a, i, va_arg(ap, uint64_t));
  return a;
}

/* Submits fn(u64 args...) on ctx, waits, insists on OK; returns the result. */
static inline uint64_t h_call(const char *f, int l, struct veo_thr_ctxt *ctx, uint64_t fn,
                              int n, ...) {
  va_list ap;
  va_start(ap, n);
  struct veo_args *a = h_args_u64(n, ap);
  va_end(ap);
  uint64_t id = veo_call_async(ctx, fn, a);
  if (id == VEO_REQUEST_ID_INVALID) H_FAIL_(f, l, "veo_call_async returned INVALID");
  uint64_t r = 0;
  int st = veo_call_wait_result(ctx, id, &r);
  if (st != VEO_COMMAND_OK) H_FAIL_(f, l, "wait: status %d (result 0x%" PRIx64 ")", st, r);
  veo_args_free(a);
  return r;
}
/* CALL(ctx, fn, nargs, u64 args...) */
#define CALL(ctx, fn, n, ...) h_call(__FILE__, __LINE__, (ctx), (fn), (n), ##__VA_ARGS__)

/* Same through veo_call_sync on the proc. */
static inline uint64_t h_call_sync(const char *f, int l, struct veo_proc_handle *p,
                                   uint64_t fn, int n, ...) {
  va_list ap;
  va_start(ap, n);
  struct veo_args *a = h_args_u64(n, ap);
  va_end(ap);
  uint64_t r = 0;
  int rc = veo_call_sync(p, fn, a, &r);
  if (rc != 0) H_FAIL_(f, l, "veo_call_sync returned %d (result 0x%" PRIx64 ")", rc, r);
  veo_args_free(a);
  return r;
}
#define CALL_SYNC(proc, fn, n, ...)                                                         \
  h_call_sync(__FILE__, __LINE__, (proc), (fn), (n), ##__VA_ARGS__)

/* Submits fn(u64 args...) on ctx; insists on a valid request id. */
static inline uint64_t h_submit(const char *f, int l, struct veo_thr_ctxt *ctx, uint64_t fn,
                                int n, ...) {
  va_list ap;
  va_start(ap, n);
  struct veo_args *a = h_args_u64(n, ap);
  va_end(ap);
  uint64_t id = veo_call_async(ctx, fn, a);
  if (id == VEO_REQUEST_ID_INVALID) H_FAIL_(f, l, "veo_call_async returned INVALID");
  veo_args_free(a);
  return id;
}
#define SUBMIT(ctx, fn, n, ...) h_submit(__FILE__, __LINE__, (ctx), (fn), (n), ##__VA_ARGS__)

/* Waits for id and insists on `status`; returns the result. */
static inline uint64_t h_wait(const char *f, int l, struct veo_thr_ctxt *ctx, uint64_t id,
                              int status) {
  uint64_t r = 0;
  int st = veo_call_wait_result(ctx, id, &r);
  if (st != status)
    H_FAIL_(f, l, "veo_call_wait_result(id %" PRIu64 "): status %d, expected %d (result 0x%"
            PRIx64 ")", id, st, status, r);
  return r;
}
#define WAIT_OK(ctx, id) h_wait(__FILE__, __LINE__, (ctx), (id), VEO_COMMAND_OK)
#define WAIT_STATUS(ctx, id, st) h_wait(__FILE__, __LINE__, (ctx), (id), (st))

/* Opens a second (or later) context: needs VE_OMP_NUM_THREADS=1 (spec §3.5). */
static inline struct veo_thr_ctxt *h_open_extra(const char *f, int l,
                                                struct veo_proc_handle *p) {
  setenv("VE_OMP_NUM_THREADS", "1", 1);
  struct veo_thr_ctxt *c = veo_context_open(p);
  if (!c) H_FAIL_(f, l, "veo_context_open (extra context) returned NULL");
  return c;
}
#define OPEN_EXTRA(proc) h_open_extra(__FILE__, __LINE__, (proc))

/* Forks a child "host" that runs body(fd) (fd: the write end of a pipe; body never
 * returns) and reads n bytes the child writes there into buf. Returns the child's pid. */
static inline pid_t h_fork_host(const char *f, int l, void (*body)(int fd), void *buf,
                                size_t n) {
  int fds[2];
  if (pipe(fds) != 0) H_FAIL_(f, l, "pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) H_FAIL_(f, l, "fork: %s", strerror(errno));
  if (child == 0) {
    close(fds[0]);
    body(fds[1]);
    _exit(99);
  }
  close(fds[1]);
  ssize_t got = read(fds[0], buf, n);
  close(fds[0]);
  if (got != (ssize_t)n) H_FAIL_(f, l, "the child host reported %zd of %zu bytes", got, n);
  return child;
}
#define FORK_HOST(body, buf, n) h_fork_host(__FILE__, __LINE__, (body), (buf), (n))

/* A program with several scenarios: runs the one named by argv[1] (default: the first)
 * and prints "<prog> <scenario>: OK". */
struct h_scenario {
  const char *name;
  void (*run)(void);
};
static inline int h_scenarios_run(const char *prog, int argc, char **argv,
                                  const struct h_scenario *list, size_t n) {
  const char *which = argc > 1 ? argv[1] : list[0].name;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(which, list[i].name) != 0) continue;
    list[i].run();
    printf("%s %s: OK\n", prog, which);
    return 0;
  }
  CHECK_FAIL_("unknown scenario %s", which);
  return 1;
}
#define RUN_SCENARIOS(prog, argc, argv, list) \
  h_scenarios_run((prog), (argc), (argv), (list), sizeof(list) / sizeof((list)[0]))

#endif /* VEO_TEST_HELPERS_H */
