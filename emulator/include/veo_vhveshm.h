/*
 * veo_vhveshm.h - AVEO's VH-SHM helpers: System V shared memory of the VH attached by the VE
 * process. Exported by libveo.so.1 since API 13; the emulator's fail with errno = ENOTSUP
 * (-1, or (void *)-1 from veo_shmat).
 */
#ifndef VEO_TS_VEO_VHVESHM_H
#define VEO_TS_VEO_VHVESHM_H

#include <signal.h>
#include <sys/ipc.h> /* key_t, also under -std=c11 (sys/types.h has it only with GNU/XSI) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

int veo_shmget(struct veo_proc_handle *proc, key_t key, size_t size, int shmflag);
void *veo_shmat(struct veo_proc_handle *proc, int shmid, const void *shmaddr, int shmflag,
                void **vehva);
int veo_shmdt(struct veo_proc_handle *proc, const void *shmaddr);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VEO_VHVESHM_H */
