/*
 * Host HMEM in the emulator, from Node: memory from veo_alloc_hmem(NULL, ...) freed twice
 * with veo_free_hmem. Upstream hands every untagged address to free(), so the second free
 * aborts the process (glibc double free); the emulator remembers its host blocks and fails
 * the second free with -1 and a log line. veo-ts itself never allocates host HMEM (allocHmem
 * needs a proc), so the test calls the library's functions directly, in a child process.
 */
import { expect, it } from "vitest";

import { runChild } from "../support/child.js";

it("a second veo_free_hmem of host memory fails with -1 and Node lives on", async () => {
  const r = await runChild(`
    import { VeoProc } from "SRC";
    import { procSlots } from "SRC/../slots.ts";
    const p = new VeoProc(0);
    const api = procSlots.api(p); // internal: no object of veo-ts carries the C functions
    const out = new BigUint64Array(1);
    const rcs = [api.veo_alloc_hmem(0, out, 64)];
    const addr = out[0];
    rcs.push(api.veo_is_ve_addr(addr), api.veo_free_hmem(addr), api.veo_free_hmem(addr));
    // A new block (perhaps at the same address) frees once again.
    rcs.push(api.veo_alloc_hmem(0, out, 64), api.veo_free_hmem(out[0]), api.veo_free_hmem(out[0]));
    p.destroy();
    console.log(JSON.stringify({ rcs, addr: addr.toString(16) }));
  `);
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(0);
  const { rcs, addr } = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as { rcs: number[]; addr: string };
  expect(rcs).toEqual([0, 0, 0, -1, 0, 0, -1]);
  expect(r.stdout).toContain(`veo_free_hmem() host memory 0x${addr} was freed already`);
});
