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
 * VeoHmem.on("alloc" | "free") (veo_register_hmem_hook_functions) is here too, because it
 * shares native keys with proc.on: VEO registers its HMEM hooks on veo_alloc_mem,
 * veo_free_mem, veo_alloc_mem_async and veo_free_mem_async, overwriting whatever hook was
 * there. While HMEM listeners exist, the HMEM hooks own veo_alloc_mem/veo_free_mem and
 * proc.on's "alloc"/"free" events are derived from them (same operations, same moment); the
 * two async keys are erased again at once (VEO would call JS from its progress thread) and
 * veo-ts raises their HMEM events itself when allocMemAsync/freeMemAsync complete. When the
 * last HMEM listener goes, veo_unregister_hmem_hook_functions erases the four keys and
 * proc.on's hooks are registered again. At exit everything is unregistered before Node
 * tears koffi down.
 *
 * This module also keeps the handle → VeoProc table (VeoHmem.getProcHandleFromHmem).
 */
import { isMainThread } from "node:worker_threads";

import type { VeoCtxt } from "./context.js";
import { describeValue } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import { readU64At, registerHmemHooks, registerHook, type U64 } from "./native/api.js";
import { functionAddress, getNative, requireFunction, type VeoNative } from "./native/library.js";
import type { VeoProc } from "./proc.js";
import { procSlots } from "./slots.js";

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
  byHandle.set(procSlots.handle(proc), new WeakRef(proc));
}

/** @internal A proc going away: forget it and drop its listeners. */
export function forgetProc(proc: VeoProc): void {
  if (byHandle.get(procSlots.handle(proc))?.deref() === proc) byHandle.delete(procSlots.handle(proc));
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

/** veo_alloc_mem and veo_free_mem (NATIVE indexes 0 and 1): the HMEM hooks take them over. */
function sharedWithHmem(native: VeoNative, k: number): boolean {
  return k < 2 && hmem?.native === native;
}

function listen(proc: VeoProc, type: VeoHookEventType): void {
  const k = nativeIndex(type);
  if (k < 0) return;
  const native = procSlots.native(proc);
  requireFunction(native, "veo_register_hook");
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
  if (c[k] === 0 && !sharedWithHmem(native, k)) registerKey(native, k);
  c[k]++;
}

function registerKey(native: VeoNative, k: number): void {
  const key = keyOf(native, k);
  if (key === 0)
    throw new VeoFailedError("dlsym", `${NATIVE[k][1]} cannot be found in ${native.info.path} to hook it`);
  trampoline ??= registerHook(dispatch);
  requireFunction(native, "veo_register_hook")(key, trampoline.ptr, k);
  hookExit();
}

function hookExit(): void {
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", unregisterAll);
  }
}

function unlisten(proc: VeoProc, type: VeoHookEventType): void {
  const k = nativeIndex(type);
  const c = counts.get(procSlots.native(proc));
  if (k < 0 || c === undefined || c[k] === 0) return;
  if (--c[k] === 0 && !sharedWithHmem(procSlots.native(proc), k)) unregisterKey(procSlots.native(proc), k);
}

function unregisterKey(native: VeoNative, k: number): void {
  const key = keyOf(native, k);
  if (key !== 0) native.api.veo_unregister_hook?.(key);
}

/** At exit: VEO must not call the koffi callbacks once Node is tearing down. */
function unregisterAll(): void {
  try {
    if (hmem !== undefined) stopHmemHooks();
  } catch {
    /* exiting */
  }
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
const queue: Array<VeoHookEvent | HmemRecord> = [];
let scheduled = false;

/** @internal Queues `event` for `proc`'s listeners (delivered a microtask later). */
export function emitHookEvent(proc: VeoProc, event: VeoHookEvent): void {
  if (
    (event.type === "allocAsync" || event.type === "freeAsync") &&
    hmem?.native === procSlots.native(proc)
  ) {
    emitAsyncHmem(proc, event);
  }
  const list = listeners.get(proc)?.get(event.type);
  if (list === undefined || list.length === 0) return;
  enqueue(Object.freeze(event));
}

function enqueue(item: VeoHookEvent | HmemRecord): void {
  queue.push(item);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(deliver);
  }
}

function deliver(): void {
  scheduled = false;
  for (const item of queue.splice(0)) {
    if ("hmem" in item) deliverHmem(item);
    else deliverProcEvent(item);
  }
}

function deliverProcEvent(ev: VeoHookEvent): void {
  const list = listeners.get(ev.proc)?.get(ev.type);
  if (list !== undefined) for (const fn of list.slice()) callListener(fn, ev);
}

function callListener<E>(fn: (event: E) => void, event: E): void {
  try {
    fn(event);
  } catch (err) {
    // As EventTarget does: a throwing listener does not stop the others; its error is
    // reported as an uncaught exception.
    queueMicrotask(() => {
      throw err;
    });
  }
}

/* ---- VeoHmem.on: veo_register_hmem_hook_functions (see the header) ---- */

/** The events VeoHmem.on accepts. */
export type VeoHmemHookEventType = "alloc" | "free";

/** What a VeoHmem.on listener receives. */
export interface VeoHmemHookEvent {
  /** "alloc" (after a successful VE allocation) or "free" (after a VE free). */
  readonly type: VeoHmemHookEventType;
  /** The HMEM address of the block (the VE address tagged with its proc's identifier). */
  readonly addr: bigint;
  /** Bytes allocated ("alloc" only). */
  readonly size?: number;
  /** The VeoProc the block belongs to, when it is a live proc veo-ts made. */
  readonly proc: VeoProc | undefined;
}

/** A listener for VeoHmem.on. */
export type VeoHmemHookListener = (event: VeoHmemHookEvent) => void;

const HMEM_EVENTS: readonly VeoHmemHookEventType[] = ["alloc", "free"];
const hmemListeners = new Map<VeoHmemHookEventType, VeoHmemHookListener[]>();

/** The library whose HMEM hook functions are registered, and the C callbacks given to it. */
let hmem: { native: VeoNative; callbacks: ReturnType<typeof registerHmemHooks> } | undefined;

/** An HMEM event on its way to the listeners; `proc` null: to be found from the address. */
interface HmemRecord {
  readonly hmem: true;
  readonly type: VeoHmemHookEventType;
  readonly addr: bigint;
  readonly size: number | undefined;
  readonly proc: VeoProc | null;
}

/** Called by VEO (veo_alloc_mem's and veo_free_mem's hooks, on the calling thread). */
function onHmemAlloc(addr: U64, size: U64): void {
  try {
    enqueue({
      hmem: true,
      type: "alloc",
      addr: BigInt.asUintN(64, BigInt(addr)),
      size: Number(size),
      proc: null,
    });
  } catch {
    /* never throw into C */
  }
}

function onHmemFree(addr: U64): void {
  try {
    enqueue({
      hmem: true,
      type: "free",
      addr: BigInt.asUintN(64, BigInt(addr)),
      size: undefined,
      proc: null,
    });
  } catch {
    /* never throw into C */
  }
}

/** allocMemAsync/freeMemAsync completed: the event VEO's async HMEM hook would have given. */
function emitAsyncHmem(proc: VeoProc, event: VeoHookEvent): void {
  const type = event.type === "allocAsync" ? "alloc" : "free";
  if ((hmemListeners.get(type)?.length ?? 0) === 0) return;
  let addr = event.addr;
  try {
    const tagged = procSlots.api(proc).veo_set_proc_identifier?.(addr, proc.identifier);
    if (tagged !== undefined && tagged !== null) addr = BigInt.asUintN(64, BigInt(tagged));
  } catch {
    /* no identifier: the plain address, as VEO's hook gives it then */
  }
  enqueue({ hmem: true, type, addr, size: event.size, proc });
}

const HMEM_PLAIN = (1n << 59n) - 1n;

/** The live proc of the HMEM library with the identifier in `addr` (bits 62:59). */
function procOfHmem(addr: bigint): VeoProc | undefined {
  if (addr >> 63n === 0n || hmem === undefined) return undefined;
  const ident = Number((addr >> 59n) & 0xfn);
  for (const p of liveProcs()) {
    if (procSlots.native(p) !== hmem.native) continue;
    try {
      if (p.identifier === ident) return p;
    } catch {
      /* not usable any more */
    }
  }
  return undefined;
}

function deliverHmem(rec: HmemRecord): void {
  const proc = rec.proc ?? procOfHmem(rec.addr);
  if (rec.proc === null && proc !== undefined) {
    // From VEO's hook on veo_alloc_mem/veo_free_mem, which proc.on("alloc"/"free") share.
    // Delivered here and now, so it keeps its place among the proc's other events.
    const addr = rec.addr & HMEM_PLAIN;
    deliverProcEvent(
      Object.freeze(
        rec.type === "alloc" ? { type: "alloc", proc, addr, size: rec.size } : { type: "free", proc, addr },
      ),
    );
  }
  const list = hmemListeners.get(rec.type);
  if (list === undefined || list.length === 0) return;
  const event: VeoHmemHookEvent = Object.freeze(
    rec.type === "alloc"
      ? { type: rec.type, addr: rec.addr, size: rec.size, proc }
      : { type: rec.type, addr: rec.addr, proc },
  );
  for (const fn of list.slice()) callListener(fn, event);
}

function startHmemHooks(native: VeoNative): void {
  const register = requireFunction(native, "veo_register_hmem_hook_functions");
  requireFunction(native, "veo_unregister_hmem_hook_functions");
  const unhook = requireFunction(native, "veo_unregister_hook");
  const asyncKeys = ["veo_alloc_mem_async", "veo_free_mem_async"].map((n) => functionAddress(native, n));
  const callbacks = registerHmemHooks(onHmemAlloc, onHmemFree);
  register(callbacks.alloc, callbacks.free);
  // VEO would call JS from its progress thread for these: veo-ts raises them itself.
  for (const key of asyncKeys) if (key !== 0) unhook(key);
  hmem = { native, callbacks };
  hookExit();
}

function stopHmemHooks(): void {
  if (hmem === undefined) return;
  const { native, callbacks } = hmem;
  hmem = undefined;
  native.api.veo_unregister_hmem_hook_functions?.();
  // That erased veo_alloc_mem's and veo_free_mem's hooks: proc.on's listeners get theirs back.
  const c = counts.get(native);
  for (let k = 0; k < 2; k++) if (c !== undefined && c[k] > 0) registerKey(native, k);
  callbacks.release();
}

function checkHmemType(type: unknown, method: string): VeoHmemHookEventType {
  if (typeof type !== "string" || !HMEM_EVENTS.includes(type as VeoHmemHookEventType)) {
    throw new TypeError(
      `Argument 0 (event) of ${method} must be "alloc" or "free", got ${describeValue(type)}`,
    );
  }
  return type as VeoHmemHookEventType;
}

/** @internal VeoHmem.on */
export function addHmemListener(type: unknown, fn: unknown): void {
  const t = checkHmemType(type, "VeoHmem.on");
  if (typeof fn !== "function") {
    throw new TypeError(`Argument 1 (listener) of VeoHmem.on must be a function, got ${describeValue(fn)}`);
  }
  if (hmem === undefined) {
    if (!isMainThread) {
      throw new VeoFailedError(
        "veo_register_hmem_hook_functions",
        "VeoHmem.on works on the main thread only: VEO's HMEM hooks are process-wide",
      );
    }
    startHmemHooks(getNative());
  }
  const list = hmemListeners.get(t);
  if (list === undefined) hmemListeners.set(t, [fn as VeoHmemHookListener]);
  else list.push(fn as VeoHmemHookListener);
}

/** @internal VeoHmem.off: removes the last registration of `fn` for `type` (no-op if none). */
export function removeHmemListener(type: unknown, fn: unknown): void {
  const t = checkHmemType(type, "VeoHmem.off");
  const list = hmemListeners.get(t);
  const i = list === undefined || typeof fn !== "function" ? -1 : list.lastIndexOf(fn as VeoHmemHookListener);
  if (list === undefined || i < 0) return;
  list.splice(i, 1);
  if (HMEM_EVENTS.every((e) => (hmemListeners.get(e)?.length ?? 0) === 0)) stopHmemHooks();
}
