/*
 * VE-SHM, VH-SHM and VE-DMA (AVEO's veo_veshm.h, veo_vhveshm.h, veo_vedma.h; API 13): the
 * low-level sharing and DMA helpers MPI libraries build on, as `VeoShm` and `VeoDma`.
 *
 * Every argument is checked before C sees it: HMEM addresses must lie in a live block of a
 * live VeoProc (as hmemcpy checks them), sizes, keys and flags must fit their C types, and
 * VE-SHM modes may only use the flags upstream defines. The C functions report failure
 * through errno (or a negative errno); each failure is a VeoErrnoError carrying it. A
 * library without the symbol (VEO 1.x, API < 13) throws VeoUnsupported. The emulator runs
 * VH-SHM for real (shmget/shmat/shmdt in its helper) and fails VE-SHM and VE-DMA with ENOTSUP,
 * as AVEO does where the VE-side support is missing.
 */
import { constants } from "node:os";

import { describeValue } from "./ctypes.js";
import { VeoErrnoError, VeoFailedError } from "./errors.js";
import { liveHmem } from "./hmem.js";
import { byteCount } from "./memory.js";
import { clearErrno, lastErrno, type VeoApi } from "./native/api.js";
import { requireFunction } from "./native/library.js";
import { VeoProc } from "./proc.js";
import { brands, procSlots } from "./slots.js";

/** The `mode` flags of the VE-SHM calls (veo_veshm_defs.h), to be OR-ed together. */
export const VeshmMode = Object.freeze({
  /** VE_SHM_RO: read-only. */
  RO: 0x1,
  /** VE_PCISYNC: synchronise through the PCI sync register `syncnum`. */
  PCISYNC: 0x2,
  /** VE_REGISTER_PCI: register the area to the PCI ATB. */
  REGISTER_PCI: 0x4,
  /** VE_MAP_256MB: map with 256 MiB pages. */
  MAP_256MB: 0x10,
  /** VE_REGISTER_NONE: register nowhere. */
  REGISTER_NONE: 0x1000,
  /** VE_REGISTER_VEMVA: attach at a VE virtual address (the result is an HMEM address). */
  REGISTER_VEMVA: 0x2000,
  /** VE_REGISTER_VEHVA: attach at a VE host virtual address (for DMA). */
  REGISTER_VEHVA: 0x4000,
  /** VE_MEM_LOCAL: the memory is local to this VE. */
  MEM_LOCAL: 0x8000,
});

const MODE_BITS = Object.values(VeshmMode).reduce((a, b) => a | b, 0);
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const U64_MAX = (1n << 64n) - 1n;
/** (void *)-1 and (uint64_t)-1: how the pointer-returning calls fail. */
const FAILED = U64_MAX;
const EAGAIN = constants.errno.EAGAIN;

/** errno → name; where two names share a number (ENOTSUP, EOPNOTSUPP) the first listed. */
const errnoNames = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!errnoNames.has(n)) errnoNames.set(n, name);

function errnoError(func: string, errno: number, what: string): VeoErrnoError {
  const name = errnoNames.get(errno) ?? `E${errno}`;
  const hint =
    name === "ENOTSUP" || name === "EOPNOTSUPP"
      ? " (the library has no VE-side support for it; the emulator never has)"
      : "";
  return new VeoErrnoError(func, errno, name, `${what} failed: ${name} (errno ${errno})${hint}`);
}

function need<K extends keyof VeoApi>(name: K, proc: VeoProc): NonNullable<VeoApi[K]> {
  return requireFunction(procSlots.native(proc), name);
}

function liveProc(v: unknown, label: string): VeoProc {
  // By brand, not prototype: Object.create(VeoProc.prototype) is no proc.
  if (!brands.proc(v)) throw new TypeError(`${label} must be a VeoProc, got ${describeValue(v)}`);
  v._check();
  return v;
}

function cInt(v: unknown, label: string, min = INT_MIN, max = INT_MAX): number {
  if (typeof v !== "number")
    throw new TypeError(`${label} must be an integer number, got ${describeValue(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${label} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

function u64(v: unknown, label: string): bigint {
  if (typeof v === "bigint" && v >= 0n && v <= U64_MAX) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "bigint" || typeof v === "number") {
    throw new RangeError(`${label} must be an address in [0, 2**64-1], got ${describeValue(v)}`);
  }
  throw new TypeError(`${label} must be an address (bigint), got ${describeValue(v)}`);
}

function mode(v: unknown, label: string): number {
  const m = cInt(v, label, 0, INT_MAX);
  const unknown = m & ~MODE_BITS;
  if (unknown !== 0) {
    throw new RangeError(`${label} has flags VEO does not define (0x${unknown.toString(16)}); use VeshmMode`);
  }
  return m;
}

/** An HMEM address with `size` bytes of a live block behind it; returns [addr, size, proc]. */
function hmemRange(hmem: unknown, size: unknown, method: string, hmemArg: number): [bigint, number, VeoProc] {
  const h = liveHmem(hmem, `Argument ${hmemArg} (hmem) of ${method}`);
  if (size === undefined)
    throw new TypeError(`Argument ${hmemArg + 1} (size) of ${method} must be a number of bytes`);
  const n = byteCount(
    size,
    `Argument ${hmemArg + 1} (size) of ${method}`,
    Number.MAX_SAFE_INTEGER,
    "2**53-1",
    0,
  );
  h.check(n);
  return [h.ptr, n, h.proc];
}

/** -1 (any negative) with errno set → VeoErrnoError. */
function checkRc(rc: number, func: string, what: string): void {
  if (rc < 0) throw errnoError(func, lastErrno() || constants.errno.EIO, what);
}

/** A negative errno as the result (the veo_dma_* calls) → VeoErrnoError. */
function checkNegErrno(rc: number, func: string, what: string): void {
  if (rc < 0) throw errnoError(func, -rc, what);
}

/** (void *)-1 with errno → VeoErrnoError; else the address as a bigint. */
function checkAddr(r: number | bigint, func: string, what: string): bigint {
  const a = BigInt.asUintN(64, BigInt(r));
  if (a === FAILED) throw errnoError(func, lastErrno() || constants.errno.EIO, what);
  return a;
}

/** The (proc, address) → -1 with errno shape of veo_shmdt and veo_unregister_mem_from_dmaatb. */
function procAddressCall(
  name: "veo_shmdt" | "veo_unregister_mem_from_dmaatb",
  method: string,
  argName: string,
  proc: unknown,
  addr: unknown,
): void {
  const p = liveProc(proc, `Argument 0 (proc) of ${method}`);
  const a = u64(addr, `Argument 1 (${argName}) of ${method}`);
  const f = need(name, p);
  clearErrno();
  checkRc(f(procSlots.handle(p), a), name, method);
}

/** What VeoShm.shmat returns: the VE address of the segment and its VEHVA (for DMA). */
export interface VeoShmAttachment {
  /** Where the segment is mapped in the VE process. */
  readonly addr: bigint;
  /**
   * Its VE host virtual address, usable as a VeoDma source or destination; undefined when
   * the library gives none ((void *)-1: the emulator, which has no VE DMA engine).
   */
  readonly vehva: bigint | undefined;
}

/**
 * VE-SHM (veo_shared_mem_*) and VH-SHM (veo_shm*) of AVEO API 13: VE memory shared between
 * VE processes, and System V shared memory of the VH attached into a VE process.
 */
export const VeoShm = Object.freeze({
  /** veo_shared_mem_open: offers `size` bytes at `hmem` to other VE processes. */
  sharedMemOpen(hmem: bigint, size: number, syncnum: number, mode_: number): void {
    const [h, n, p] = hmemRange(hmem, size, "sharedMemOpen", 0);
    const s = cInt(syncnum, "Argument 2 (syncnum) of sharedMemOpen");
    const m = mode(mode_, "Argument 3 (mode) of sharedMemOpen");
    clearErrno();
    checkRc(need("veo_shared_mem_open", p)(h, n, s, m), "veo_shared_mem_open", `sharedMemOpen(${n} bytes)`);
  },

  /** veo_shared_mem_close: withdraws what sharedMemOpen offered. */
  sharedMemClose(hmem: bigint, size: number, syncnum: number, mode_: number): void {
    const [h, n, p] = hmemRange(hmem, size, "sharedMemClose", 0);
    const s = cInt(syncnum, "Argument 2 (syncnum) of sharedMemClose");
    const m = mode(mode_, "Argument 3 (mode) of sharedMemClose");
    clearErrno();
    checkRc(
      need("veo_shared_mem_close", p)(h, n, s, m),
      "veo_shared_mem_close",
      `sharedMemClose(${n} bytes)`,
    );
  },

  /**
   * veo_shared_mem_attach: maps into `proc` the area another VE process (`pid`) opened at
   * `hmem`; returns where (an HMEM address with VeshmMode.REGISTER_VEMVA). `hmem` is the
   * other process's address, so it is checked as an address only.
   */
  sharedMemAttach(
    proc: VeoProc,
    pid: number,
    hmem: bigint,
    size: number,
    syncnum: number,
    mode_: number,
  ): bigint {
    const p = liveProc(proc, "Argument 0 (proc) of sharedMemAttach");
    const id = cInt(pid, "Argument 1 (pid) of sharedMemAttach", 1);
    const h = u64(hmem, "Argument 2 (hmem) of sharedMemAttach");
    const n = byteCount(
      size ?? NaN,
      "Argument 3 (size) of sharedMemAttach",
      Number.MAX_SAFE_INTEGER,
      "2**53-1",
      0,
    );
    const s = cInt(syncnum, "Argument 4 (syncnum) of sharedMemAttach");
    const m = mode(mode_, "Argument 5 (mode) of sharedMemAttach");
    const f = need("veo_shared_mem_attach", p);
    clearErrno();
    return checkAddr(
      f(procSlots.handle(p), id, h, n, s, m),
      "veo_shared_mem_attach",
      `sharedMemAttach(pid ${id})`,
    );
  },

  /** veo_shared_mem_detach: unmaps what sharedMemAttach mapped at `addr`. */
  sharedMemDetach(proc: VeoProc, addr: bigint, mode_: number): void {
    const p = liveProc(proc, "Argument 0 (proc) of sharedMemDetach");
    const a = u64(addr, "Argument 1 (addr) of sharedMemDetach");
    const m = mode(mode_, "Argument 2 (mode) of sharedMemDetach");
    const f = need("veo_shared_mem_detach", p);
    clearErrno();
    checkRc(f(procSlots.handle(p), a, m), "veo_shared_mem_detach", "sharedMemDetach");
  },

  /** veo_shmget: shmget(2) run by the VE process; returns the segment id. */
  shmget(proc: VeoProc, key: number, size: number, shmflag: number): number {
    const p = liveProc(proc, "Argument 0 (proc) of shmget");
    const k = cInt(key, "Argument 1 (key) of shmget");
    const n = byteCount(size ?? NaN, "Argument 2 (size) of shmget", Number.MAX_SAFE_INTEGER, "2**53-1", 0);
    const fl = cInt(shmflag, "Argument 3 (shmflag) of shmget");
    const f = need("veo_shmget", p);
    clearErrno();
    const id = f(procSlots.handle(p), k, n, fl);
    checkRc(id, "veo_shmget", `shmget(key ${k}, ${n} bytes)`);
    return id;
  },

  /** veo_shmat: attaches segment `shmid` to the VE process (at `shmaddr`, 0n: anywhere). */
  shmat(proc: VeoProc, shmid: number, shmaddr: bigint, shmflag: number): VeoShmAttachment {
    const p = liveProc(proc, "Argument 0 (proc) of shmat");
    const id = cInt(shmid, "Argument 1 (shmid) of shmat", 0);
    const at = u64(shmaddr, "Argument 2 (shmaddr) of shmat");
    const fl = cInt(shmflag, "Argument 3 (shmflag) of shmat");
    const f = need("veo_shmat", p);
    const vehva = new BigUint64Array(1);
    clearErrno();
    const addr = checkAddr(f(procSlots.handle(p), id, at, fl, vehva), "veo_shmat", `shmat(${id})`);
    return Object.freeze({ addr, vehva: vehva[0] === FAILED ? undefined : vehva[0] });
  },

  /** veo_shmdt: detaches the segment shmat attached at `addr`. */
  shmdt(proc: VeoProc, addr: bigint): void {
    procAddressCall("veo_shmdt", "shmdt", "addr", proc, addr);
  },
});

const HANDLE_TOKEN = Symbol("VeoDmaHandle");
let dmaRaw: (h: unknown) => Int32Array | undefined;
let dmaFinish: (h: VeoDmaHandle) => void;
let dmaState: (h: VeoDmaHandle) => { proc: VeoProc; done: boolean };

/** A VE-DMA transfer in flight (VeoDma.post), for VeoDma.poll. */
export class VeoDmaHandle {
  /** ve_dma_handle_t {status, index}, filled by C. */
  readonly #raw = new Int32Array(2);
  readonly #proc: VeoProc;
  #done = false;

  /** @internal Made by VeoDma.post only. */
  constructor(token: unknown, proc: VeoProc) {
    if (token !== HANDLE_TOKEN) throw new TypeError("VeoDmaHandle is made by VeoDma.post, not by new");
    this.#proc = proc;
    Object.freeze(this);
  }

  /** The proc that posted it. */
  get proc(): VeoProc {
    return this.#proc;
  }

  /** True once poll has seen the transfer end. */
  get done(): boolean {
    return this.#done;
  }

  static {
    // Recognised by brand, not by prototype: a look-alike object has no #raw.
    dmaRaw = (h) => (typeof h === "object" && h !== null && #raw in h ? h.#raw : undefined);
    dmaFinish = (h) => {
      h.#done = true;
    };
    dmaState = (h) => ({ proc: h.#proc, done: h.#done });
  }
}

Object.freeze(VeoDmaHandle.prototype);

/** A DMA that ended with exception bits in its status (0x8000…0x0800, spec §3.14). */
function dmaStatusError(func: string, status: number): VeoFailedError {
  return new VeoFailedError(func, `${func}: the DMA ended with exception status 0x${status.toString(16)}`);
}

function dmaArgs(
  method: string,
  proc: unknown,
  dst: unknown,
  src: unknown,
  size: unknown,
): [VeoProc, bigint, bigint, number] {
  const p = liveProc(proc, `Argument 0 (proc) of ${method}`);
  return [
    p,
    u64(dst, `Argument 1 (dst) of ${method}`),
    u64(src, `Argument 2 (src) of ${method}`),
    cInt(size, `Argument 3 (size) of ${method}`, 1),
  ];
}

/**
 * VE-DMA (veo_dma_*, veo_*_dmaatb) of AVEO API 13: DMA between VE host virtual addresses
 * (VEHVA, from registerMemToDmaatb or VeoShm.shmat), run by the VE process.
 */
export const VeoDma = Object.freeze({
  /** veo_dma_post: starts a DMA of `size` bytes from VEHVA `src` to VEHVA `dst`. */
  post(proc: VeoProc, dst: bigint, src: bigint, size: number): VeoDmaHandle {
    const [p, d, s, n] = dmaArgs("post", proc, dst, src, size);
    const f = need("veo_dma_post", p);
    const handle = new VeoDmaHandle(HANDLE_TOKEN, p);
    checkNegErrno(f(procSlots.handle(p), d, s, n, dmaRaw(handle)!), "veo_dma_post", `dma post(${n} bytes)`);
    return handle;
  },

  /** veo_dma_poll: true once the transfer has ended, false while it runs (-EAGAIN). */
  poll(handle: VeoDmaHandle): boolean {
    const raw = dmaRaw(handle);
    if (raw === undefined) {
      throw new TypeError(
        `Argument 0 (handle) of poll must be a VeoDmaHandle from VeoDma.post, got ${describeValue(handle)}`,
      );
    }
    // Its own state, not its properties (a look-alike subclass could redefine those).
    const st = dmaState(handle);
    if (st.done) return true;
    const p = liveProc(st.proc, "The proc of Argument 0 (handle) of poll");
    const rc = need("veo_dma_poll", p)(procSlots.handle(p), raw);
    if (rc === -EAGAIN) return false;
    checkNegErrno(rc, "veo_dma_poll", "dma poll");
    if (rc > 0) throw dmaStatusError("veo_dma_poll", rc);
    dmaFinish(handle);
    return true;
  },

  /** veo_dma_post_wait: a DMA of `size` bytes from `src` to `dst`, waited for. */
  postWait(proc: VeoProc, dst: bigint, src: bigint, size: number): void {
    const [p, d, s, n] = dmaArgs("postWait", proc, dst, src, size);
    const rc = need("veo_dma_post_wait", p)(procSlots.handle(p), d, s, n);
    checkNegErrno(rc, "veo_dma_post_wait", `dma postWait(${n} bytes)`);
    if (rc > 0) throw dmaStatusError("veo_dma_post_wait", rc);
  },

  /** veo_register_mem_to_dmaatb: registers `size` bytes at `hmem` for DMA; returns their VEHVA. */
  registerMemToDmaatb(hmem: bigint, size: number): bigint {
    const [h, n, p] = hmemRange(hmem, size, "registerMemToDmaatb", 0);
    const f = need("veo_register_mem_to_dmaatb", p);
    clearErrno();
    const r = f(h, n);
    return checkAddr(r, "veo_register_mem_to_dmaatb", `registerMemToDmaatb(${n} bytes)`);
  },

  /** veo_unregister_mem_from_dmaatb: undoes registerMemToDmaatb. */
  unregisterMemFromDmaatb(proc: VeoProc, vehva: bigint): void {
    procAddressCall("veo_unregister_mem_from_dmaatb", "unregisterMemFromDmaatb", "vehva", proc, vehva);
  },

  /**
   * veo_access_pcircvsyc_register: asks every context of `proc` to touch the PCI receive
   * sync register. Fire and forget, as in C: nothing reports whether it worked (the
   * emulator's does nothing).
   */
  accessPcircvsycRegister(proc: VeoProc): void {
    const p = liveProc(proc, "Argument 0 (proc) of accessPcircvsycRegister");
    need("veo_access_pcircvsyc_register", p)(procSlots.handle(p));
  },
});
