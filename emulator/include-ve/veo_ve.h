/*
 * veo_ve.h (kernel side) - host-safe stand-in for AVEO's VE-side veo_ve.h (which refuses to
 * compile unless __ve__). Declares what an emulated kernel may call in the veo-ts helper.
 */
#ifndef VEO_TS_VE_VEO_VE_H
#define VEO_TS_VE_VEO_VE_H

#include <stdint.h>
#include "veo_hmem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The first 8 bytes of the reply this context sent `offs` replies before the current call
 * started (offs = 0: the latest). Returns 0, or -1 if there is no such reply. */
int veo_prev_req_result(int offs, uint64_t *result);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VE_VEO_VE_H */
