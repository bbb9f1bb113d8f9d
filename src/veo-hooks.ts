/*
 * VEO's memory hooks (veo_register_hook) as per-proc listeners: proc.on("alloc", fn).
 *
 * The synchronous keys (veo_alloc_mem, veo_free_mem, veo_alloc_hmem, veo_free_hmem) are
 * registered with libveo through one koffi callback shared by every proc and key (the
 * payload is the key's index, the first argument the proc handle); VEO calls them on the
 * thread that made the call, which for veo-ts is always the main thread. The asynchronous
 * keys (veo_alloc_mem_async, veo_free_mem_async) would run on VEO's progress thread, i.e. JS
 * called from a foreign thread (see callbacks.ts for why veo-ts never does that): their
 * events are raised by veo-ts itself when an allocMemAsync/freeMemAsync request completes.
 * Either way listeners are called on the main thread, asynchronously (a microtask after
 * the event), in the order the events happened.
 *
 * This module also keeps the handle → VeoProc table (VeoHmem.getProcHandleFromHmem).
 */
import { isMainThread } from "node:worker_threads";

import type { VeoCtxt } from "./context.js";
import { describeValue } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import { readU64At, registerHook, type U64 } from "./native/api.js";
import { functionAddress, requireFunction, type VeoNative } from "./native/library.js";
import type { VeoProc } from "./proc.js";

/** The events proc.on accepts. */
export type VeoHookEventType = "alloc" | "free" | "allocHmem" | "freeHmem" | "allocAsync" | "freeAsync";

/** What a hook listener receives. */
export interface VeoHookEvent {
  /** Which operation happened. */
  readonly type: VeoHookEventType;
  /** The proc it happened on. */
  readonly proc: VeoProc;
  /** The context, for allocAsync/freeAsync. */
  readonly ctx?: VeoCtxt;
  /** The VE address (alloc/free/*Async) or the HMEM address (allocHmem/freeHmem). */
  readonly addr: bigint;
  /** Bytes allocated (alloc, allocHmem, allocAsync). */
  readonly size?: number;
}

/** A listener for proc.on. */
export type VeoHookListener = (event: VeoHookEvent) => void;

/** Native hook keys, by event; the index is the payload VEO hands back. */
const NATIVE: ReadonlyArray<readonly [VeoHookEventType, string]> = [
  ["alloc", "veo_alloc_mem"],
  ["free", "veo_free_mem"],
  ["allocHmem", "veo_alloc_hmem"],
  ["freeHmem", "veo_free_hmem"],
];
const EVENTS: readonly VeoHookEventType[] = [...NATIVE.map(([e]) => e), "allocAsync", "freeAsync"];

const byHandle = new Map<number, WeakRef<VeoProc>>();
const listeners = new WeakMap<VeoProc, Map<VeoHookEventType, VeoHookListener[]>>();
/** Each library's hook keys (the addresses of its functions), found once. */
const keys = new Map<VeoNative, number[]>();

function keyOf(native: VeoNative, k: number): number {
  let list = keys.get(native);
  if (list === undefined) keys.set(native, (list = NATIVE.map(([, fn]) => functionAddress(native, fn))));
  return list[k];
}

/** Listeners per (library, native key), to register the hook only while someone listens. */
const counts = new Map<VeoNative, number[]>();
let trampoline: { ptr: bigint; release(): void } | undefined;
let exitHooked = false;

/** @internal A new proc (found again by its handle). */
export function rememberProc(proc: VeoProc): void {
  byHandle.set(proc._handle, new WeakRef(proc));
}

/** @internal A proc going away: forget it and drop its listeners. */
export function forgetProc(proc: VeoProc): void {
  if (byHandle.get(proc._handle)?.deref() === proc) byHandle.delete(proc._handle);
  const mine = listeners.get(proc);
  if (mine === undefined) return;
  for (const [type, list] of mine) for (let i = list.length; i > 0; i--) unlisten(proc, type);
  listeners.delete(proc);
}

/** @internal The live VeoProc with this native handle, if veo-ts made it. */
export function procByHandle(handle: number): VeoProc | undefined {
  const p = byHandle.get(handle)?.deref();
  return p !== undefined && p._alive ? p : undefined;
}

/** @internal Every live proc veo-ts made. */
export function liveProcs(): VeoProc[] {
  const out: VeoProc[] = [];
  for (const ref of byHandle.values()) {
    const p = ref.deref();
    if (p !== undefined && p._alive) out.push(p);
  }
  return out;
}

function checkType(type: unknown, method: string): VeoHookEventType {
  if (typeof type !== "string" || !EVENTS.includes(type as VeoHookEventType)) {
    throw new TypeError(
      `Argument 0 (event) of ${method} must be one of ${EVENTS.map((e) => `"${e}"`).join(", ")}, got ${describeValue(type)}`,
    );
  }
  return type as VeoHookEventType;
}

function checkListener(fn: unknown, method: string): VeoHookListener {
  if (typeof fn !== "function") {
    throw new TypeError(`Argument 1 (listener) of ${method} must be a function, got ${describeValue(fn)}`);
  }
  return fn as VeoHookListener;
}

/** VEO calls this for every registered native key (main thread: see the header). */
function dispatch(payload: number | bigint | null, handle: number | bigint | null, a: U64, b: U64): void {
  try {
    const entry = NATIVE[Number(payload ?? -1)];
    const proc = handle === null ? undefined : procByHandle(Number(handle));
    if (entry === undefined || proc === undefined) return;
    const type = entry[0];
    if (type === "alloc") emitHookEvent(proc, { type, proc, addr: BigInt(readU64At(a)), size: Number(b) });
    else if (type === "allocHmem")
      emitHookEvent(proc, { type, proc, addr: BigInt.asUintN(64, BigInt(a)), size: Number(b) });
    else emitHookEvent(proc, { type, proc, addr: BigInt.asUintN(64, BigInt(a)) });
  } catch {
    /* never throw into C */
  }
}

function nativeIndex(type: VeoHookEventType): number {
  return NATIVE.findIndex(([e]) => e === type);
}

function listen(proc: VeoProc, type: VeoHookEventType): void {
  const k = nativeIndex(type);
  if (k < 0) return;
  const native = proc._native;
  const register = requireFunction(native, "veo_register_hook");
  if (!isMainThread) {
    // VEO keeps one hook per key for the whole process; a worker's koffi callback would be
    // called from every other thread that allocates.
    throw new VeoFailedError(
      "veo_register_hook",
      `proc.on("${NATIVE[k][0]}") works on the main thread only: VEO's hooks are process-wide ` +
        '("allocAsync" and "freeAsync" work in workers too)',
    );
  }
  let c = counts.get(native);
  if (c === undefined) counts.set(native, (c = NATIVE.map(() => 0)));
  if (c[k] === 0) {
    const key = keyOf(native, k);
    if (key === 0)
      throw new VeoFailedError("dlsym", `${NATIVE[k][1]} cannot be found in ${native.info.path} to hook it`);
    trampoline ??= registerHook(dispatch);
    register(key, trampoline.ptr, k);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", unregisterAll);
    }
  }
  c[k]++;
}

function unlisten(proc: VeoProc, type: VeoHookEventType): void {
  const k = nativeIndex(type);
  const c = counts.get(proc._native);
  if (k < 0 || c === undefined || c[k] === 0) return;
  if (--c[k] === 0) unregisterKey(proc._native, k);
}

function unregisterKey(native: VeoNative, k: number): void {
  const key = keyOf(native, k);
  if (key !== 0) native.api.veo_unregister_hook?.(key);
}

/** At exit: VEO must not call the koffi callback once Node is tearing down. */
function unregisterAll(): void {
  for (const [native, c] of counts) {
    for (let k = 0; k < c.length; k++) {
      if (c[k] > 0) {
        c[k] = 0;
        try {
          unregisterKey(native, k);
        } catch {
          /* exiting */
        }
      }
    }
  }
  try {
    trampoline?.release();
  } catch {
    /* exiting */
  }
  trampoline = undefined;
}

/** @internal proc.on */
export function addHookListener(proc: VeoProc, type: unknown, fn: unknown): void {
  const t = checkType(type, "on");
  const f = checkListener(fn, "on");
  proc._check();
  let mine = listeners.get(proc);
  if (mine === undefined) listeners.set(proc, (mine = new Map<VeoHookEventType, VeoHookListener[]>()));
  listen(proc, t);
  const list = mine.get(t);
  if (list === undefined) mine.set(t, [f]);
  else list.push(f);
}

/** @internal proc.off: removes the last registration of `fn` for `type` (no-op if none). */
export function removeHookListener(proc: VeoProc, type: unknown, fn: unknown): void {
  const t = checkType(type, "off");
  const f = checkListener(fn, "off");
  const list = listeners.get(proc)?.get(t);
  const i = list === undefined ? -1 : list.lastIndexOf(f);
  if (list === undefined || i < 0) return;
  list.splice(i, 1);
  unlisten(proc, t);
}

/** Events waiting for delivery, in order, and whether a delivery is scheduled. */
const queue: VeoHookEvent[] = [];
let scheduled = false;

/** @internal Queues `event` for `proc`'s listeners (delivered a microtask later). */
export function emitHookEvent(proc: VeoProc, event: VeoHookEvent): void {
  const list = listeners.get(proc)?.get(event.type);
  if (list === undefined || list.length === 0) return;
  queue.push(Object.freeze(event));
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(deliver);
  }
}

function deliver(): void {
  scheduled = false;
  const events = queue.splice(0);
  for (const ev of events) {
    const list = listeners.get(ev.proc)?.get(ev.type);
    if (list === undefined) continue;
    for (const fn of list.slice()) {
      try {
        fn(ev);
      } catch (err) {
        // As EventTarget does: a throwing listener does not stop the others; its error is
        // reported as an uncaught exception.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
