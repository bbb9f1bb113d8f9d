/*
 * The C API of libveo, written once: every prototype of AVEO API 16 (ve_offload.h,
 * veo_hmem.h, and the VE-SHM/VH-SHM/VE-DMA headers veo_veshm.h, veo_vhveshm.h, veo_vedma.h)
 * plus the emulator's optional veo_emu_* extensions, in one table. `bindApi`
 * turns a loaded koffi library into typed functions. Functions newer than the library's
 * veo_api_version(), or simply missing from it, are bound as `undefined`; the VEO 1.x core
 * is required.
 *
 * Handles (proc, context, args, attr) and the result register's address cross the FFI as
 * `uintptr_t` Numbers, not as koffi pointers: koffi turns a pointer parameter from a BigInt
 * (or a Number) on every call, and a Number integer is the cheapest argument it converts
 * (measured in bench/README.md, "Before/after"). Every user-space address on x86-64 is below
 * 2^47, so a Number holds it exactly; NULL comes back as 0. The Numbers are branded so that a
 * context can never be passed where a proc is expected.
 */
import koffi, { type LibraryHandle, type TypeObject } from "koffi";

declare const brand: unique symbol;
type Handle<B extends string> = number & { readonly [brand]: B };
export type ProcHandle = Handle<"veo_proc_handle">;
export type CtxHandle = Handle<"veo_thr_ctxt">;
export type ArgsHandle = Handle<"veo_args">;
export type AttrHandle = Handle<"veo_thr_ctxt_attr">;
/** The native address of an 8-byte result slot (see nativeRegister). */
export type RegAddr = Handle<"uint64_t *">;

/** A host buffer koffi passes zero-copy to a `void *` parameter. */
export type HostPtr = ArrayBufferView | ArrayBuffer | bigint | number | null;
/** koffi returns `uint64_t` as a number up to 2**53 and as a bigint above. */
export type U64 = number | bigint;
/** Node-style completion callback of a koffi `.async` call. */
export type AsyncCallback<R> = (err: unknown, result: R) => void;

type Fn<A extends unknown[], R> = ((...args: A) => R) & {
  async(...args: [...A, AsyncCallback<R>]): void;
};

/** Every function of the API, by C name. Optional ones may be `undefined` at run time. */
export interface VeoApi {
  veo_api_version: Fn<[], number>;
  veo_version_string?: Fn<[], string | null>;

  veo_proc_create: Fn<[venode: number], ProcHandle>;
  veo_proc_create_static: Fn<[venode: number, veobin: string], ProcHandle>;
  veo_proc_destroy: Fn<[proc: ProcHandle], number>;
  veo_proc_identifier?: Fn<[proc: ProcHandle], number>;
  veo_set_proc_identifier?: Fn<[addr: U64, ident: number], bigint | null>;

  veo_load_library: Fn<[proc: ProcHandle, libname: string], U64>;
  veo_unload_library?: Fn<[proc: ProcHandle, handle: U64], number>;
  veo_get_sym: Fn<[proc: ProcHandle, libhdl: U64, name: string], U64>;

  veo_alloc_mem: Fn<[proc: ProcHandle, addr: BigUint64Array, size: number], number>;
  veo_free_mem: Fn<[proc: ProcHandle, addr: U64], number>;
  veo_read_mem: Fn<[proc: ProcHandle, dst: HostPtr, src: U64, size: number], number>;
  veo_write_mem: Fn<[proc: ProcHandle, dst: U64, src: HostPtr, size: number], number>;

  veo_context_open: Fn<[proc: ProcHandle], CtxHandle>;
  veo_context_open_with_attr?: Fn<[proc: ProcHandle, attr: AttrHandle], CtxHandle>;
  veo_context_close: Fn<[ctx: CtxHandle], number>;
  veo_get_context_state: Fn<[ctx: CtxHandle], number>;
  veo_context_sync?: Fn<[ctx: CtxHandle], void>;
  veo_num_contexts?: Fn<[proc: ProcHandle], number>;
  veo_get_context?: Fn<[proc: ProcHandle, idx: number], CtxHandle>;
  veo_alloc_thr_ctxt_attr?: Fn<[], AttrHandle>;
  veo_free_thr_ctxt_attr?: Fn<[attr: AttrHandle], number>;
  veo_set_thr_ctxt_stacksize?: Fn<[attr: AttrHandle, size: U64], number>;
  veo_get_thr_ctxt_stacksize?: Fn<[attr: AttrHandle, size: BigUint64Array], number>;

  veo_args_alloc: Fn<[], ArgsHandle>;
  veo_args_set_i64: Fn<[ca: ArgsHandle, argnum: number, v: U64], number>;
  veo_args_set_u64: Fn<[ca: ArgsHandle, argnum: number, v: U64], number>;
  veo_args_set_i32: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_u32: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_i16?: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_u16?: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_i8?: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_u8?: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_double: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_float: Fn<[ca: ArgsHandle, argnum: number, v: number], number>;
  veo_args_set_stack: Fn<
    [ca: ArgsHandle, intent: number, argnum: number, buff: HostPtr, len: number],
    number
  >;
  veo_args_set_hmem?: Fn<[ca: ArgsHandle, argnum: number, ptr: U64], number>;
  veo_args_clear: Fn<[ca: ArgsHandle], void>;
  veo_args_free: Fn<[ca: ArgsHandle], void>;

  veo_call_sync?: Fn<[proc: ProcHandle, addr: U64, ca: ArgsHandle, result: RegAddr], number>;
  veo_call_async: Fn<[ctx: CtxHandle, addr: U64, ca: ArgsHandle], U64>;
  veo_call_async_by_name?: Fn<[ctx: CtxHandle, libhdl: U64, name: string, ca: ArgsHandle], U64>;
  veo_call_async_vh?: Fn<[ctx: CtxHandle, func: U64, arg: U64], U64>;

  veo_call_peek_result: Fn<[ctx: CtxHandle, reqid: U64, retp: RegAddr], number>;
  veo_call_wait_result: Fn<[ctx: CtxHandle, reqid: U64, retp: RegAddr], number>;

  veo_async_read_mem: Fn<[ctx: CtxHandle, dst: HostPtr, src: U64, size: number], U64>;
  veo_async_write_mem: Fn<[ctx: CtxHandle, dst: U64, src: HostPtr, size: number], U64>;
  veo_alloc_mem_async?: Fn<[ctx: CtxHandle, size: number], U64>;
  veo_free_mem_async?: Fn<[ctx: CtxHandle, addr: U64], U64>;

  veo_req_block_begin?: Fn<[ctx: CtxHandle], void>;
  veo_req_block_end?: Fn<[ctx: CtxHandle], void>;

  veo_register_hook?: Fn<[func: U64, hook: U64, payload: U64], void>;
  veo_get_hook?: Fn<[func: U64], bigint | null>;
  veo_unregister_hook?: Fn<[func: U64], void>;
  veo_register_hmem_hook_functions?: Fn<[alloc: bigint | null, free: bigint | null], void>;
  veo_unregister_hmem_hook_functions?: Fn<[], void>;

  veo_alloc_hmem?: Fn<[proc: ProcHandle, addr: BigUint64Array, size: number], number>;
  veo_free_hmem?: Fn<[addr: U64], number>;
  veo_hmemcpy?: Fn<[dst: HostPtr, src: HostPtr, size: number], number>;
  veo_get_proc_handle_from_hmem?: Fn<[addr: U64], ProcHandle>;
  veo_get_pid_from_hmem?: Fn<[addr: U64], number>;
  veo_get_venum_from_hmem?: Fn<[addr: U64], number>;
  veo_is_ve_addr?: Fn<[addr: U64], number>;
  veo_get_hmem_addr?: Fn<[addr: U64], bigint | null>;
  veo_get_max_proc_identifier?: Fn<[], number>;
  veo_get_proc_identifier_from_hmem?: Fn<[addr: U64], number>;

  veo_get_ve_arch?: Fn<[venode: number], number>;

  veo_shared_mem_open?: Fn<[hmem: U64, size: number, syncnum: number, mode: number], number>;
  veo_shared_mem_close?: Fn<[hmem: U64, size: number, syncnum: number, mode: number], number>;
  veo_shared_mem_attach?: Fn<
    [proc: ProcHandle, pid: number, hmem: U64, size: number, syncnum: number, mode: number],
    U64
  >;
  veo_shared_mem_detach?: Fn<[proc: ProcHandle, addr: U64, mode: number], number>;
  veo_shmget?: Fn<[proc: ProcHandle, key: number, size: number, shmflag: number], number>;
  veo_shmat?: Fn<
    [proc: ProcHandle, shmid: number, shmaddr: U64, shmflag: number, vehva: BigUint64Array],
    U64
  >;
  veo_shmdt?: Fn<[proc: ProcHandle, shmaddr: U64], number>;
  veo_dma_post?: Fn<[proc: ProcHandle, dst: U64, src: U64, size: number, handle: Int32Array], number>;
  veo_dma_poll?: Fn<[proc: ProcHandle, handle: Int32Array], number>;
  veo_dma_post_wait?: Fn<[proc: ProcHandle, dst: U64, src: U64, size: number], number>;
  veo_register_mem_to_dmaatb?: Fn<[hmem: U64, size: number], U64>;
  veo_unregister_mem_from_dmaatb?: Fn<[proc: ProcHandle, vehva: U64], number>;
  veo_access_pcircvsyc_register?: Fn<[proc: ProcHandle], void>;

  veo_emu_args_set_result_type?: Fn<[ca: ArgsHandle, type: number], number>;
  veo_emu_proc_pid?: Fn<[proc: ProcHandle], number>;
  veo_emu_proc_tie_thread?: Fn<[proc: ProcHandle], number>;
  veo_emu_is_emulator?: Fn<[], number>;
  /** Emulator only: a new fd (the caller's) on which completions of armed requests arrive. */
  veo_emu_notify_fd?: Fn<[proc: ProcHandle], number>;
  /** Emulator only: 1 = a byte will arrive when `reqid` completes, 0 = peek now, -1 = no pipe. */
  veo_emu_arm?: Fn<[ctx: CtxHandle, reqid: U64], number>;
  /** Emulator only: veo_call_wait_result for at most `ns` (VEO_COMMAND_UNFINISHED after). */
  veo_emu_wait_result_for?: Fn<[ctx: CtxHandle, reqid: U64, retp: RegAddr, ns: U64], number>;
}

/**
 * [prototype, API version that introduced it]. Version 0 = the VEO 1.x core (required);
 * -1 = an emulator extension (optional, looked up whatever the API version says).
 * Pointer parameters that take host buffers are `void *`, so koffi passes any
 * ArrayBufferView zero-copy.
 */
const PROTOTYPES: ReadonlyArray<readonly [string, number]> = [
  ["int veo_api_version(void)", 0],
  ["const char *veo_version_string(void)", 1],

  ["veots_proc_p veo_proc_create(int venode)", 0],
  ["veots_proc_p veo_proc_create_static(int venode, const char *veobin)", 0],
  ["int veo_proc_destroy(veots_proc_p proc)", 0],
  ["int veo_proc_identifier(veots_proc_p proc)", 11],
  ["void *veo_set_proc_identifier(void *addr, int ident)", 12],

  ["uint64_t veo_load_library(veots_proc_p proc, const char *libname)", 0],
  ["int veo_unload_library(veots_proc_p proc, uint64_t libhandle)", 7],
  ["uint64_t veo_get_sym(veots_proc_p proc, uint64_t libhdl, const char *symname)", 0],

  ["int veo_alloc_mem(veots_proc_p proc, uint64_t *addr, size_t size)", 0],
  ["int veo_free_mem(veots_proc_p proc, uint64_t addr)", 0],
  ["int veo_read_mem(veots_proc_p proc, void *dst, uint64_t src, size_t size)", 0],
  ["int veo_write_mem(veots_proc_p proc, uint64_t dst, const void *src, size_t size)", 0],

  ["veots_ctx_p veo_context_open(veots_proc_p proc)", 0],
  ["veots_ctx_p veo_context_open_with_attr(veots_proc_p proc, veots_attr_p attr)", 8],
  ["int veo_context_close(veots_ctx_p ctx)", 0],
  ["int veo_get_context_state(veots_ctx_p ctx)", 0],
  ["void veo_context_sync(veots_ctx_p ctx)", 7],
  ["int veo_num_contexts(veots_proc_p proc)", 7],
  ["veots_ctx_p veo_get_context(veots_proc_p proc, int idx)", 7],
  ["veots_attr_p veo_alloc_thr_ctxt_attr(void)", 8],
  ["int veo_free_thr_ctxt_attr(veots_attr_p attr)", 8],
  ["int veo_set_thr_ctxt_stacksize(veots_attr_p attr, size_t stacksize)", 8],
  ["int veo_get_thr_ctxt_stacksize(veots_attr_p attr, size_t *stacksize)", 8],

  ["veots_args_p veo_args_alloc(void)", 0],
  ["int veo_args_set_i64(veots_args_p ca, int argnum, int64_t val)", 0],
  ["int veo_args_set_u64(veots_args_p ca, int argnum, uint64_t val)", 0],
  ["int veo_args_set_i32(veots_args_p ca, int argnum, int32_t val)", 0],
  ["int veo_args_set_u32(veots_args_p ca, int argnum, uint32_t val)", 0],
  ["int veo_args_set_i16(veots_args_p ca, int argnum, int16_t val)", 7],
  ["int veo_args_set_u16(veots_args_p ca, int argnum, uint16_t val)", 7],
  ["int veo_args_set_i8(veots_args_p ca, int argnum, int8_t val)", 7],
  ["int veo_args_set_u8(veots_args_p ca, int argnum, uint8_t val)", 7],
  ["int veo_args_set_double(veots_args_p ca, int argnum, double val)", 0],
  ["int veo_args_set_float(veots_args_p ca, int argnum, float val)", 0],
  ["int veo_args_set_stack(veots_args_p ca, int inout, int argnum, void *buff, size_t len)", 0],
  ["int veo_args_set_hmem(veots_args_p ca, int argnum, void *ptr)", 10],
  ["void veo_args_clear(veots_args_p ca)", 0],
  ["void veo_args_free(veots_args_p ca)", 0],

  ["int veo_call_sync(veots_proc_p proc, uint64_t addr, veots_args_p ca, veots_u64_p result)", 7],
  ["uint64_t veo_call_async(veots_ctx_p ctx, uint64_t addr, veots_args_p ca)", 0],
  [
    "uint64_t veo_call_async_by_name(veots_ctx_p ctx, uint64_t libhdl, const char *symname, veots_args_p ca)",
    1,
  ],
  // The function is passed as a plain address (see callbacks.ts: it is a libc function).
  ["uint64_t veo_call_async_vh(veots_ctx_p ctx, void *func, void *arg)", 7],

  ["int veo_call_peek_result(veots_ctx_p ctx, uint64_t reqid, veots_u64_p retp)", 0],
  ["int veo_call_wait_result(veots_ctx_p ctx, uint64_t reqid, veots_u64_p retp)", 0],

  ["uint64_t veo_async_read_mem(veots_ctx_p ctx, void *dst, uint64_t src, size_t size)", 0],
  ["uint64_t veo_async_write_mem(veots_ctx_p ctx, uint64_t dst, const void *src, size_t size)", 0],
  ["uint64_t veo_alloc_mem_async(veots_ctx_p ctx, size_t size)", 14],
  ["uint64_t veo_free_mem_async(veots_ctx_p ctx, uint64_t addr)", 14],

  ["void veo_req_block_begin(veots_ctx_p ctx)", 14],
  ["void veo_req_block_end(veots_ctx_p ctx)", 14],

  ["void veo_register_hook(void *func, void *hook, void *payload)", 13],
  ["void *veo_get_hook(void *func)", 14],
  ["void veo_unregister_hook(void *func)", 13],
  [
    "void veo_register_hmem_hook_functions(veots_hmem_alloc_hook *alloc_hook, veots_hmem_free_hook *free_hook)",
    15,
  ],
  ["void veo_unregister_hmem_hook_functions(void)", 15],

  ["int veo_alloc_hmem(veots_proc_p proc, void **addr, size_t size)", 10],
  ["int veo_free_hmem(void *addr)", 10],
  ["int veo_hmemcpy(void *dst, const void *src, size_t size)", 10],
  ["veots_proc_p veo_get_proc_handle_from_hmem(const void *addr)", 13],
  ["int veo_get_pid_from_hmem(const void *addr)", 13],
  ["int veo_get_venum_from_hmem(const void *addr)", 13],
  ["int veo_is_ve_addr(const void *addr)", 10],
  ["void *veo_get_hmem_addr(void *addr)", 10],
  ["int veo_get_max_proc_identifier(void)", 13],
  ["int veo_get_proc_identifier_from_hmem(const void *addr)", 13],

  ["int veo_get_ve_arch(int venode)", 15],

  // VE-SHM, VH-SHM and VE-DMA (veo_veshm.h, veo_vhveshm.h, veo_vedma.h; spec §3.14). The
  // `void *` results are declared uint64_t: the same register, and (void *)-1 stays a number.
  ["int veo_shared_mem_open(void *hmem, size_t size, int syncnum, long long mode)", 13],
  ["int veo_shared_mem_close(void *hmem, size_t size, int syncnum, long long mode)", 13],
  [
    "uint64_t veo_shared_mem_attach(veots_proc_p proc, int pid, void *hmem, size_t size, int syncnum, long long mode)",
    13,
  ],
  ["int veo_shared_mem_detach(veots_proc_p proc, void *hmem, long long mode)", 13],
  ["int veo_shmget(veots_proc_p proc, int key, size_t size, int shmflag)", 13],
  ["uint64_t veo_shmat(veots_proc_p proc, int shmid, const void *shmaddr, int shmflag, void *vehva)", 13],
  ["int veo_shmdt(veots_proc_p proc, const void *shmaddr)", 13],
  ["int veo_dma_post(veots_proc_p proc, uint64_t dst, uint64_t src, int size, void *handle)", 13],
  ["int veo_dma_poll(veots_proc_p proc, void *handle)", 13],
  ["int veo_dma_post_wait(veots_proc_p proc, uint64_t dst, uint64_t src, int size)", 13],
  ["uint64_t veo_register_mem_to_dmaatb(void *hmem, size_t size)", 13],
  ["int veo_unregister_mem_from_dmaatb(veots_proc_p proc, uint64_t vehva)", 13],
  ["void veo_access_pcircvsyc_register(veots_proc_p proc)", 13],

  ["int veo_emu_args_set_result_type(veots_args_p ca, int type)", -1],
  ["int veo_emu_proc_pid(veots_proc_p proc)", -1],
  ["int veo_emu_proc_tie_thread(veots_proc_p proc)", -1],
  ["int veo_emu_is_emulator(void)", -1],
  ["int veo_emu_notify_fd(veots_proc_p proc)", -1],
  ["int veo_emu_arm(veots_ctx_p ctx, uint64_t reqid)", -1],
  ["int veo_emu_wait_result_for(veots_ctx_p ctx, uint64_t reqid, veots_u64_p retp, uint64_t ns)", -1],
];

/** Names of every C function in the table (for tests and `veo info`). */
export const API_FUNCTIONS: readonly string[] = PROTOTYPES.map(([p]) => functionName(p));

/**
 * The API version that introduced each function: 0 for the VEO 1.x core (always there), -1
 * for the emulator's own extensions.
 */
export const API_SINCE: ReadonlyMap<string, number> = new Map(
  PROTOTYPES.map(([p, since]) => [functionName(p), since] as const),
);

function functionName(proto: string): string {
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(proto);
  if (!m) throw new Error(`bad prototype: ${proto}`);
  return m[1];
}

/** koffi named types are process-global: define each once, reuse it if it already exists. */
function namedType(name: string, make: () => TypeObject): TypeObject {
  try {
    return koffi.type(name);
  } catch {
    return make();
  }
}

let typesDefined = false;
function defineTypes(): void {
  if (typesDefined) return;
  // Handles and result slots are addresses passed as integers (see the header).
  for (const name of ["veots_proc_p", "veots_ctx_p", "veots_args_p", "veots_attr_p", "veots_u64_p"]) {
    namedType(name, () => koffi.alias(name, "uintptr_t"));
  }
  // The HMEM address arrives as an integer (a tagged address is no host pointer).
  namedType("veots_hmem_alloc_hook", () =>
    koffi.proto("void veots_hmem_alloc_hook(uint64_t hmem, size_t size)"),
  );
  namedType("veots_hmem_free_hook", () => koffi.proto("void veots_hmem_free_hook(uint64_t hmem)"));
  typesDefined = true;
}

/**
 * An 8-byte slot on the C heap for a `uint64_t *` result parameter, and an ArrayBuffer over
 * it. Never freed: the callers keep a few for the life of the process.
 */
export function nativeRegister(): { addr: RegAddr; buffer: ArrayBuffer } {
  const ptr = koffi.alloc("uint64_t", 1) as bigint;
  return { addr: Number(ptr) as RegAddr, buffer: koffi.view(ptr, 8) };
}

/**
 * Binds the table against `lib`. Throws (with the missing symbol named) if a VEO 1.x core
 * function is absent: such a library is not libveo.
 */
export function bindApi(lib: LibraryHandle): { api: VeoApi; apiVersion: number } {
  defineTypes();
  const version = lib.func("int veo_api_version(void)") as unknown as () => number;
  const apiVersion = version();
  const entries = PROTOTYPES.map(([proto, since]): [string, unknown] => {
    const name = functionName(proto);
    if (since > 0 && apiVersion < since) return [name, undefined];
    try {
      return [name, lib.func(proto)];
    } catch (err) {
      if (since === 0) {
        throw new Error(`${name} is missing: ${(err as Error).message}`, { cause: err });
      }
      return [name, undefined];
    }
  });
  // One Object.fromEntries, which V8 gives fast properties: added key by key, the table's
  // 71 entries put it in dictionary mode, and every `api.veo_*` load on a hot path was then
  // a hash lookup. Frozen: it never changes.
  return { api: Object.freeze(Object.fromEntries(entries)) as unknown as VeoApi, apiVersion };
}

/** Loads a shared library with koffi (RTLD_NOW | RTLD_LOCAL). */
export function openLibrary(path: string): LibraryHandle {
  return koffi.load(path);
}

/** The signature of every VEO hook veo-ts registers (variadic in C; see spec §3.11). */
export type HookFn = (
  payload: number | bigint | null,
  handle: number | bigint | null,
  a: U64,
  b: U64,
) => void;

let hookProto: TypeObject | undefined;

/**
 * A koffi-registered C function pointer that calls `fn`; `release` unregisters it (only once
 * C can no longer call it).
 */
export function registerHook(fn: HookFn): { ptr: bigint; release(): void } {
  hookProto ??= namedType("veots_hook", () =>
    koffi.proto("void veots_hook(uintptr_t payload, uintptr_t handle, uint64_t a, uint64_t b)"),
  );
  const ptr = koffi.register(fn, koffi.pointer(hookProto));
  return { ptr, release: () => koffi.unregister(ptr) };
}

/** The errno the last C call made on this thread left (koffi saves it after each call). */
export function lastErrno(): number {
  return koffi.errno();
}

/** Sets errno (to 0 before a call whose failure is told by errno alone). */
export function clearErrno(): void {
  koffi.errno(0);
}

/**
 * The two C function pointers veo_register_hmem_hook_functions takes, calling `alloc` and
 * `free`; `release` unregisters them (only once C can no longer call them).
 */
export function registerHmemHooks(
  alloc: (hmem: U64, size: U64) => void,
  free: (hmem: U64) => void,
): { alloc: bigint; free: bigint; release(): void } {
  defineTypes();
  const a = koffi.register(alloc, koffi.pointer(koffi.type("veots_hmem_alloc_hook")));
  const f = koffi.register(free, koffi.pointer(koffi.type("veots_hmem_free_hook")));
  return {
    alloc: a,
    free: f,
    release: () => {
      koffi.unregister(a);
      koffi.unregister(f);
    },
  };
}

/** Reads the uint64_t at a C address (a hook's `uint64_t *addr` argument). */
export function readU64At(addr: U64): bigint {
  return BigInt(koffi.decode(BigInt(addr), "uint64_t") as number | bigint);
}
