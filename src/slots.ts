/*
 * Internal access to private state that several modules share without importing each other
 * (context.ts and request.ts would form a cycle): the classes fill these in from their static
 * blocks. Nothing here is exported from the package; a user of veo-ts cannot reach it.
 */
import type { VeoCtxt } from "./context.js";
import type { VeoLibrary } from "./library.js";
import type { VeoProc } from "./proc.js";
import type { Pump } from "./pump.js";

/** @internal Passed to the constructors that only veo-ts may call (VeoCtxt, VeoLibrary, ...). */
export const MINT: unique symbol = Symbol("veo-ts internal construction");

/** @internal A context's private parts (see VeoCtxt). */
export const ctxSlots = {
  /** The context's pump (never reachable from the context object itself). */
  pump: undefined as unknown as (ctx: VeoCtxt) => Pump,
  /** The host buffers of its requests VEO may still use, by request id. */
  held: undefined as unknown as (ctx: VeoCtxt) => Map<number, unknown>,
  /** Counts the callVh functions queued on it (see callbacks.ts). */
  addVh: undefined as unknown as (ctx: VeoCtxt, delta: number) => void,
};

/** @internal Brand checks of classes that modules importing each other need. */
export const brands = {
  /** True for a VeoLibrary made by proc.loadLibrary / staticLibrary. */
  library: undefined as unknown as (v: unknown) => v is VeoLibrary,
  /** True for a VeoProc made by its constructor. */
  proc: undefined as unknown as (v: unknown) => v is VeoProc,
};
