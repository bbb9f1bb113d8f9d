/*
 * veo_vedma.h - AVEO's VE-DMA helpers (exported by libveo.so.1 since API 13). The
 * emulator's return -ENOTSUP (veo_dma_*), or -1 ((uint64_t)-1) with errno = ENOTSUP.
 */
#ifndef VEO_TS_VEO_VEDMA_H
#define VEO_TS_VEO_VEDMA_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ve_dma_handle {
  int status;
  int index;
} ve_dma_handle_t;

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
#endif /* VEO_TS_VEO_VEDMA_H */
