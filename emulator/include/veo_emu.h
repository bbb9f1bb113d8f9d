/*
 * veo_emu.h - extensions exported only by the veo-ts host emulator's libveo.so.1.
 * Callers must look these symbols up optionally (dlsym / koffi) and work without them:
 * a real libveo does not have them.
 */
#ifndef VEO_TS_VEO_EMU_H
#define VEO_TS_VEO_EMU_H

#include <stdint.h>
#include <sys/types.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Return-type hint. A real VE delivers every result in one 64-bit register (%s0): doubles
 * as their bit pattern, floats in bits 63:32 with bits 31:0 zero, narrower integers sign- or
 * zero-extended. On x86-64 a float/double result comes back in %xmm0, which the emulator can
 * only read if it knows the return type. With this hint set on an argument object, the helper
 * calls the kernel with that return class and encodes the result exactly as a VE would:
 *   VOID -> 0; I8/I16/I32 -> sign-extended; U8/U16/U32 -> zero-extended; I64/U64/PTR -> as is;
 *   FLOAT -> (uint64_t)float_bits << 32; DOUBLE -> double bits.
 * DEFAULT (the state after veo_args_alloc/veo_args_clear) returns the raw %rax, as a plain
 * C client expects. Returns 0, or -1 with errno=EINVAL for an unknown type or NULL ca.
 */
enum veo_emu_type {
  VEO_EMU_TYPE_DEFAULT = 0,
  VEO_EMU_TYPE_VOID,
  VEO_EMU_TYPE_I8,
  VEO_EMU_TYPE_U8,
  VEO_EMU_TYPE_I16,
  VEO_EMU_TYPE_U16,
  VEO_EMU_TYPE_I32,
  VEO_EMU_TYPE_U32,
  VEO_EMU_TYPE_I64,
  VEO_EMU_TYPE_U64,
  VEO_EMU_TYPE_FLOAT,
  VEO_EMU_TYPE_DOUBLE,
  VEO_EMU_TYPE_PTR
};
int veo_emu_args_set_result_type(struct veo_args *ca, int type);

/* The host pid of the helper process serving this proc, or -1 (NULL or destroyed proc). */
pid_t veo_emu_proc_pid(struct veo_proc_handle *proc);

/*
 * Completion notification on the caller's event loop (no thread blocked in
 * veo_call_wait_result). veo_emu_notify_fd returns a new file descriptor (close-on-exec,
 * non-blocking, the caller's to close), or -1: a reader of the proc's notify pipe (opened
 * through /proc/<helper>/fd/N; the library keeps no descriptor). One byte arrives on it
 * after veo_emu_arm(ctx, reqid) returned 1 and that request completed; end-of-file when
 * the VE process is gone. Spurious bytes are possible, so a reader collects with
 * veo_call_peek_result and arms again. veo_emu_arm returns 1 when armed, 0 when there is
 * nothing to wait for (peek now), -1 without a notify pipe. One request per context is armed
 * at a time (arming again replaces it); all contexts of a proc share its pipe, so read it
 * from one place per proc. Only the emulator has these.
 */
int veo_emu_notify_fd(struct veo_proc_handle *proc);
/* veo_call_wait_result for at most timeout_ns: VEO_COMMAND_UNFINISHED once that has passed
 * (the request stays collectable). Spins the way veo_call_wait_result does (yielding the CPU
 * to the VE side when they share it), and sleeps only for waits longer than that spin. */
int veo_emu_wait_result_for(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp,
                            uint64_t timeout_ns);
int veo_emu_arm(struct veo_thr_ctxt *ctx, uint64_t reqid);

/* Ties a live proc to the calling thread: when the thread exits (pthread_exit, or the end
 * of its start function) and the proc has not been destroyed, the thread's exit destroys
 * it without a grace period (the helper is killed at once). For worker threads of language
 * runtimes that can be ended from outside without running their teardown. A process's
 * exit() runs no thread exits (the library destructor ends every proc then). Tying again
 * from another thread moves the tie. Returns 0, or -1 for a proc that is not live. */
int veo_emu_proc_tie_thread(struct veo_proc_handle *proc);

/* 1: this library is the veo-ts emulator. Exists so a caller can tell without parsing
 * veo_version_string(). */
int veo_emu_is_emulator(void);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VEO_EMU_H */
