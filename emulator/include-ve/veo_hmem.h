/*
 * veo_hmem.h (kernel side) - HMEM address helpers for emulated kernels, as libveohmem
 * provides them on a VE. The veo-ts helper (veorun) exports these functions; include this
 * header (or compile with -include veo_hmem.h) so pointers are not truncated by implicit
 * declarations. The helpers are declared once, in the VH-side header next door (the build
 * copies include/ and include-ve/ side by side); this adds what only a kernel can call.
 */
#ifndef VEO_TS_VE_VEO_HMEM_H
#define VEO_TS_VE_VEO_HMEM_H

#include "../include/veo_hmem.h"

#ifdef __cplusplus
extern "C" {
#endif

signed long syscall_wrapper(int num, long a1, long a2, long a3, long a4, long a5, long a6);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VE_VEO_HMEM_H */
