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
#define EMU_SHM_VERSION 1

#define EMU_MAX_CTX 64                    /* main context + 63 */
#define EMU_RING_SIZE (128ULL << 20)      /* virtual; released chunks are punched out */
#define EMU_RING_CHUNK (1ULL << 20)       /* punch granularity */
#define EMU_REC_ALIGN 64ULL
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
  EMU_K_VH,         /* run on the host's VH thread: host_a = func, host_b = arg */
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

struct emu_rec {
  uint32_t size;               /* bytes, including this header; multiple of EMU_REC_ALIGN */
  uint16_t kind;
  uint16_t flags;
  _Atomic uint32_t state;      /* VEO_COMMAND_*; UNFINISHED until the helper completes */
  uint32_t nargs;
  uint64_t reqid;
  uint64_t a0, a1, a2;
  uint64_t result;
  uint64_t host_a, host_b;     /* host-only */
};
_Static_assert(sizeof(struct emu_rec) == 72, "record header layout");
#define EMU_REC_HDR 80ULL      /* payload starts here (16-byte aligned) */

static inline uint64_t emu_align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static inline void *emu_rec_payload(struct emu_rec *r) { return (char *)r + EMU_REC_HDR; }

/* Per-context control block. Host-written and helper-written fields live on separate
 * cache lines so the two sides never bounce one line. */
struct emu_ctx_ctl {
  /* host-written */
  _Alignas(64) _Atomic uint64_t head;      /* bytes appended */
  _Atomic uint32_t submit_seq;             /* futex: the helper sleeps on it */
  _Atomic uint32_t host_waiters;           /* host threads asleep on done_seq */
  _Atomic uint64_t wake_pos;               /* wake host waiters once done >= this */
  uint64_t stacksize;
  int32_t core;
  /* helper-written */
  _Alignas(64) _Atomic uint64_t done;      /* bytes completed */
  _Atomic uint32_t done_seq;               /* futex: host waiters sleep on it */
  _Atomic uint32_t helper_sleeping;
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
};

#endif /* EMU_SHM_H */
