/*
 * ve_offload.h - the VE Offloading API (AVEO API version 16), as implemented by the
 * veo-ts host emulator. Written for this project from the API's documented prototypes;
 * a program compiled against it links against any libveo.so.1 of API version 16.
 *
 * Emulator-only extensions live in veo_emu.h, never here.
 */
#ifndef VEO_TS_VE_OFFLOAD_H
#define VEO_TS_VE_OFFLOAD_H

/* The same system headers as upstream's ve_offload.h, so a client relying on them compiles. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include "veo_hmem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEO_API_VERSION 16
#define VEO_SYMNAME_LEN_MAX (255)
#define VEO_LOG_CATEGORY "veos.veo.veo"
#define VEO_MAX_NUM_ARGS (256)
#define VEO_REQUEST_ID_INVALID (~0UL)

/* Debugger commands AVEO uses with VEO_DEBUG (the emulator does not use them). */
#define CMD_VEGDB "/opt/nec/ve/bin/ve-gdb"
#define CMD_XTERM "/usr/bin/xterm"

enum veo_context_state {
  VEO_STATE_UNKNOWN = 0,
  VEO_STATE_RUNNING,
  VEO_STATE_SYSCALL,
  VEO_STATE_BLOCKED,
  VEO_STATE_EXIT
};

enum veo_command_state {
  VEO_COMMAND_OK = 0,
  VEO_COMMAND_EXCEPTION,
  VEO_COMMAND_ERROR,
  VEO_COMMAND_UNFINISHED
};

enum veo_queue_state {
  VEO_QUEUE_READY = 0,
  VEO_QUEUE_CLOSED
};

enum veo_args_intent {
  VEO_INTENT_IN = 0,
  VEO_INTENT_INOUT,
  VEO_INTENT_OUT
};

struct veo_proc_handle;
struct veo_thr_ctxt;
struct veo_args;
struct veo_thr_ctxt_attr;

/* version */
int veo_api_version(void);
const char *veo_version_string(void);

/* processes */
struct veo_proc_handle *veo_proc_create(int venode);
struct veo_proc_handle *veo_proc_create_static(int venode, char *veobin);
int veo_proc_destroy(struct veo_proc_handle *proc);
int veo_proc_identifier(struct veo_proc_handle *proc);
void *veo_set_proc_identifier(void *addr, int ident);

/* libraries and symbols */
uint64_t veo_load_library(struct veo_proc_handle *proc, const char *libname);
int veo_unload_library(struct veo_proc_handle *proc, const uint64_t libhandle);
uint64_t veo_get_sym(struct veo_proc_handle *proc, uint64_t libhdl, const char *symname);

/* synchronous memory */
int veo_alloc_mem(struct veo_proc_handle *proc, uint64_t *addr, const size_t size);
int veo_free_mem(struct veo_proc_handle *proc, uint64_t addr);
int veo_read_mem(struct veo_proc_handle *proc, void *dst, uint64_t src, size_t size);
int veo_write_mem(struct veo_proc_handle *proc, uint64_t dst, const void *src, size_t size);

/* contexts */
struct veo_thr_ctxt *veo_context_open(struct veo_proc_handle *proc);
struct veo_thr_ctxt *veo_context_open_with_attr(struct veo_proc_handle *proc,
                                                struct veo_thr_ctxt_attr *attr);
int veo_context_close(struct veo_thr_ctxt *ctx);
int veo_get_context_state(struct veo_thr_ctxt *ctx);
void veo_context_sync(struct veo_thr_ctxt *ctx);
int veo_num_contexts(struct veo_proc_handle *proc);
struct veo_thr_ctxt *veo_get_context(struct veo_proc_handle *proc, int idx);
struct veo_thr_ctxt_attr *veo_alloc_thr_ctxt_attr(void);
int veo_free_thr_ctxt_attr(struct veo_thr_ctxt_attr *attr);
int veo_set_thr_ctxt_stacksize(struct veo_thr_ctxt_attr *attr, size_t stacksize);
int veo_get_thr_ctxt_stacksize(struct veo_thr_ctxt_attr *attr, size_t *stacksize);

/* call arguments */
struct veo_args *veo_args_alloc(void);
int veo_args_set_i64(struct veo_args *ca, int argnum, int64_t val);
int veo_args_set_u64(struct veo_args *ca, int argnum, uint64_t val);
int veo_args_set_i32(struct veo_args *ca, int argnum, int32_t val);
int veo_args_set_u32(struct veo_args *ca, int argnum, uint32_t val);
int veo_args_set_i16(struct veo_args *ca, int argnum, int16_t val);
int veo_args_set_u16(struct veo_args *ca, int argnum, uint16_t val);
int veo_args_set_i8(struct veo_args *ca, int argnum, int8_t val);
int veo_args_set_u8(struct veo_args *ca, int argnum, uint8_t val);
int veo_args_set_double(struct veo_args *ca, int argnum, double val);
int veo_args_set_float(struct veo_args *ca, int argnum, float val);
int veo_args_set_stack(struct veo_args *ca, enum veo_args_intent inout, int argnum,
                       char *buff, size_t len);
int veo_args_set_hmem(struct veo_args *ca, int argnum, void *ptr);
void veo_args_clear(struct veo_args *ca);
void veo_args_free(struct veo_args *ca);

/* calls */
int veo_call_sync(struct veo_proc_handle *proc, uint64_t addr, struct veo_args *ca,
                  uint64_t *result);
uint64_t veo_call_async(struct veo_thr_ctxt *ctx, uint64_t addr, struct veo_args *ca);
uint64_t veo_call_async_by_name(struct veo_thr_ctxt *ctx, uint64_t libhdl,
                                const char *symname, struct veo_args *ca);
uint64_t veo_call_async_vh(struct veo_thr_ctxt *ctx, uint64_t (*func)(void *), void *arg);

/* results */
int veo_call_peek_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp);
int veo_call_wait_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp);

/* asynchronous memory */
uint64_t veo_async_read_mem(struct veo_thr_ctxt *ctx, void *dst, uint64_t src, size_t size);
uint64_t veo_async_write_mem(struct veo_thr_ctxt *ctx, uint64_t dst, const void *src,
                             size_t size);
uint64_t veo_alloc_mem_async(struct veo_thr_ctxt *ctx, const size_t size);
uint64_t veo_free_mem_async(struct veo_thr_ctxt *ctx, uint64_t addr);

/* request blocks */
void veo_req_block_begin(struct veo_thr_ctxt *ctx);
void veo_req_block_end(struct veo_thr_ctxt *ctx);

/* hooks */
void veo_register_hook(void *func, void (*hook)(void *, ...), void *payload);
void *veo_get_hook(void *func);
void veo_unregister_hook(void *func);
void veo_register_hmem_hook_functions(void (*alloc_hook)(void *hmem, size_t size),
                                      void (*free_hook)(uint64_t hmem));
void veo_unregister_hmem_hook_functions();

/* heterogeneous memory */
int veo_alloc_hmem(struct veo_proc_handle *proc, void **addr, const size_t size);
int veo_free_hmem(void *addr);
int veo_hmemcpy(void *dst, const void *src, size_t size);
struct veo_proc_handle *veo_get_proc_handle_from_hmem(const void *addr);
pid_t veo_get_pid_from_hmem(const void *addr);
int veo_get_venum_from_hmem(const void *addr);

/* architecture */
int veo_get_ve_arch(int venode);

#ifdef __cplusplus
}
#endif
#endif /* VEO_TS_VE_OFFLOAD_H */
