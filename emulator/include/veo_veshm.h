/*
 * veo_veshm.h - AVEO's VE-SHM, VH-SHM and VE-DMA helper functions (exported by libveo.so.1
 * since API 13, not part of ve_offload.h). They need real VE hardware: the veo-ts emulator
 * exports them with the upstream prototypes, and each one fails as documented
 * (-1 / -ENOTSUP / (void *)-1 with errno = ENOTSUP).
 */
#ifndef VEO_TS_VEO_VESHM_H
#define VEO_TS_VEO_VESHM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* VE-SHM mode flags (long long). */
enum VESHM_mode_flag {
  VE_SHM_RO = 0x1,
  VE_PCISYNC = 0x2,
  VE_REGISTER_PCI = 0x4,
  VE_MAP_256MB = 0x10
};
enum VESHM_additional_mode_flag {
  VE_REGISTER_NONE = 0x1000,
  VE_REGISTER_VEMVA = 0x2000,
  VE_REGISTER_VEHVA = 0x4000,
  VE_MEM_LOCAL = 0x8000
};

typedef struct ve_dma_handle {
  int status;
  int index;
} ve_dma_handle_t;

int veo_shared_mem_open(void *hmem, size_t size, int syncnum, long long mode);
int veo_shared_mem_close(void *hmem, size_t size, int syncnum, long long mode);
void *veo_shared_mem_attach(struct veo_proc_handle *proc, pid_t pid, void *hmem, size_t size,
                            int syncnum, long long mode);
int veo_shared_mem_detach(struct veo_proc_handle *proc, void *hmem, long long mode);

int veo_shmget(struct veo_proc_handle *proc, key_t key, size_t size, int shmflag);
void *veo_shmat(struct veo_proc_handle *proc, int shmid, const void *shmaddr, int shmflag,
                void **vehva);
int veo_shmdt(struct veo_proc_handle *proc, const void *shmaddr);

int veo_dma_post(struct veo_proc_handle *proc, uint64_t dst, uint64_t src, int size,
                 ve_dma_handle_t *handle);
int veo_dma_poll(struct veo_proc_handle *proc, ve_dma_handle_t *handle);
int veo_dma_post_wait(struct veo_proc_handle *proc, uint64_t dst, uint64_t src, int size);
uint64_t veo_register_mem_to_dmaatb(void *hmem, size_t size);
int veo_unregister_mem_from_dmaatb(struct veo_proc_handle *proc, uint64_t vehva);
void veo_access_pcircvsyc_register(struct veo_proc_handle *proc);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VEO_VESHM_H */
