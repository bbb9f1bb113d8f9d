/*
 * emu_hmem_addr.h - the HMEM address layout, shared by the host library (the veo_* HMEM API)
 * and the helper (the same address helpers, exported to kernels): bit 63 marks a VE address,
 * bits 62:59 hold the proc identifier, the rest is the address in the helper.
 */
#ifndef EMU_HMEM_ADDR_H
#define EMU_HMEM_ADDR_H

#include <stdint.h>

#define EMU_HMEM_VE_BIT 0x8000000000000000ULL
#define EMU_HMEM_IDENT_MASK 0x7800000000000000ULL
#define EMU_HMEM_TAG_MASK (EMU_HMEM_VE_BIT | EMU_HMEM_IDENT_MASK)
#define EMU_HMEM_IDENT_SHIFT 59
#define EMU_HMEM_MAX_PROCS 16

static inline int emu_hmem_addr_is_ve(uint64_t a) { return (a & EMU_HMEM_VE_BIT) ? 1 : 0; }

/* The plain address: tag bits cleared from a VE address; anything else unchanged. */
static inline uint64_t emu_hmem_addr_strip(uint64_t a) {
  return (a & EMU_HMEM_VE_BIT) ? a & ~EMU_HMEM_TAG_MASK : a;
}

/* The proc identifier of a VE address, or -1 for any other address. */
static inline int emu_hmem_ident_get(uint64_t a) {
  return (a & EMU_HMEM_VE_BIT) ? (int)((a & EMU_HMEM_IDENT_MASK) >> EMU_HMEM_IDENT_SHIFT) : -1;
}

#endif /* EMU_HMEM_ADDR_H */
