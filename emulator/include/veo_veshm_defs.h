/* veo_veshm_defs.h - upstream header name kept for source compatibility; everything is declared in
 * veo_veshm.h (the emulator's stubs for VE-SHM, VH-SHM and VE-DMA). */
#ifndef VEO_TS_VEO_VESHM_DEFS_H
#define VEO_TS_VEO_VESHM_DEFS_H
#include "veo_veshm.h"
#endif
