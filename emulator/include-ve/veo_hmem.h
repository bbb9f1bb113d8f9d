/*
 * veo_hmem.h (kernel side) - HMEM address helpers for emulated kernels, as libveohmem
 * provides them on a VE. The veo-ts helper (veorun) exports these functions; include this
 * header (or compile with -include veo_hmem.h) so pointers are not truncated by implicit
 * declarations. An HMEM address has bit 63 set and the proc identifier in bits 62:59.
 */
#ifndef VEO_TS_VE_VEO_HMEM_H
#define VEO_TS_VE_VEO_HMEM_H

#ifdef __cplusplus
extern "C" {
#endif

int veo_is_ve_addr(const void *addr);
void *veo_get_hmem_addr(void *addr);
int veo_get_max_proc_identifier(void);
int veo_get_proc_identifier_from_hmem(const void *addr);
signed long syscall_wrapper(int num, long a1, long a2, long a3, long a4, long a5, long a6);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VE_VEO_HMEM_H */
