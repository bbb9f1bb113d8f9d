/*
 * emu_ctx.c - a context on the host side: its command ring (submission), its request table
 * (results by id), draining completed records, waiting (spin, then futex), and the lazily
 * started VH thread that runs veo_call_async_vh functions and async-memory hooks in queue
 * order. Everything here runs with the context's recursive mutex held unless it says not.
 *
 * Per request the host keeps one 16-byte slot in a power-of-two table indexed by id; the
 * command itself lives in the shared ring only until it has completed and been drained.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_futex.h"
#include "emu_lib.h"

#define EMU_SLOT_INTERNAL 8u
#define EMU_HOST_SPIN_NS 200000ULL    /* spin this long before sleeping on a futex */
#define EMU_HOST_SLEEP_NS 100000000LL /* futex timeout: re-check for a dead helper */

struct veo_thr_ctxt *emu_ctx_create(struct veo_proc_handle *proc, int index) {
  struct veo_thr_ctxt *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return NULL;
  ctx->proc = proc;
  ctx->index = index;
  ctx->ctl = (struct emu_ctx_ctl *)(proc->shm + EMU_CTL_OFFSET(index));
  ctx->ring = proc->shm + EMU_RING_OFFSET(index);
  ctx->cap = 64;
  ctx->slots = calloc(ctx->cap, sizeof *ctx->slots);
  if (!ctx->slots) {
    free(ctx);
    return NULL;
  }
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0 ||
      pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
      pthread_mutex_init(&ctx->lock, &attr) != 0) {
    free(ctx->slots);
    free(ctx);
    return NULL;
  }
  pthread_mutexattr_destroy(&attr);
  memset(ctx->ctl, 0, sizeof *ctx->ctl);
  atomic_store(&ctx->ctl->wake_pos, UINT64_MAX);
  atomic_store(&ctx->ctl->host_cpu, -1);
  atomic_store(&ctx->ctl->helper_cpu, -1);
  atomic_store(&ctx->state, VEO_STATE_RUNNING);
  return ctx;
}

void emu_ctx_destroy(struct veo_thr_ctxt *ctx) {
  if (!ctx) return;
  emu_ctx_stop_vh(ctx);
  /* Give the ring's pages back; the index may be reused by a later context. */
  if (ctx->proc->shm_fd >= 0 &&
      fallocate(ctx->proc->shm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                (off_t)EMU_RING_OFFSET(ctx->index), (off_t)EMU_RING_SIZE) != 0)
    emu_log_debug("veo_context_close", "fallocate: %s", strerror(errno));
  pthread_mutex_destroy(&ctx->lock);
  free(ctx->slots);
  free(ctx);
}

void emu_ctx_lock(struct veo_thr_ctxt *ctx) {
  atomic_fetch_add(&ctx->refs, 1);
  int rc = pthread_mutex_lock(&ctx->lock);
  if (rc != 0) emu_log_error("pthread_mutex_lock", "%s", strerror(rc));
}

void emu_ctx_unlock(struct veo_thr_ctxt *ctx) {
  int rc = pthread_mutex_unlock(&ctx->lock);
  if (rc != 0) emu_log_error("pthread_mutex_unlock", "%s", strerror(rc));
  atomic_fetch_sub(&ctx->refs, 1);
}

void emu_ctx_wake_all(struct veo_thr_ctxt *ctx) {
  atomic_fetch_add(&ctx->ctl->done_seq, 1);
  emu_futex_wake(&ctx->ctl->done_seq, INT_MAX);
  atomic_fetch_add(&ctx->ctl->vh_seq, 1);
  emu_futex_wake(&ctx->ctl->vh_seq, INT_MAX);
}

/* ---- request table ---- */

static struct emu_slot *emu_slot_find(struct veo_thr_ctxt *ctx, uint64_t id) {
  return &ctx->slots[id & (ctx->cap - 1)];
}

static int emu_slots_grow(struct veo_thr_ctxt *ctx) {
  uint64_t ncap = ctx->cap * 2;
  struct emu_slot *ns = malloc(ncap * sizeof *ns);
  if (!ns) return -1;
  for (uint64_t id = ctx->base_id; id != ctx->next_id; id++)
    ns[id & (ncap - 1)] = ctx->slots[id & (ctx->cap - 1)];
  free(ctx->slots);
  ctx->slots = ns;
  ctx->cap = ncap;
  return 0;
}

static void emu_slot_collect(struct veo_thr_ctxt *ctx, struct emu_slot *s) {
  s->flags = EMU_SLOT_COLLECTED;
  while (ctx->base_id != ctx->next_id && (emu_slot_find(ctx, ctx->base_id)->flags &
                                          EMU_SLOT_COLLECTED))
    ctx->base_id++;
}

/* The slot of a user-visible, not yet collected request, or NULL. */
static struct emu_slot *emu_slot_lookup(struct veo_thr_ctxt *ctx, uint64_t id) {
  if (id - ctx->base_id >= ctx->next_id - ctx->base_id) return NULL;
  struct emu_slot *s = emu_slot_find(ctx, id);
  if (s->flags & (EMU_SLOT_COLLECTED | EMU_SLOT_INTERNAL)) return NULL;
  return s;
}

/* ---- draining completed records ---- */

static void emu_rec_copy_out(struct emu_rec *rec) {
  struct emu_wire_arg *wa = emu_rec_payload(rec);
  char *data = (char *)emu_rec_payload(rec) + emu_align_up(rec->nargs * sizeof *wa, 16);
  for (uint32_t i = 0; i < rec->nargs; i++) {
    uint32_t t = wa[i].type;
    if (t != EMU_A_STACK_IN && t != EMU_A_STACK_INOUT && t != EMU_A_STACK_OUT) continue;
    if (t != EMU_A_STACK_IN && wa[i].len) memcpy((void *)(uintptr_t)wa[i].value, data,
                                                 wa[i].len);
    data += emu_align_up(wa[i].len, 16);
  }
}

static void emu_ctx_finish(struct veo_thr_ctxt *ctx, struct emu_rec *rec, uint32_t state,
                           uint64_t result) {
  /* Ids are implicit: records are numbered in ring order, as emu_ctx_commit numbered them. */
  uint64_t id = ctx->drain_id++;
  if (id == VEO_REQUEST_ID_INVALID) id = ctx->drain_id++;
  if (state == VEO_COMMAND_OK) {
    if (rec->kind == EMU_K_CALL && (rec->flags & EMU_F_HAS_OUT)) emu_rec_copy_out(rec);
    if (rec->kind == EMU_K_READ && (rec->flags & EMU_F_INLINE))
      memcpy((void *)(uintptr_t)emu_rec_ext(rec)->a2, emu_rec_payload(rec),
             emu_rec_ext(rec)->a1);
  }
  struct emu_slot *s = emu_slot_find(ctx, id);
  s->value = result;
  s->state = state;
  if (s->flags & EMU_SLOT_INTERNAL) {
    emu_slot_collect(ctx, s);
  } else {
    s->flags = EMU_SLOT_DONE;
  }
}

static void emu_ctx_punch(struct veo_thr_ctxt *ctx) {
  while (ctx->punched + EMU_RING_CHUNK <= ctx->release) {
    off_t off = (off_t)(EMU_RING_OFFSET(ctx->index) + ctx->punched % EMU_RING_SIZE);
    if (fallocate(ctx->proc->shm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
                  (off_t)EMU_RING_CHUNK) != 0)
      emu_log_debug("drain", "fallocate: %s", strerror(errno));
    ctx->punched += EMU_RING_CHUNK;
  }
}

/* Moves completed records into the request table. With the helper gone, also settles
 * everything it will never complete: EXCEPTION if the fault handler marked the record,
 * else ERROR. */
static void emu_ctx_drain(struct veo_thr_ctxt *ctx) {
  if (atomic_load(&ctx->closed)) return;
  /* Read `dead` first: once it is set, `done` is final, so nothing that completed is
   * mistaken for cancelled. */
  int dead = atomic_load(&ctx->proc->dead);
  uint64_t done = atomic_load_explicit(&ctx->ctl->done, memory_order_acquire);
  while (ctx->release < done) {
    struct emu_rec *rec = (struct emu_rec *)(ctx->ring + ctx->release % EMU_RING_SIZE);
    if (rec->kind != EMU_K_PAD) emu_ctx_finish(ctx, rec, atomic_load(&rec->state), rec->result);
    ctx->release += rec->size;
  }
  if (dead && ctx->release != ctx->head) {
    atomic_store(&ctx->state, VEO_STATE_EXIT);
    while (ctx->release != ctx->head) {
      struct emu_rec *rec = (struct emu_rec *)(ctx->ring + ctx->release % EMU_RING_SIZE);
      if (rec->kind != EMU_K_PAD) {
        if (atomic_load(&rec->state) == VEO_COMMAND_EXCEPTION)
          emu_ctx_finish(ctx, rec, VEO_COMMAND_EXCEPTION, rec->result);
        else
          emu_ctx_finish(ctx, rec, VEO_COMMAND_ERROR, 0);
      }
      ctx->release += rec->size;
    }
  }
  emu_ctx_punch(ctx);
}

/* Waits (ctx locked; the lock is released meanwhile) until the helper has completed the
 * ring up to `target`. Returns 0, or -1 if the helper is dead. */
static int emu_ctx_wait_pos(struct veo_thr_ctxt *ctx, uint64_t target, uint64_t deadline) {
  struct emu_ctx_ctl *ctl = ctx->ctl;
  struct veo_proc_handle *proc = ctx->proc;
  int rc = 0;
  if (atomic_load(&ctx->closed)) return -1;
  pthread_mutex_unlock(&ctx->lock);
  uint64_t start = emu_now_ns();
  int cpu = sched_getcpu();
  atomic_store_explicit(&ctl->host_cpu, cpu, memory_order_relaxed);
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(&ctl->done, memory_order_acquire) >= target) goto out;
    if (atomic_load(&proc->dead) || atomic_load(&ctx->closed)) {
      rc = -1;
      goto out;
    }
    emu_cpu_relax();
    if ((i & 7) == 7 &&
        emu_spin_pace(i, start, EMU_HOST_SPIN_NS, &ctl->host_cpu, &ctl->helper_cpu, &cpu) != 0)
      break;
  }
  atomic_store_explicit(&ctl->host_cpu, -1, memory_order_relaxed);
  for (;;) {
    uint32_t seq = atomic_load(&ctl->done_seq);
    atomic_fetch_add(&ctl->host_waiters, 1);
    uint64_t cur = atomic_load(&ctl->wake_pos);
    while (target < cur && !atomic_compare_exchange_weak(&ctl->wake_pos, &cur, target)) {
    }
    atomic_thread_fence(memory_order_seq_cst);
    int ready = atomic_load(&ctl->done) >= target;
    int dead = atomic_load(&proc->dead);
    dead |= atomic_load(&ctx->closed);
    if (!ready && !dead) emu_futex_wait(&ctl->done_seq, seq, EMU_HOST_SLEEP_NS);
    atomic_fetch_sub(&ctl->host_waiters, 1);
    if (ready || atomic_load(&ctl->done) >= target) goto out;
    if (dead || atomic_load(&proc->dead) || atomic_load(&ctx->closed)) {
      rc = -1;
      goto out;
    }
    if (deadline && emu_now_ns() > deadline) {
      rc = -2;
      goto out;
    }
  }
out:
  atomic_store_explicit(&ctl->host_cpu, -1, memory_order_relaxed);
  pthread_mutex_lock(&ctx->lock);
  return rc;
}

/* ---- submission ---- */

struct emu_rec *emu_ctx_reserve(struct veo_thr_ctxt *ctx, uint64_t payload, int kind) {
  uint64_t size = emu_align_up(emu_rec_hdr_size(kind) + payload, EMU_REC_ALIGN);
  if (size > EMU_MAX_REC) {
    emu_log_error("veo_call_async", "request of %llu bytes is too large",
                  (unsigned long long)size);
    return NULL;
  }
  for (;;) {
    if (atomic_load(&ctx->state) != VEO_STATE_RUNNING || atomic_load(&ctx->proc->dead) ||
        atomic_load(&ctx->closed))
      return NULL;
    uint64_t off = ctx->head % EMU_RING_SIZE;
    uint64_t pad = off + size > EMU_RING_SIZE ? EMU_RING_SIZE - off : 0;
    if (ctx->head + pad + size - ctx->release <= EMU_RING_SIZE) {
      if (pad) {
        struct emu_rec *p = (struct emu_rec *)(ctx->ring + off);
        p->size = (uint32_t)pad;
        p->kind = EMU_K_PAD;
        p->flags = 0;
        ctx->head += pad;
      }
      break;
    }
    emu_ctx_drain(ctx);
    if (ctx->head + pad + size - ctx->release <= EMU_RING_SIZE) continue;
    if (emu_ctx_wait_pos(ctx, ctx->head + pad + size - EMU_RING_SIZE, 0) != 0) {
      emu_ctx_drain(ctx);
      return NULL;
    }
    emu_ctx_drain(ctx);
  }
  struct emu_rec *rec = (struct emu_rec *)(ctx->ring + ctx->head % EMU_RING_SIZE);
  memset(rec, 0, emu_rec_hdr_size(kind));
  rec->size = (uint32_t)size;
  rec->kind = (uint16_t)kind;
  atomic_store_explicit(&rec->state, VEO_COMMAND_UNFINISHED, memory_order_relaxed);
  return rec;
}

uint64_t emu_ctx_commit(struct veo_thr_ctxt *ctx, struct emu_rec *rec) {
  if (ctx->next_id - ctx->base_id >= ctx->cap && emu_slots_grow(ctx) != 0) {
    emu_log_error("veo_call_async", "out of memory for the request table");
    /* Turn the reserved record into padding so the ring stays consistent. */
    rec->kind = EMU_K_PAD;
    ctx->head += rec->size;
    atomic_store_explicit(&ctx->ctl->head, ctx->head, memory_order_release);
    return VEO_REQUEST_ID_INVALID;
  }
  uint64_t id = ctx->next_id++;
  if (id == VEO_REQUEST_ID_INVALID) id = ctx->next_id++;
  ctx->head += rec->size;
  struct emu_slot *s = emu_slot_find(ctx, id);
  s->value = ctx->head;
  s->state = VEO_COMMAND_UNFINISHED;
  s->flags = EMU_SLOT_PENDING | ((rec->flags & EMU_F_INTERNAL) ? EMU_SLOT_INTERNAL : 0);

  struct emu_ctx_ctl *ctl = ctx->ctl;
  atomic_store_explicit(&ctl->head, ctx->head, memory_order_release);
  atomic_fetch_add(&ctl->submit_seq, 1);
  if (atomic_load(&ctl->helper_sleeping)) emu_futex_wake(&ctl->submit_seq, 1);
  if (atomic_load_explicit(&ctl->done, memory_order_relaxed) != ctx->release)
    emu_ctx_drain(ctx);
  return id;
}

uint64_t emu_ctx_submit(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                        uint64_t a1, uint64_t a2) {
  emu_ctx_lock(ctx);
  struct emu_rec *rec = emu_ctx_reserve(ctx, 0, kind);
  uint64_t id = VEO_REQUEST_ID_INVALID;
  if (rec) {
    rec->flags = flags;
    rec->a0 = a0;
    if (emu_kind_has_ext(kind)) {
      emu_rec_ext(rec)->a1 = a1;
      emu_rec_ext(rec)->a2 = a2;
    }
    id = emu_ctx_commit(ctx, rec);
  }
  emu_ctx_unlock(ctx);
  return id;
}

/* ---- results ---- */

int emu_ctx_peek(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result) {
  emu_ctx_lock(ctx);
  emu_ctx_drain(ctx);
  struct emu_slot *s = atomic_load(&ctx->closed) ? NULL : emu_slot_lookup(ctx, reqid);
  int rc;
  if (!s) {
    rc = VEO_COMMAND_ERROR;
  } else if (!(s->flags & EMU_SLOT_DONE)) {
    rc = VEO_COMMAND_UNFINISHED;
  } else {
    rc = (int)s->state;
    if (result) *result = s->value;
    emu_slot_collect(ctx, s);
  }
  emu_ctx_unlock(ctx);
  return rc;
}

int emu_ctx_wait(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result) {
  emu_ctx_lock(ctx);
  int rc;
  for (;;) {
    emu_ctx_drain(ctx);
    struct emu_slot *s = atomic_load(&ctx->closed) ? NULL : emu_slot_lookup(ctx, reqid);
    if (!s) {
      rc = VEO_COMMAND_ERROR;
      break;
    }
    if (s->flags & EMU_SLOT_DONE) {
      rc = (int)s->state;
      if (result) *result = s->value;
      emu_slot_collect(ctx, s);
      break;
    }
    (void)emu_ctx_wait_pos(ctx, s->value, 0);
  }
  emu_ctx_unlock(ctx);
  return rc;
}

static int emu_ctx_barrier_until(struct veo_thr_ctxt *ctx, uint64_t deadline) {
  emu_ctx_lock(ctx);
  int rc = 0;
  emu_ctx_drain(ctx);
  while (rc == 0 && ctx->release != ctx->head && !atomic_load(&ctx->closed)) {
    rc = emu_ctx_wait_pos(ctx, ctx->head, deadline);
    emu_ctx_drain(ctx);
    if (rc == -1 && ctx->release == ctx->head) rc = 0;
  }
  if (atomic_load(&ctx->proc->dead) || atomic_load(&ctx->closed)) rc = -1;
  emu_ctx_unlock(ctx);
  return rc;
}

int emu_ctx_barrier(struct veo_thr_ctxt *ctx) { return emu_ctx_barrier_until(ctx, 0); }

void emu_ctx_retire(struct veo_thr_ctxt *ctx, int reusable) {
  if (atomic_exchange(&ctx->closed, 1)) return;
  atomic_store(&ctx->state, VEO_STATE_EXIT);
  emu_ctx_wake_all(ctx);
  /* Threads inside a call on this context see `closed` and leave; wait for them, but
   * never forever (a caller closing from inside its own request block). */
  for (int i = 0; atomic_load(&ctx->refs) > 0 && i < 5000; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    emu_ctx_wake_all(ctx);
  }
  emu_ctx_stop_vh(ctx);
  if (atomic_load(&ctx->refs) == 0) {
    pthread_mutex_lock(&ctx->lock);
    free(ctx->slots);
    ctx->slots = NULL;
    ctx->cap = 0;
    pthread_mutex_unlock(&ctx->lock);
  }
  if (reusable && ctx->proc->shm_fd >= 0 &&
      fallocate(ctx->proc->shm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                (off_t)EMU_RING_OFFSET(ctx->index), (off_t)EMU_RING_SIZE) != 0)
    emu_log_debug("veo_context_close", "fallocate: %s", strerror(errno));
}

int emu_ctx_close(struct veo_thr_ctxt *ctx, int64_t timeout_ns) {
  if (atomic_load(&ctx->closed)) return 0;
  int rc = 0;
  if (!atomic_load(&ctx->proc->dead) && atomic_load(&ctx->state) == VEO_STATE_RUNNING) {
    /* EXIT is the last record: nothing submitted after it would ever run. */
    emu_ctx_lock(ctx);
    uint64_t id = emu_ctx_submit(ctx, EMU_K_EXIT, EMU_F_INTERNAL, 0, 0, 0);
    atomic_store(&ctx->state, VEO_STATE_EXIT);
    emu_ctx_unlock(ctx);
    if (id != VEO_REQUEST_ID_INVALID) {
      rc = emu_ctx_barrier_until(ctx, emu_now_ns() + (uint64_t)timeout_ns);
      if (rc == -1) rc = 0; /* dead: nothing left to wait for */
    }
  }
  emu_ctx_retire(ctx, rc == 0);
  return rc == 0 ? 0 : -1;
}

/* ---- the VH thread ---- */

struct emu_vh_start {
  struct veo_thr_ctxt *ctx;
  uint32_t seen;
};

static void emu_vh_rec_run(struct veo_thr_ctxt *ctx, struct emu_rec *rec) {
  if (rec->flags & EMU_F_HOST_XFER) {
    struct emu_rec_ext *x = emu_rec_ext(rec);
    int rc = emu_mem_vm_copy(ctx->proc, rec->kind == EMU_K_WRITE, (void *)(uintptr_t)x->a2,
                             rec->a0, x->a1);
    if (rc != 0)
      emu_log_error(rec->kind == EMU_K_WRITE ? "veo_async_write_mem" : "veo_async_read_mem",
                    "cannot access VE memory at %#llx (%llu bytes)",
                    (unsigned long long)rec->a0, (unsigned long long)x->a1);
    rec->result = rc == 0 ? 0 : UINT64_MAX;
    return;
  }
  if (rec->kind == EMU_K_VH) {
    uint64_t (*func)(void *) = (uint64_t (*)(void *))(uintptr_t)rec->a0;
    rec->result = func((void *)(uintptr_t)emu_rec_ext(rec)->a1);
    return;
  }
  /* An async alloc/free with a hook registered: the helper already did the work. */
  void (*hook)(void *, ...) = (void (*)(void *, ...))(uintptr_t)emu_rec_ext(rec)->a1;
  void *payload = (void *)(uintptr_t)emu_rec_ext(rec)->a2;
  if (rec->kind == EMU_K_ALLOC) {
    if (hook) hook(payload, ctx, rec->result, (size_t)rec->a0);
  } else if (rec->kind == EMU_K_FREE) {
    if (hook) hook(payload, ctx, rec->a0);
    rec->result = 0;
  }
}

static void *emu_vh_run_loop(void *arg) {
  struct emu_vh_start start = *(struct emu_vh_start *)arg;
  free(arg);
  struct veo_thr_ctxt *ctx = start.ctx;
  struct emu_ctx_ctl *ctl = ctx->ctl;
  uint32_t seen = start.seen;
  for (;;) {
    uint32_t seq = atomic_load(&ctl->vh_seq);
    if (seq != seen) {
      uint64_t pos = atomic_load(&ctl->vh_pos);
      if (pos != UINT64_MAX) {
        atomic_store(&ctl->vh_pos, UINT64_MAX);
        emu_vh_rec_run(ctx, (struct emu_rec *)(ctx->ring + pos % EMU_RING_SIZE));
        atomic_fetch_add(&ctl->vh_done_seq, 1);
        emu_futex_wake(&ctl->vh_done_seq, INT_MAX);
      }
      seen = seq;
      continue;
    }
    if (atomic_load(&ctl->vh_shutdown) || atomic_load(&ctx->proc->dead)) break;
    emu_futex_wait(&ctl->vh_seq, seq, EMU_HOST_SLEEP_NS);
  }
  return NULL;
}

int emu_ctx_ensure_vh(struct veo_thr_ctxt *ctx) {
  if (ctx->vh_started) return 0;
  struct emu_vh_start *start = malloc(sizeof *start);
  if (!start) return -1;
  start->ctx = ctx;
  atomic_store(&ctx->ctl->vh_pos, UINT64_MAX);
  start->seen = atomic_load(&ctx->ctl->vh_seq);
  int rc = pthread_create(&ctx->vh_thread, NULL, emu_vh_run_loop, start);
  if (rc != 0) {
    free(start);
    emu_log_error("veo_call_async_vh", "cannot start the VH thread: %s", strerror(rc));
    return -1;
  }
  ctx->vh_started = 1;
  return 0;
}

void emu_ctx_stop_vh(struct veo_thr_ctxt *ctx) {
  if (!ctx->vh_started) return;
  atomic_store(&ctx->ctl->vh_shutdown, 1);
  emu_futex_wake(&ctx->ctl->vh_seq, INT_MAX);
  if (!pthread_equal(pthread_self(), ctx->vh_thread)) {
    /* A VH function may be stuck (e.g. waiting for a host thread that is exiting): give it
     * a moment, then let it go rather than hang. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    int rc = pthread_timedjoin_np(ctx->vh_thread, NULL, &ts);
    if (rc != 0) {
      emu_log_debug("veo_context_close", "VH thread still busy: %s", strerror(rc));
      pthread_detach(ctx->vh_thread);
    }
  } else {
    pthread_detach(ctx->vh_thread);
  }
  ctx->vh_started = 0;
}
