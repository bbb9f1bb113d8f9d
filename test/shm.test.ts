/*
 * VeoShm / VeoDma (VE-SHM, VH-SHM, VE-DMA): VH-SHM for real on the emulator (a System V
 * segment attached twice by the helper), argument checks before C, the emulator's ENOTSUP and
 * the helper's errno as VeoErrnoErrors, and VeoUnsupported from a library without the symbols.
 */
import { constants } from "node:os";

import { afterAll, describe, expect, it } from "vitest";

import {
  VeoClosedError,
  VeoDma,
  VeoDmaHandle,
  VeoErrnoError,
  VeoFailedError,
  VeoHmem,
  VeoProc,
  VeoShm,
  VeshmMode,
} from "../src/index.js";
import { expectUnsupported } from "./support/checks.js";
import { kernel, partialEmulator } from "./support/kernels.js";

const ENOTSUP = constants.errno.ENOTSUP;
const proc = new VeoProc(0);
afterAll(() => proc.destroy());

function expectEnotsup(call: () => unknown, func: string): void {
  expect(call, func).toThrow(VeoErrnoError);
  expect(call, func).toThrow(VeoFailedError);
  expect(call, func).toThrow(/failed: ENOTSUP \(errno \d+\)/);
  expect(call, func).toThrow(
    expect.objectContaining({ code: "VEO_FAILED", func, errno: ENOTSUP, errnoName: "ENOTSUP" }),
  );
}

const IPC_PRIVATE = 0;
const IPC_CREAT = 0o1000;

describe("VH-SHM on the emulator", () => {
  it("shmget + shmat twice: one System V segment, seen at both addresses; shmdt", () => {
    const remove = proc.loadLibrary(kernel("aveo")).declare("int shm_remove(int id)");
    const id = VeoShm.shmget(proc, IPC_PRIVATE, 8192, IPC_CREAT | 0o600);
    expect(id).toBeGreaterThanOrEqual(0);
    try {
      const a = VeoShm.shmat(proc, id, 0n, 0);
      const b = VeoShm.shmat(proc, id, 0n, 0);
      expect(a.addr).not.toBe(b.addr);
      expect(a.vehva).toBeUndefined(); // no VE DMA engine here
      expect(Object.isFrozen(a)).toBe(true);
      proc.writeMem(a.addr, new Uint32Array([0xdead, 0xbeef]));
      const back = new Uint32Array(2);
      proc.readMem(back, b.addr);
      expect([...back]).toEqual([0xdead, 0xbeef]);
      VeoShm.shmdt(proc, a.addr);
      VeoShm.shmdt(proc, b.addr);
      // Detached: a second shmdt is the helper's EINVAL, brought back as errno.
      expect(() => VeoShm.shmdt(proc, a.addr)).toThrow(
        expect.objectContaining({ func: "veo_shmdt", errnoName: "EINVAL" }),
      );
    } finally {
      expect(remove.callSync(id)).toBe(0);
    }
    // Gone: shmat of the removed segment fails with the helper's errno (EINVAL).
    expect(() => VeoShm.shmat(proc, id, 0n, 0)).toThrow(
      expect.objectContaining({ func: "veo_shmat", errnoName: "EINVAL" }),
    );
    // A key nobody created, without IPC_CREAT: ENOENT.
    expect(() => VeoShm.shmget(proc, 0x7eed0000 + (process.pid & 0xffff), 4096, 0o600)).toThrow(
      expect.objectContaining({ func: "veo_shmget", errno: constants.errno.ENOENT, errnoName: "ENOENT" }),
    );
  });
});

describe("VE-SHM and VE-DMA on the emulator", () => {
  it("every call reaches C and fails with errno ENOTSUP, the proc unharmed", () => {
    const h = proc.allocHmem(4096);
    try {
      const mode = VeshmMode.PCISYNC | VeshmMode.REGISTER_VEHVA;
      expectEnotsup(() => VeoShm.sharedMemOpen(h, 4096, 0, mode), "veo_shared_mem_open");
      expectEnotsup(() => VeoShm.sharedMemClose(h, 4096, 0, mode), "veo_shared_mem_close");
      expectEnotsup(
        () => VeoShm.sharedMemAttach(proc, process.pid, h, 4096, 0, mode),
        "veo_shared_mem_attach",
      );
      expectEnotsup(() => VeoShm.sharedMemDetach(proc, h, mode), "veo_shared_mem_detach");
      expectEnotsup(() => VeoDma.post(proc, 0x1000n, 0x2000n, 64), "veo_dma_post");
      expectEnotsup(() => VeoDma.postWait(proc, 0x1000n, 0x2000n, 64), "veo_dma_post_wait");
      expectEnotsup(() => VeoDma.registerMemToDmaatb(h, 4096), "veo_register_mem_to_dmaatb");
      expectEnotsup(() => VeoDma.unregisterMemFromDmaatb(proc, 0x1000n), "veo_unregister_mem_from_dmaatb");
      expect(VeoDma.accessPcircvsycRegister(proc)).toBeUndefined();
      // Still a working proc, and its block is intact.
      VeoHmem.hmemcpy(h, new Uint32Array([7, 8, 9]), 12);
      const back = new Uint32Array(3);
      VeoHmem.hmemcpy(back, h, 12);
      expect([...back]).toEqual([7, 8, 9]);
    } finally {
      proc.freeHmem(h);
    }
  });

  it("checks HMEM ranges like hmemcpy: untagged, unknown proc, past the block, freed", () => {
    const h = proc.allocHmem(64);
    const plain = h & ((1n << 59n) - 1n);
    expect(() => VeoShm.sharedMemOpen(plain, 64, 0, 0)).toThrow(
      /Argument 0 \(hmem\) of sharedMemOpen .*not an HMEM address/,
    );
    expect(() => VeoShm.sharedMemOpen(h, 65, 0, 0)).toThrow(RangeError);
    expect(() => VeoShm.sharedMemOpen(h, 65, 0, 0)).toThrow(
      /65 bytes from there are not inside a live block/,
    );
    expect(() => VeoDma.registerMemToDmaatb(h + 8n, 64)).toThrow(
      /Argument 0 \(hmem\) of registerMemToDmaatb/,
    );
    const other = (h & ~(0xfn << 59n)) | (((((h >> 59n) & 0xfn) + 1n) & 0xfn) << 59n);
    expect(() => VeoShm.sharedMemClose(other, 8, 0, 0)).toThrow(
      /names proc identifier \d+, which is no live VeoProc/,
    );
    expect(() => VeoShm.sharedMemOpen(Number(plain) as never, 8, 0, 0)).toThrow(TypeError);
    expect(() => VeoShm.sharedMemOpen(h, -1, 0, 0)).toThrow(/Argument 1 \(size\) of sharedMemOpen/);
    expect(() => VeoShm.sharedMemOpen(h, undefined as never, 0, 0)).toThrow(/Argument 1 \(size\)/);
    proc.freeHmem(h);
    expect(() => VeoShm.sharedMemOpen(h, 8, 0, 0)).toThrow(/not inside a live block/);
  });

  it("range-checks keys, flags, modes, pids, sizes and addresses, naming the argument", () => {
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => VeoShm.shmget(proc, 2 ** 31, 8, 0), RangeError, /Argument 1 \(key\) of shmget/],
      [() => VeoShm.shmget(proc, 1.5, 8, 0), RangeError, /Argument 1 \(key\)/],
      [() => VeoShm.shmget(proc, "1" as never, 8, 0), TypeError, /Argument 1 \(key\)/],
      [() => VeoShm.shmget(proc, 1, -8, 0), RangeError, /Argument 2 \(size\) of shmget/],
      [() => VeoShm.shmget(proc, 1, 8, 2 ** 32), RangeError, /Argument 3 \(shmflag\)/],
      [
        () => VeoShm.shmget({} as never, 1, 8, 0),
        TypeError,
        /Argument 0 \(proc\) of shmget must be a VeoProc/,
      ],
      [() => VeoShm.shmat(proc, -1, 0n, 0), RangeError, /Argument 1 \(shmid\) of shmat/],
      [() => VeoShm.shmat(proc, 1, -1n, 0), RangeError, /Argument 2 \(shmaddr\)/],
      [() => VeoShm.shmat(proc, 1, 2n ** 64n, 0), RangeError, /Argument 2 \(shmaddr\)/],
      [() => VeoShm.shmdt(proc, "0x10" as never), TypeError, /Argument 1 \(addr\) of shmdt/],
      [() => VeoShm.sharedMemAttach(proc, 0, 0n, 8, 0, 0), RangeError, /Argument 1 \(pid\)/],
      [
        () => VeoShm.sharedMemDetach(proc, 0n, 0x20),
        RangeError,
        /Argument 2 \(mode\) .*flags VEO does not define \(0x20\)/,
      ],
      [() => VeoShm.sharedMemDetach(proc, 0n, -1), RangeError, /Argument 2 \(mode\)/],
      [() => VeoDma.post(proc, 0n, 0n, 0), RangeError, /Argument 3 \(size\) of post/],
      [() => VeoDma.post(proc, 0n, 0n, 2 ** 31), RangeError, /Argument 3 \(size\) of post/],
      [() => VeoDma.postWait(proc, -1n, 0n, 8), RangeError, /Argument 1 \(dst\) of postWait/],
      [() => VeoDma.postWait(proc, 0n, {} as never, 8), TypeError, /Argument 2 \(src\) of postWait/],
      [() => VeoDma.poll({} as never), TypeError, /Argument 0 \(handle\) of poll must be a VeoDmaHandle/],
      [
        () => VeoDma.poll(Object.create(VeoDmaHandle.prototype) as never),
        TypeError,
        /Argument 0 \(handle\) of poll must be a VeoDmaHandle/,
      ],
      [() => new VeoDmaHandle(Symbol("VeoDmaHandle"), proc), TypeError, /made by VeoDma.post/],
      // A look-alike proc (right prototype, no private state) is refused by name, not by
      // "Cannot read private member" from deep inside.
      [
        () => VeoShm.shmget(Object.create(VeoProc.prototype) as VeoProc, 1, 8, 0),
        TypeError,
        /^Argument 0 \(proc\) of shmget must be a VeoProc/,
      ],
      [
        () => VeoDma.postWait(Object.create(proc) as VeoProc, 0n, 0n, 8),
        TypeError,
        /^Argument 0 \(proc\) of postWait must be a VeoProc/,
      ],
      // Sizes are never coerced: a valueOf is not called.
      [
        () => VeoShm.shmget(proc, 1, { valueOf: () => proc.destroy() } as never, 0),
        TypeError,
        /Argument 2 \(size\) of shmget/,
      ],
      [
        () => Object.defineProperty(VeoDmaHandle.prototype, "proc", { get: () => proc }),
        TypeError,
        /redefine|not extensible/,
      ],
    ];
    for (const [call, type, message] of cases) {
      expect(call, String(message)).toThrow(type);
      expect(call, String(message)).toThrow(message);
    }
    expect(proc.destroyed).toBe(false);
  });

  it("a destroyed proc is a VeoClosedError before C", () => {
    const p = new VeoProc(0);
    p.destroy();
    expect(() => VeoShm.shmget(p, 1, 8, 0)).toThrow(VeoClosedError);
    expect(() => VeoDma.postWait(p, 0n, 0n, 8)).toThrow(VeoClosedError);
    expect(() => VeoDma.accessPcircvsycRegister(p)).toThrow(VeoClosedError);
  });
});

describe("VeoShm and VeoDma without the symbols", () => {
  const HIDDEN = ["veo_shmget", "veo_dma_post", "veo_shmat", "veo_access_pcircvsyc_register"];

  it("throw VeoUnsupported naming the function and API 13; the proc still works", () => {
    const p = new VeoProc(0, { library: partialEmulator(HIDDEN) });
    try {
      expectUnsupported(
        [
          [() => VeoShm.shmget(p, 1, 8, 0), "veo_shmget", 13],
          [() => VeoDma.post(p, 0n, 0n, 8), "veo_dma_post", 13],
          [() => VeoShm.shmat(p, 1, 0n, 0), "veo_shmat", 13],
          [() => VeoDma.accessPcircvsycRegister(p), "veo_access_pcircvsyc_register", 13],
        ],
        (name) => new RegExp(`^${name} is not available: this library \\(API 16\\) does not export it`),
      );
      // The ones it has still reach C (the helper's EINVAL for an address nothing attached).
      expect(() => VeoShm.shmdt(p, 0x1000n)).toThrow(expect.objectContaining({ errnoName: "EINVAL" }));
    } finally {
      p.destroy();
    }
  });
});
