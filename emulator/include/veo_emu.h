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
