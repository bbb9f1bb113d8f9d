/*
 * emu_shm.h - the wire format between libveo.so.1 (the host, "VH") and veorun (the helper,
 * "VE"). One shared-memory file (memfd, mode 0600, inherited by the helper) per proc holds a
 * header and, per context, a control block and a command ring.
 *
 * The ring carries variable-size records, 64-byte aligned, never wrapping (a PAD record
 * fills the tail). The host appends records and advances `head`; the helper executes them
 * in order, writes `state`/`result` into the record itself and advances `done`; the host
 * then "drains" completed records (copy-out of OUT stack arguments and inline read data,
 * result into the request table) and only then reuses their space. So a context's records
 * are its queue and its completion storage at once, and nothing is allocated per request.
 *
 * Both sides spin briefly and then sleep on a futex in this memory (not process-private).
 */
#ifndef EMU_SHM_H
#define EMU_SHM_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#define EMU_SHM_MAGIC 0x56454f454d55ULL /* "VEOEMU" */
#define EMU_SHM_VERSION 3

#define EMU_MAX_CTX 64                    /* main context + 63 */
#define EMU_RING_SIZE (128ULL << 20)      /* virtual; released chunks are punched out */
#define EMU_RING_CHUNK (1ULL << 20)       /* punch granularity */
#define EMU_REC_ALIGN 16ULL
#define EMU_MAX_REC (EMU_RING_SIZE / 2)   /* largest single record */
#define EMU_INLINE_XFER (4ULL << 20)      /* fragment size of inline (fallback) transfers */
#define EMU_CTL_SIZE 4096ULL
#define EMU_HDR_SIZE 4096ULL

/* Offsets inside the shared file. */
#define EMU_CTL_OFFSET(i) (EMU_HDR_SIZE + (uint64_t)(i) * EMU_CTL_SIZE)
#define EMU_RING_OFFSET(i) \
  (EMU_HDR_SIZE + EMU_MAX_CTX * EMU_CTL_SIZE + (uint64_t)(i) * EMU_RING_SIZE)
#define EMU_SHM_SIZE EMU_RING_OFFSET(EMU_MAX_CTX)

/* Environment variables the host sets for the helper. */
#define EMU_ENV_SHM_FD "VEO_EMU_SHM_FD"
#define EMU_ENV_HOST_PID "VEO_EMU_HOST_PID"

enum emu_helper_state {
  EMU_HELPER_STARTING = 0,
  EMU_HELPER_READY = 1,
  EMU_HELPER_DEAD = 2
};

/* Record kinds. */
enum emu_kind {
  EMU_K_PAD = 0,
  EMU_K_NOP,        /* barrier: completes when everything before it has */
  EMU_K_CALL,       /* a0 = function, a1 = result type; payload = args + stack data */
  EMU_K_ALLOC,      /* a0 = size -> result = address */
  EMU_K_FREE,       /* a0 = address */
  EMU_K_READ,       /* helper memory -> host: a0 = src, a1 = size, a2 = host dst */
  EMU_K_WRITE,      /* host -> helper memory: a0 = dst, a1 = size, a2 = host src */
  EMU_K_MEMCPY,     /* a0 = dst, a1 = src, a2 = size (both helper memory) */
  EMU_K_LOAD,       /* payload = path -> result = dlopen handle */
  EMU_K_UNLOAD,     /* a0 = handle -> result = dlclose() */
  EMU_K_SYM,        /* a0 = handle, payload = name -> result = address */
  EMU_K_VH,         /* run on the host's VH thread: a0 = func, a1 = arg */
  EMU_K_OPEN_CTX,   /* a0 = context index, a1 = stack size, a2 = core (-1: none) */
  EMU_K_EXIT        /* the serving thread exits (main context: the helper exits) */
};

/* Record flags. */
#define EMU_F_INLINE 0x1u     /* READ/WRITE: the data is in the payload (no process_vm_*) */
#define EMU_F_FRAG 0x2u       /* part of a fragmented transfer: a failure poisons the chain */
#define EMU_F_FRAG_LAST 0x4u  /* last fragment: reports the chain's first failure */
#define EMU_F_VH_POST 0x8u    /* after executing, hand the record to the host's VH thread */
#define EMU_F_INTERNAL 0x10u  /* host-only: the result is never collected by the user */
#define EMU_F_HAS_OUT 0x20u   /* host-only: CALL with OUT/INOUT stack args to copy back */
#define EMU_F_HOST_XFER 0x40u /* READ/WRITE done by the host's VH thread (process_vm_* from
                                 the host: the helper's huge pages are the remote side) */
#define EMU_HOST_XFER_MIN (256ULL << 10) /* async transfers from this size use it */

/* Argument classes on the wire (veo_args setters; STACK carries an intent). */
enum emu_arg_type {
  EMU_A_NONE = 0,
  EMU_A_I8, EMU_A_U8, EMU_A_I16, EMU_A_U16, EMU_A_I32, EMU_A_U32, EMU_A_I64, EMU_A_U64,
  EMU_A_FLOAT, EMU_A_DOUBLE,
  EMU_A_STACK_IN, EMU_A_STACK_INOUT, EMU_A_STACK_OUT
};

/* One argument: value (little-endian, low bytes used by narrow types; FLOAT = bits in the
 * low 32) or, for STACK, the host buffer address (host-only meaning) and its length. The
 * stack data follows the argument array, each buffer 16-byte aligned, in argument order. */
struct emu_wire_arg {
  uint64_t value;
  uint32_t type;
  uint32_t len;
};

/* A record: 32 bytes of header, for some kinds 16 more (emu_rec_ext), then the payload.
 * Small on purpose: with a kernel blocking its context, every queued call stays here. The
 * request id is implicit (records of a context are numbered in order, pads excluded). */
struct emu_rec {
  uint32_t size;               /* bytes, including the header; multiple of EMU_REC_ALIGN */
  uint8_t kind;
  uint8_t flags;
  uint16_t nargs;              /* CALL */
  _Atomic uint32_t state;      /* VEO_COMMAND_*; UNFINISHED until the helper completes */
  uint32_t rtype;              /* CALL: enum veo_emu_type of the result */
  uint64_t a0;
  uint64_t result;
};
_Static_assert(sizeof(struct emu_rec) == 32, "record header layout");

/* Two more operands, present for the kinds emu_kind_has_ext() lists. */
struct emu_rec_ext {
  uint64_t a1, a2;
};

static inline int emu_kind_has_ext(int kind) {
  return kind == EMU_K_READ || kind == EMU_K_WRITE || kind == EMU_K_MEMCPY ||
         kind == EMU_K_OPEN_CTX || kind == EMU_K_VH || kind == EMU_K_ALLOC || kind == EMU_K_FREE;
}

static inline uint64_t emu_rec_hdr_size(int kind) {
  return sizeof(struct emu_rec) + (emu_kind_has_ext(kind) ? sizeof(struct emu_rec_ext) : 0);
}

static inline uint64_t emu_align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static inline struct emu_rec_ext *emu_rec_ext(struct emu_rec *r) {
  return (struct emu_rec_ext *)(r + 1);
}

static inline void *emu_rec_payload(struct emu_rec *r) {
  return (char *)r + emu_rec_hdr_size(r->kind);
}

/* Per-context control block. Host-written and helper-written fields live on separate
 * cache lines so the two sides never bounce one line. */
struct emu_ctx_ctl {
  /* host-written */
  _Alignas(64) _Atomic uint64_t head;      /* bytes appended */
  _Atomic uint32_t submit_seq;             /* futex: the helper sleeps on it */
  _Atomic uint32_t host_waiters;           /* host threads asleep on done_seq */
  _Atomic uint64_t wake_pos;               /* wake host waiters once done >= this */
  _Atomic int32_t host_cpu;                /* CPU of the host thread spinning on done */
  _Atomic uint64_t notify_pos;             /* write a byte to the notify pipe once done >=
                                              this (veo_emu_arm); UINT64_MAX: not armed */
  uint64_t stacksize;
  int32_t core;
  /* helper-written */
  _Alignas(64) _Atomic uint64_t done;      /* bytes completed */
  _Atomic uint32_t done_seq;               /* futex: host waiters sleep on it */
  _Atomic uint32_t helper_sleeping;
  _Atomic int32_t helper_cpu;              /* CPU of the helper thread spinning on head */
  /* VH hand-off: helper -> host VH thread -> helper */
  _Alignas(64) _Atomic uint64_t vh_pos;    /* ring position of the record to run */
  _Atomic uint32_t vh_seq;                 /* futex: host VH thread sleeps on it */
  _Atomic uint32_t vh_done_seq;            /* futex: helper sleeps on it */
  _Atomic uint32_t vh_shutdown;            /* host: stop the VH thread */
};

struct emu_shm_hdr {
  uint64_t magic;
  uint32_t version;
  int32_t host_pid;
  _Atomic uint32_t helper_state;   /* futex, enum emu_helper_state */
  _Atomic uint32_t fault_signal;   /* a kernel's fatal signal, 0 if none */
  _Atomic int32_t fault_ctx;       /* context index that faulted, -1 if unknown */
  uint32_t vm_rw_disabled;         /* host: VEO_EMU_NO_VM_RW */
  uint64_t host_probe_addr;        /* host: address of EMU_SHM_MAGIC in the host */
  uint64_t helper_probe_addr;      /* helper: address of EMU_SHM_MAGIC in the helper */
  _Atomic uint32_t helper_vm_ok;   /* helper: process_vm_* on the host works */
  int32_t node;
  int32_t notify_fd;               /* helper: its notify pipe's write end, -1 if none (the
                                      host opens a reader at /proc/<helper>/fd/<it>) */
};

#endif /* EMU_SHM_H */
