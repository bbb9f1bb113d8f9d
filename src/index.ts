/*
 * veo-ts: the public API. Everything a user imports comes from here.
 */
export { VeoProc, type VeoProcOptions } from "./proc.js";
export { type VeoProcLost } from "./proc-lifetime.js";
export { type WaitOptions } from "./timeouts.js";
export { VeoCtxt, type VePointer } from "./context.js";
export type { VhFunction } from "./callbacks.js";
export type {
  VeoHookEvent,
  VeoHookEventType,
  VeoHookListener,
  VeoHmemHookEvent,
  VeoHmemHookEventType,
  VeoHmemHookListener,
} from "./veo-hooks.js";
export { VeoLibrary } from "./library.js";
export { VeoFunction } from "./function.js";
export {
  type KernelFunction,
  type KernelArg,
  type KernelResult,
  type VeKernelPointer,
} from "./kernel-types.js";
export { VeoRequest, type PeekResult } from "./request.js";
export { VeMemPtr, type HostBuffer } from "./memory.js";
export { OnStack, STACK_ARGS_MAX, type OnStackOptions } from "./onstack.js";
export { setProcInitHook, delProcInitHook, type ProcInitHook } from "./hooks.js";
export { Intent, CommandState, ContextState } from "./constants.js";
export { veoVersion, veoApiVersion, getVeArch, veoCapabilities } from "./version.js";
export type { VeoCapabilities } from "./native/library.js";
export { VeoHmem, type HmemPointer } from "./hmem.js";
export { VeoShm, VeoDma, VeoDmaHandle, VeshmMode, type VeoShmAttachment } from "./shm.js";
export { logging, type LogLevel, type LogSink } from "./logging.js";
export { loadVeo, type LoadVeoOptions, type VeoLibraryInfo, type VeoLibraryKind } from "./native/library.js";
export {
  parseType,
  parsePrototype,
  decodeResult,
  type CType,
  type CKind,
  type CPrototype,
  type CParam,
} from "./ctypes.js";
export * from "./errors.js";
export * from "./vebuild/index.js";
export * from "./device/index.js";
