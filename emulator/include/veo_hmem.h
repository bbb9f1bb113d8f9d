/*
 * veo_hmem.h - heterogeneous memory (HMEM) address helpers. Usable on both sides: the host
 * program (from libveo.so.1) and emulated kernels (exported by the emulator's helper).
 * An HMEM address has bit 63 set and the proc identifier in bits 62:59.
 */
#ifndef VEO_TS_VEO_HMEM_H
#define VEO_TS_VEO_HMEM_H

#ifdef __cplusplus
extern "C" {
#endif

int veo_is_ve_addr(const void *addr);
void *veo_get_hmem_addr(void *addr);
int veo_get_max_proc_identifier(void);
int veo_get_proc_identifier_from_hmem(const void *addr);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VEO_HMEM_H */
