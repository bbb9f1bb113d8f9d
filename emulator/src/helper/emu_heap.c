/*
 * emu_heap.c - the helper's record of its live heap blocks, so that veo_free_mem of
 * anything that is not the start of a live block (an interior pointer, a second free, a
 * data symbol, an address never allocated) fails that one request instead of aborting the
 * VE process or corrupting its heap. veorun replaces malloc, calloc, realloc, free and the
 * aligned allocators (glibc's documented way: the replacements call its __libc_* entry
 * points), so blocks a kernel allocates are known too, and a block a kernel frees is
 * forgotten.
 *
 * The record is a hash set of block addresses in 64 shards, each with its own lock and an
 * mmap'd open-addressing table (never malloc: that would recurse). A block the set could
 * not record (out of memory for the table) is still a valid block; only veo_free_mem of it
 * is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_helper.h"

#define EMU_HEAP_API __attribute__((visibility("default")))
#define EMU_HEAP_SHARDS 64
#define EMU_HEAP_EMPTY 0
#define EMU_HEAP_GONE 1 /* tombstone; no block starts at address 1 */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

struct emu_heap_shard {
  pthread_mutex_t lock;
  uintptr_t *keys;
  size_t cap;   /* power of two, 0 before first use */
  size_t live;  /* keys present */
  size_t used;  /* keys present + tombstones */
};

/* Static initialization: the first malloc can come before any constructor runs. */
static struct emu_heap_shard emu_heap[EMU_HEAP_SHARDS] = {
    [0 ... EMU_HEAP_SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

static uint64_t emu_heap_mix(uintptr_t p) { return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ULL; }

/* Slot hash inside a shard (the shard is chosen by the top bits of the same mix). */
static size_t emu_heap_hash(uintptr_t p) { return (size_t)(emu_heap_mix(p) >> 20); }

static struct emu_heap_shard *emu_heap_shard_find(uintptr_t p) {
  return &emu_heap[emu_heap_mix(p) >> 58];
}

/* Rebuilds a shard's table with room for twice its live keys (lock held). 0 or -1. */
static int emu_heap_rehash(struct emu_heap_shard *s) {
  size_t ncap = s->cap ? s->cap : 256;
  while (ncap < (s->live + 1) * 4) ncap *= 2;
  uintptr_t *nk = mmap(NULL, ncap * sizeof *nk, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (nk == MAP_FAILED) return -1;
  for (size_t i = 0; i < s->cap; i++) {
    uintptr_t k = s->keys[i];
    if (k == EMU_HEAP_EMPTY || k == EMU_HEAP_GONE) continue;
    size_t j = emu_heap_hash(k) & (ncap - 1);
    while (nk[j] != EMU_HEAP_EMPTY) j = (j + 1) & (ncap - 1);
    nk[j] = k;
  }
  if (s->keys && munmap(s->keys, s->cap * sizeof *s->keys) != 0) {
    /* Nothing useful to do: the old table is merely leaked. */
  }
  s->keys = nk;
  s->cap = ncap;
  s->used = s->live;
  return 0;
}

static void emu_heap_add(void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  if (p <= EMU_HEAP_GONE) return;
  struct emu_heap_shard *s = emu_heap_shard_find(p);
  pthread_mutex_lock(&s->lock);
  if ((s->used + 1) * 4 > s->cap * 3 && emu_heap_rehash(s) != 0) {
    pthread_mutex_unlock(&s->lock);
    return;
  }
  size_t mask = s->cap - 1, i = emu_heap_hash(p) & mask, slot = SIZE_MAX;
  for (; s->keys[i] != EMU_HEAP_EMPTY; i = (i + 1) & mask) {
    if (s->keys[i] == p) goto out; /* already known */
    if (s->keys[i] == EMU_HEAP_GONE && slot == SIZE_MAX) slot = i;
  }
  if (slot == SIZE_MAX) {
    slot = i;
    s->used++;
  }
  s->keys[slot] = p;
  s->live++;
out:
  pthread_mutex_unlock(&s->lock);
}

/* Forgets ptr; 1 if it was a live block. */
static int emu_heap_forget(void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  if (p <= EMU_HEAP_GONE) return 0;
  struct emu_heap_shard *s = emu_heap_shard_find(p);
  int found = 0;
  pthread_mutex_lock(&s->lock);
  if (s->cap) {
    size_t mask = s->cap - 1;
    for (size_t i = emu_heap_hash(p) & mask; s->keys[i] != EMU_HEAP_EMPTY; i = (i + 1) & mask) {
      if (s->keys[i] == p) {
        s->keys[i] = EMU_HEAP_GONE;
        s->live--;
        found = 1;
        break;
      }
    }
  }
  pthread_mutex_unlock(&s->lock);
  return found;
}

/* fork() in a kernel: no shard lock may be held by a thread that does not exist in the
 * child. Replacements never hold a shard lock and glibc's heap lock at once. */
static void emu_heap_prefork(void) {
  for (int i = 0; i < EMU_HEAP_SHARDS; i++) pthread_mutex_lock(&emu_heap[i].lock);
}

static void emu_heap_postfork(void) {
  for (int i = 0; i < EMU_HEAP_SHARDS; i++) pthread_mutex_unlock(&emu_heap[i].lock);
}

__attribute__((constructor)) static void emu_heap_init(void) {
  if (pthread_atfork(emu_heap_prefork, emu_heap_postfork, emu_heap_postfork) != 0) {
    static const char msg[] = "veorun: pthread_atfork failed; fork() in kernels may hang\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
  }
}

int emu_heap_free(void *ptr) {
  if (!ptr) return 0;
  if (!emu_heap_forget(ptr)) return -1;
  __libc_free(ptr);
  return 0;
}

/* ---- the replacements ---- */

EMU_HEAP_API void *malloc(size_t size) {
  void *p = __libc_malloc(size);
  if (p) emu_heap_add(p);
  return p;
}

EMU_HEAP_API void *calloc(size_t n, size_t size) {
  void *p = __libc_calloc(n, size);
  if (p) emu_heap_add(p);
  return p;
}

EMU_HEAP_API void free(void *ptr) {
  if (!ptr) return;
  (void)emu_heap_forget(ptr);
  __libc_free(ptr);
}

EMU_HEAP_API void *realloc(void *ptr, size_t size) {
  if (!ptr) return malloc(size);
  (void)emu_heap_forget(ptr);
  void *p = __libc_realloc(ptr, size);
  if (p) emu_heap_add(p);
  else if (size) emu_heap_add(ptr); /* failed: the old block is still live */
  return p;
}

EMU_HEAP_API void *reallocarray(void *ptr, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(ptr, bytes);
}

EMU_HEAP_API void *memalign(size_t align, size_t size) {
  void *p = __libc_memalign(align, size);
  if (p) emu_heap_add(p);
  return p;
}

EMU_HEAP_API void *aligned_alloc(size_t align, size_t size) { return memalign(align, size); }

EMU_HEAP_API int posix_memalign(void **out, size_t align, size_t size) {
  if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
  void *p = memalign(align, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

EMU_HEAP_API void *valloc(size_t size) {
  return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

EMU_HEAP_API void *pvalloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return memalign(page, (size + page - 1) & ~(page - 1));
}
