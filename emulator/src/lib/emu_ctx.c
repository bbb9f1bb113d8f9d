/*
 * emu_ctx.c - a context on the host side: its command ring (submission), its request table
 * (results by id), draining completed records, waiting (spin, then futex), and the lazily
 * started VH thread that runs veo_call_async_vh functions, host-side transfers and
 * async-memory hooks in queue order. Everything here runs with the context's recursive
 * mutex held unless it says not. Core layer: calls only the transport (emu_vm, emu_log).
 *
 * Per request the host keeps one 16-byte slot in a power-of-two table indexed by id; the
 * command itself lives in the shared ring only until it has completed and been drained.
 * The ring is writable by the helper and so by any kernel: the host takes record
 * boundaries from its slots, copy-out targets and VH jobs from host-side sidecars, and
 * checks the helper's completion position and each record's state. Anything impossible
 * kills the proc with a log line naming it (emu_ctx_proc_poison).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "emu_futex.h"
#include "emu_lib.h"

#define EMU_HOST_SPIN_NS 200000ULL    /* spin this long before sleeping on a futex */
#define EMU_HOST_SLEEP_NS 100000000LL /* futex timeout: re-check for a dead helper */
#define EMU_LEAVE_NS 200000000ULL     /* retire: time for woken threads to leave */

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
  int rc = pthread_mutexattr_init(&attr);
  if (rc == 0) rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  if (rc == 0) rc = pthread_mutex_init(&ctx->lock, &attr);
  if (rc == 0) {
    rc = pthread_mutex_init(&ctx->vh_lock, NULL);
    if (rc != 0) pthread_mutex_destroy(&ctx->lock);
  }
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    emu_log_error("veo_context_open", "pthread_mutex_init: %s", strerror(rc));
    free(ctx->slots);
    free(ctx);
    return NULL;
  }
  memset(ctx->ctl, 0, sizeof *ctx->ctl);
  atomic_store(&ctx->ctl->wake_pos, UINT64_MAX);
  atomic_store(&ctx->ctl->notify_pos, UINT64_MAX);
  atomic_store(&ctx->ctl->host_cpu, -1);
  atomic_store(&ctx->ctl->helper_cpu, -1);
  atomic_store(&ctx->state, VEO_STATE_RUNNING);
  return ctx;
}

static void emu_fifo_push(struct emu_fifo *f, struct emu_sidecar *s) {
  s->next = NULL;
  if (f->last) f->last->next = s;
  else f->first = s;
  f->last = s;
}

static struct emu_sidecar *emu_fifo_pop(struct emu_fifo *f) {
  struct emu_sidecar *s = f->first;
  if (!s) return NULL;
  f->first = s->next;
  if (!f->first) f->last = NULL;
  return s;
}

static void emu_fifo_clear(struct emu_fifo *f) {
  for (struct emu_sidecar *s; (s = emu_fifo_pop(f));) free(s);
}

struct emu_sidecar *emu_sidecar_new(uint32_t nout) {
  struct emu_sidecar *s = calloc(1, sizeof *s + (size_t)nout * sizeof s->out[0]);
  if (s) s->nout = nout;
  return s;
}

static void emu_ctx_stop_vh(struct veo_thr_ctxt *ctx, uint64_t deadline);

void emu_ctx_free(struct veo_thr_ctxt *ctx) {
  if (!ctx) return;
  emu_ctx_stop_vh(ctx, emu_now_ns()); /* retire already waited for it */
  if (atomic_load(&ctx->vh_running) || atomic_load(&ctx->refs) > 0) {
    /* A VH function or a caller is still inside: leaking beats a use after free. */
    emu_log_debug("veo_context_close", "context %d still in use; not freed", ctx->index);
    return;
  }
  pthread_mutex_destroy(&ctx->lock);
  pthread_mutex_destroy(&ctx->vh_lock);
  emu_fifo_clear(&ctx->copies);
  emu_fifo_clear(&ctx->vh_jobs);
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

void emu_ctx_proc_poison(struct veo_thr_ctxt *ctx, const char *why) {
  struct veo_proc_handle *proc = ctx->proc;
  if (!atomic_exchange(&proc->dead, 1))
    emu_log_error("veo_call_wait_result", "VE process %d (context %d): %s; killing it",
                  (int)proc->pid, ctx->index, why);
  if (proc->pid > 0 && kill(-proc->pid, SIGKILL) != 0 && kill(proc->pid, SIGKILL) != 0 &&
      errno != ESRCH)
    emu_log_error("veo_call_wait_result", "kill: %s", strerror(errno));
  for (int i = 0; i < EMU_MAX_CTX; i++) {
    struct veo_thr_ctxt *c = proc->ctx[i];
    if (!c) continue;
    atomic_store(&c->state, VEO_STATE_EXIT);
    emu_ctx_wake_all(c);
  }
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

static uint64_t emu_id_next(uint64_t id) {
  return id + 1 == VEO_REQUEST_ID_INVALID ? id + 2 : id + 1;
}

/* ---- draining completed records ---- */

/* Settles the oldest undrained request, whose record spans [end - size, end). */
static void emu_ctx_finish(struct veo_thr_ctxt *ctx, struct emu_slot *s, uint32_t state,
                           uint64_t result) {
  uint64_t start = s->value - s->state;
  if (s->flags & EMU_SLOT_SIDECAR) {
    struct emu_sidecar *side = emu_fifo_pop(&ctx->copies);
    if (side && state == VEO_COMMAND_OK) {
      const char *rec = ctx->ring + start % EMU_RING_SIZE;
      for (uint32_t i = 0; i < side->nout; i++)
        memcpy((void *)(uintptr_t)side->out[i].host, rec + side->out[i].offset,
               side->out[i].len);
    }
    free(side);
  }
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
    char *chunk = ctx->ring + ctx->punched % EMU_RING_SIZE;
    if (madvise(chunk, EMU_RING_CHUNK, MADV_REMOVE) != 0)
      emu_log_debug("drain", "madvise: %s", strerror(errno));
    ctx->punched += EMU_RING_CHUNK;
  }
}

/* A record's final state as the helper wrote it; anything but a final state is a lie. */
static uint32_t emu_rec_state_read(struct veo_thr_ctxt *ctx, const struct emu_rec *rec) {
  uint32_t state = atomic_load_explicit(&((struct emu_rec *)rec)->state, memory_order_acquire);
  if (state == VEO_COMMAND_OK || state == VEO_COMMAND_EXCEPTION || state == VEO_COMMAND_ERROR)
    return state;
  emu_log_error("veo_call_wait_result", "context %d: the VE side left request state %u; "
                "the request fails", ctx->index, state);
  return VEO_COMMAND_ERROR;
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
  if (done == ctx->release && !dead) return;
  if (!dead && (done > ctx->head || done < ctx->release)) {
    emu_ctx_proc_poison(ctx, "the VE side reported an impossible completion position");
    dead = 1;
    done = ctx->release;
  }
  while (ctx->drain_id != ctx->next_id) {
    struct emu_slot *s = emu_slot_find(ctx, ctx->drain_id);
    uint64_t end = s->value;
    const struct emu_rec *rec =
        (const struct emu_rec *)(ctx->ring + (end - s->state) % EMU_RING_SIZE);
    if (end <= done) {
      emu_ctx_finish(ctx, s, emu_rec_state_read(ctx, rec), rec->result);
    } else if (dead) {
      /* Never completed. The fault handler marks the one that faulted. */
      if (atomic_load(&((struct emu_rec *)rec)->state) == VEO_COMMAND_EXCEPTION)
        emu_ctx_finish(ctx, s, VEO_COMMAND_EXCEPTION, rec->result);
      else
        emu_ctx_finish(ctx, s, VEO_COMMAND_ERROR, 0);
      atomic_store(&ctx->state, VEO_STATE_EXIT);
    } else {
      break;
    }
    ctx->release = end;
    ctx->drain_id = emu_id_next(ctx->drain_id);
  }
  /* Padding left at the tail by a failed commit: released once the helper passed it. */
  if (ctx->drain_id == ctx->next_id && (dead || done == ctx->head)) ctx->release = ctx->head;
  emu_ctx_punch(ctx);
}

/* Waits (ctx locked; the lock is released meanwhile) until the helper has completed the
 * ring up to `target`. Returns 0, -1 if the helper is dead, -2 at the deadline (0: none).
 * A deadline closer than the spin budget is spun for, never slept for. */
static int emu_ctx_wait_pos(struct veo_thr_ctxt *ctx, uint64_t target, uint64_t deadline) {
  struct emu_ctx_ctl *ctl = ctx->ctl;
  struct veo_proc_handle *proc = ctx->proc;
  int rc = 0;
  if (atomic_load(&ctx->closed)) return -1;
  pthread_mutex_unlock(&ctx->lock);
  uint64_t start = emu_now_ns();
  uint64_t spin_ns = EMU_HOST_SPIN_NS;
  if (deadline && deadline - start < spin_ns) spin_ns = deadline > start ? deadline - start : 0;
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
        emu_spin_pace(i, start, spin_ns, &ctl->host_cpu, &ctl->helper_cpu, &cpu) != 0)
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
    int64_t sleep_ns = EMU_HOST_SLEEP_NS;
    if (deadline) {
      uint64_t now = emu_now_ns();
      sleep_ns = now >= deadline ? 0 : (int64_t)(deadline - now);
      if (sleep_ns > EMU_HOST_SLEEP_NS) sleep_ns = EMU_HOST_SLEEP_NS;
    }
    if (!ready && !dead && sleep_ns > 0) emu_futex_wait(&ctl->done_seq, seq, sleep_ns);
    atomic_fetch_sub(&ctl->host_waiters, 1);
    if (ready || atomic_load(&ctl->done) >= target) goto out;
    if (dead || atomic_load(&proc->dead) || atomic_load(&ctx->closed)) {
      rc = -1;
      goto out;
    }
    if (deadline && emu_now_ns() >= deadline) {
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
  rec->size = ctx->resv_size = (uint32_t)size;
  rec->kind = (uint8_t)kind;
  atomic_store_explicit(&rec->state, VEO_COMMAND_UNFINISHED, memory_order_relaxed);
  return rec;
}

uint64_t emu_ctx_commit(struct veo_thr_ctxt *ctx, struct emu_rec *rec, struct emu_sidecar *side) {
  /* The record was reserved at ctx->head, with the size emu_ctx_reserve kept host-side. */
  uint64_t start = ctx->head;
  uint32_t size = ctx->resv_size;
  if (ctx->next_id - ctx->base_id >= ctx->cap && emu_slots_grow(ctx) != 0) {
    emu_log_error("veo_call_async", "out of memory for the request table");
    /* Turn the reserved record into padding so the ring stays consistent. */
    rec->kind = EMU_K_PAD;
    ctx->head += size;
    atomic_store_explicit(&ctx->ctl->head, ctx->head, memory_order_release);
    free(side);
    return VEO_REQUEST_ID_INVALID;
  }
  uint64_t id = ctx->next_id;
  ctx->next_id = emu_id_next(id);
  ctx->head += size;
  struct emu_slot *s = emu_slot_find(ctx, id);
  s->value = ctx->head;
  s->state = size;
  s->flags = EMU_SLOT_PENDING | ((rec->flags & EMU_F_INTERNAL) ? EMU_SLOT_INTERNAL : 0);
  if (side) {
    side->pos = start;
    if (side->nout) {
      s->flags |= EMU_SLOT_SIDECAR;
      emu_fifo_push(&ctx->copies, side);
    } else {
      pthread_mutex_lock(&ctx->vh_lock);
      emu_fifo_push(&ctx->vh_jobs, side);
      pthread_mutex_unlock(&ctx->vh_lock);
    }
  }

  struct emu_ctx_ctl *ctl = ctx->ctl;
  atomic_store_explicit(&ctl->head, ctx->head, memory_order_release);
  atomic_fetch_add(&ctl->submit_seq, 1);
  if (atomic_load(&ctl->helper_sleeping)) emu_futex_wake(&ctl->submit_seq, 1);
  if (atomic_load_explicit(&ctl->done, memory_order_relaxed) != ctx->release)
    emu_ctx_drain(ctx);
  return id;
}

/* A record without payload, with its sidecar (may be NULL; freed on failure). */
static uint64_t emu_ctx_submit_with(struct veo_thr_ctxt *ctx, int kind, uint16_t flags,
                                    uint64_t a0, uint64_t a1, uint64_t a2,
                                    struct emu_sidecar *side) {
  emu_ctx_lock(ctx);
  struct emu_rec *rec = emu_ctx_reserve(ctx, 0, kind);
  uint64_t id = VEO_REQUEST_ID_INVALID;
  if (rec) {
    rec->flags = (uint8_t)flags;
    rec->a0 = a0;
    if (emu_kind_has_ext(kind)) {
      emu_rec_ext(rec)->a1 = a1;
      emu_rec_ext(rec)->a2 = a2;
    }
    id = emu_ctx_commit(ctx, rec, side);
    side = NULL;
  }
  emu_ctx_unlock(ctx);
  free(side);
  return id;
}

uint64_t emu_ctx_submit(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                        uint64_t a1, uint64_t a2) {
  return emu_ctx_submit_with(ctx, kind, flags, a0, a1, a2, NULL);
}

static int emu_ctx_ensure_vh(struct veo_thr_ctxt *ctx);

uint64_t emu_ctx_submit_vh(struct veo_thr_ctxt *ctx, int kind, uint16_t flags, uint64_t a0,
                           uint64_t a1, uint64_t a2) {
  emu_ctx_lock(ctx);
  uint64_t id = VEO_REQUEST_ID_INVALID;
  struct emu_sidecar *job = emu_ctx_ensure_vh(ctx) == 0 ? emu_sidecar_new(0) : NULL;
  if (job) {
    job->kind = (uint32_t)kind;
    job->flags = flags;
    job->a0 = a0;
    job->a1 = a1;
    job->a2 = a2;
    id = emu_ctx_submit_with(ctx, kind, flags, a0, a1, a2, job);
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

/* veo_emu_arm: asks the helper for one byte on the notify pipe once `reqid` has completed
 * (its death ends the pipe). Returns 1 when armed, 0 when there is nothing to wait
 * for (finished, unknown, closed or dead: veo_call_peek_result tells which), -1 without a
 * notify pipe. One request per context is armed at a time: arming again replaces it. */
int emu_ctx_arm(struct veo_thr_ctxt *ctx, uint64_t reqid) {
  struct veo_proc_handle *proc = ctx->proc;
  if (!proc->hdr || proc->hdr->notify_fd < 0) return -1;
  emu_ctx_lock(ctx);
  int rc = 0;
  struct emu_slot *s = atomic_load(&ctx->closed) ? NULL : emu_slot_lookup(ctx, reqid);
  if (s && !(s->flags & EMU_SLOT_DONE) && !atomic_load(&proc->dead)) {
    struct emu_ctx_ctl *ctl = ctx->ctl;
    uint64_t end = s->value;
    /* seq_cst store, then load done: pairs with emu_done_publish (store done, load
     * notify_pos), so either we see the completion or the helper sees the arming. */
    atomic_store(&ctl->notify_pos, end);
    if (atomic_load(&ctl->done) < end && !atomic_load(&proc->dead)) {
      rc = 1;
    } else {
      uint64_t cur = end;
      (void)atomic_compare_exchange_strong(&ctl->notify_pos, &cur, UINT64_MAX);
    }
  }
  emu_ctx_unlock(ctx);
  return rc;
}

int emu_ctx_wait(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result) {
  return emu_ctx_wait_until(ctx, reqid, result, 0);
}

/* veo_call_wait_result until `deadline` (0: none); VEO_COMMAND_UNFINISHED after it. */
int emu_ctx_wait_until(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *result,
                       uint64_t deadline) {
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
    if (emu_ctx_wait_pos(ctx, s->value, deadline) == -2) {
      emu_ctx_drain(ctx);
      s = atomic_load(&ctx->closed) ? NULL : emu_slot_lookup(ctx, reqid);
      if (s && !(s->flags & EMU_SLOT_DONE)) {
        rc = VEO_COMMAND_UNFINISHED;
        break;
      }
    }
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
  if (rc == 0 && (atomic_load(&ctx->proc->dead) || atomic_load(&ctx->closed))) rc = -1;
  emu_ctx_unlock(ctx);
  return rc;
}

int emu_ctx_barrier(struct veo_thr_ctxt *ctx) { return emu_ctx_barrier_until(ctx, 0); }

void emu_ctx_retire(struct veo_thr_ctxt *ctx, int reusable, uint64_t deadline) {
  if (atomic_exchange(&ctx->closed, 1)) return;
  atomic_store(&ctx->state, VEO_STATE_EXIT);
  emu_ctx_wake_all(ctx);
  /* Threads inside a call on this context see `closed` and leave within microseconds;
   * wait for them, but not forever (a caller closing from inside its own request block):
   * until the deadline, and at least EMU_LEAVE_NS. */
  uint64_t leave = emu_now_ns() + EMU_LEAVE_NS;
  if (deadline < leave) deadline = leave;
  while (atomic_load(&ctx->refs) > 0 && emu_now_ns() < deadline) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    emu_ctx_wake_all(ctx);
  }
  emu_ctx_stop_vh(ctx, deadline);
  if (atomic_load(&ctx->refs) == 0) {
    pthread_mutex_lock(&ctx->lock);
    free(ctx->slots);
    ctx->slots = NULL;
    ctx->cap = 0;
    emu_fifo_clear(&ctx->copies);
    pthread_mutex_unlock(&ctx->lock);
  }
  if (reusable && madvise(ctx->ring, EMU_RING_SIZE, MADV_REMOVE) != 0)
    emu_log_debug("veo_context_close", "madvise: %s", strerror(errno));
}

int emu_ctx_exit_begin(struct veo_thr_ctxt *ctx) {
  if (atomic_load(&ctx->closed) || atomic_load(&ctx->proc->dead)) return -1;
  emu_ctx_lock(ctx);
  int rc = -1;
  if (atomic_load(&ctx->state) == VEO_STATE_RUNNING) {
    /* EXIT is the last record: nothing submitted after it would ever run. */
    uint64_t id = emu_ctx_submit(ctx, EMU_K_EXIT, EMU_F_INTERNAL, 0, 0, 0);
    atomic_store(&ctx->state, VEO_STATE_EXIT);
    rc = id == VEO_REQUEST_ID_INVALID ? -1 : 0;
  }
  emu_ctx_unlock(ctx);
  return rc;
}

int emu_ctx_exit_wait(struct veo_thr_ctxt *ctx, uint64_t deadline) {
  if (atomic_load(&ctx->closed)) return 0;
  int rc = emu_ctx_barrier_until(ctx, deadline);
  return rc == -2 ? -1 : 0; /* -1: dead, nothing left to wait for */
}

/* ---- the VH thread ---- */

struct emu_vh_start {
  struct veo_thr_ctxt *ctx;
  uint32_t seen;
};

/* Runs one hand-off with the host's own copy of what the record asked for. */
static void emu_vh_job_run(struct veo_thr_ctxt *ctx, const struct emu_sidecar *job,
                           struct emu_rec *rec) {
  if (job->flags & EMU_F_HOST_XFER) {
    int rc = emu_vm_copy(ctx->proc->pid, job->kind == EMU_K_WRITE, (void *)(uintptr_t)job->a2,
                         job->a0, job->a1);
    if (rc != 0)
      emu_log_error(job->kind == EMU_K_WRITE ? "veo_async_write_mem" : "veo_async_read_mem",
                    "cannot access VE memory at %#llx (%llu bytes)",
                    (unsigned long long)job->a0, (unsigned long long)job->a1);
    rec->result = rc == 0 ? 0 : UINT64_MAX;
    return;
  }
  if (job->kind == EMU_K_VH) {
    uint64_t (*func)(void *) = (uint64_t (*)(void *))(uintptr_t)job->a0;
    rec->result = func((void *)(uintptr_t)job->a1);
    return;
  }
  /* An async alloc/free with a hook registered: the helper already did the work. */
  void (*hook)(void *, ...) = (void (*)(void *, ...))(uintptr_t)job->a1;
  void *payload = (void *)(uintptr_t)job->a2;
  if (job->kind == EMU_K_ALLOC) {
    if (hook) hook(payload, ctx, rec->result, (size_t)job->a0);
  } else if (job->kind == EMU_K_FREE) {
    if (hook) hook(payload, ctx, job->a0);
    rec->result = 0;
  }
}

/* The job for the record at `pos`: jobs before it were never handed off (their records
 * failed), so they are dropped. NULL if the helper names a record we never queued. */
static struct emu_sidecar *emu_vh_job_take(struct veo_thr_ctxt *ctx, uint64_t pos) {
  pthread_mutex_lock(&ctx->vh_lock);
  struct emu_sidecar *job;
  while ((job = ctx->vh_jobs.first) && job->pos < pos) free(emu_fifo_pop(&ctx->vh_jobs));
  job = job && job->pos == pos ? emu_fifo_pop(&ctx->vh_jobs) : NULL;
  pthread_mutex_unlock(&ctx->vh_lock);
  return job;
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
      if (pos != UINT64_MAX && !atomic_load(&ctx->proc->dead)) {
        atomic_store(&ctl->vh_pos, UINT64_MAX);
        struct emu_sidecar *job = emu_vh_job_take(ctx, pos);
        if (!job) {
          emu_ctx_proc_poison(ctx, "the VE side handed over a record the host never queued");
          break;
        }
        emu_vh_job_run(ctx, job, (struct emu_rec *)(ctx->ring + pos % EMU_RING_SIZE));
        free(job);
        atomic_fetch_add(&ctl->vh_done_seq, 1);
        emu_futex_wake(&ctl->vh_done_seq, INT_MAX);
      }
      seen = seq;
      continue;
    }
    if (atomic_load(&ctl->vh_shutdown) || atomic_load(&ctx->proc->dead)) break;
    emu_futex_wait(&ctl->vh_seq, seq, EMU_HOST_SLEEP_NS);
  }
  atomic_store(&ctx->vh_running, 0);
  return NULL;
}

static int emu_ctx_ensure_vh(struct veo_thr_ctxt *ctx) {
  if (ctx->vh_started) return 0;
  struct emu_vh_start *start = malloc(sizeof *start);
  if (!start) return -1;
  start->ctx = ctx;
  atomic_store(&ctx->ctl->vh_pos, UINT64_MAX);
  start->seen = atomic_load(&ctx->ctl->vh_seq);
  atomic_store(&ctx->vh_running, 1);
  int rc = pthread_create(&ctx->vh_thread, NULL, emu_vh_run_loop, start);
  if (rc != 0) {
    atomic_store(&ctx->vh_running, 0);
    free(start);
    emu_log_error("veo_call_async_vh", "cannot start the VH thread: %s", strerror(rc));
    return -1;
  }
  ctx->vh_started = 1;
  return 0;
}

static void emu_ctx_stop_vh(struct veo_thr_ctxt *ctx, uint64_t deadline) {
  if (!ctx->vh_started) return;
  atomic_store(&ctx->ctl->vh_shutdown, 1);
  emu_futex_wake(&ctx->ctl->vh_seq, INT_MAX);
  int rc = 0;
  if (!pthread_equal(pthread_self(), ctx->vh_thread)) {
    /* A VH function may be stuck (e.g. waiting for a host thread that is exiting): wait
     * until the deadline, then let it go rather than hang. */
    while (atomic_load(&ctx->vh_running) && emu_now_ns() < deadline) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    if (!atomic_load(&ctx->vh_running)) rc = pthread_join(ctx->vh_thread, NULL);
    else rc = pthread_detach(ctx->vh_thread);
    if (atomic_load(&ctx->vh_running))
      emu_log_debug("veo_context_close", "VH thread still busy; left running");
  } else {
    rc = pthread_detach(ctx->vh_thread);
  }
  if (rc != 0) emu_log_error("veo_context_close", "VH thread: %s", strerror(rc));
  ctx->vh_started = 0;
}
