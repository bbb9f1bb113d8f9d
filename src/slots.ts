/*
 * Internal access to private state that several modules share without importing each other
 * (context.ts and request.ts would form a cycle): the classes fill these in from their static
 * blocks. Nothing here is exported from the package; a user of veo-ts cannot reach it.
 */
import type { VeoCtxt } from "./context.js";
import type { VeoLibrary } from "./library.js";
import type { VeoClosedError } from "./errors.js";
import type { CtxHandle, ProcHandle, U64, VeoApi } from "./native/api.js";
import type { VeoNative } from "./native/library.js";
import type { VeoProc } from "./proc.js";
import type { VeoProcLost } from "./proc-lifetime.js";
import type { Pump } from "./pump.js";
import type { CallInfo, Deferred, VeoRequest } from "./request.js";

/** @internal Passed to the constructors that only veo-ts may call (VeoCtxt, VeoLibrary, ...). */
export const MINT: unique symbol = Symbol("veo-ts internal construction");

/** @internal A context's private parts (see VeoCtxt). */
export const ctxSlots = {
  /** The context's pump (never reachable from the context object itself). */
  pump: undefined as unknown as (ctx: VeoCtxt) => Pump,
  /** The host buffers of its requests VEO may still use, by request id. */
  held: undefined as unknown as (ctx: VeoCtxt) => Map<number, unknown>,
  /** Its VEO handle: what C is handed (not a property of the context, so user code cannot). */
  handle: undefined as unknown as (ctx: VeoCtxt) => CtxHandle,
  /** The koffi function table of its proc's library. */
  api: undefined as unknown as (ctx: VeoCtxt) => VeoApi,
  /** Wraps a submission's request id in a VeoRequest, or throws if VEO refused it. */
  submitted: undefined as unknown as (
    ctx: VeoCtxt,
    id: U64,
    call: CallInfo,
    keep: unknown,
    cfunc: string,
  ) => VeoRequest,
  /** Marks it closed and rejects everything pending with `err` (no C call). */
  shutdown: undefined as unknown as (ctx: VeoCtxt, err: VeoClosedError) => void,
  /** Counts the callVh functions queued on it (see callbacks.ts). */
  addVh: undefined as unknown as (ctx: VeoCtxt, delta: number) => void,
};

/** @internal A proc's private parts (see VeoProc): the C handle and function table. */
export const procSlots = {
  handle: undefined as unknown as (proc: VeoProc) => ProcHandle,
  api: undefined as unknown as (proc: VeoProc) => VeoApi,
  native: undefined as unknown as (proc: VeoProc) => VeoNative,
  /** The VE process died: reject everything pending, tell proc.lost (see VeoProc). */
  died: undefined as unknown as (
    proc: VeoProc,
    reason: string,
    how?: Pick<VeoProcLost, "reason" | "signal" | "exitCode">,
  ) => void,
};

/** @internal A library's private parts (see VeoLibrary). */
export const libSlots = {
  /** Marks it unloaded and frees its functions' argument sets (no C unload). */
  release: undefined as unknown as (lib: VeoLibrary) => void,
};

/**
 * @internal A request's private state, for the pump and the settling code: read here rather
 * than through properties, so a property defined on the (extensible) instance changes nothing.
 */
export const reqSlots = {
  id: undefined as unknown as (req: VeoRequest) => number,
  ctx: undefined as unknown as (req: VeoRequest) => VeoCtxt,
  /** 0 pending, 1 done, 2 failed */
  state: undefined as unknown as (req: VeoRequest) => 0 | 1 | 2,
  /** While pending: what VEO still uses; then the result or the error. */
  value: undefined as unknown as (req: VeoRequest) => unknown,
  /** What ran (its `what` names it in messages) and how to decode its result. */
  call: undefined as unknown as (req: VeoRequest) => CallInfo,
  /** Who to tell when it settles. */
  deferred: undefined as unknown as (req: VeoRequest) => Deferred | undefined,
};

/** @internal Brand checks of classes that modules importing each other need. */
export const brands = {
  /** True for a VeoLibrary made by proc.loadLibrary / staticLibrary. */
  library: undefined as unknown as (v: unknown) => v is VeoLibrary,
  /** True for a VeoProc made by its constructor. */
  proc: undefined as unknown as (v: unknown) => v is VeoProc,
};
