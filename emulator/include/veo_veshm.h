/*
 * veo_veshm.h - AVEO's VE-SHM helpers (exported by libveo.so.1 since API 13, not part of
 * ve_offload.h). They need real VE hardware: the veo-ts emulator exports them with the
 * upstream prototypes, and each fails as documented (-1 / (void *)-1, errno = ENOTSUP).
 * The VH-SHM functions are in veo_vhveshm.h, the VE-DMA ones in veo_vedma.h, as upstream;
 * each header includes the same system headers as its upstream counterpart.
 */
#ifndef VEO_TS_VEO_VESHM_H
#define VEO_TS_VEO_VESHM_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
#include "ve_offload.h"
#include "veo_veshm_defs.h"

#ifdef __cplusplus
extern "C" {
#endif

int veo_shared_mem_open(void *hmem, size_t size, int syncnum, long long mode);
int veo_shared_mem_close(void *hmem, size_t size, int syncnum, long long mode);
void *veo_shared_mem_attach(struct veo_proc_handle *proc, pid_t pid, void *hmem, size_t size,
                            int syncnum, long long mode);
int veo_shared_mem_detach(struct veo_proc_handle *proc, void *hmem, long long mode);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VEO_VESHM_H */
