/*
 * Lifetime (src/proc-lifetime.ts, VeoProc.destroy/lost, VeoCtxt.close): proc.lost says when
 * and why the VE process ended; teardown never waits long for a kernel that does not return;
 * exit paths with busy kernels end promptly and leave no helper behind.
 */
import { describe, expect, it } from "vitest";

import {
  VeoClosedError,
  VeoKernelException,
  VeoProc,
  VeoProcessDead,
  type VeoProcLost,
} from "../src/index.js";
import { alive } from "./support/checks.js";
import { runChild, waitGone } from "./support/child.js";
import { kernel } from "./support/kernels.js";

process.env.VE_OMP_NUM_THREADS = "1";
const lifetime = kernel("lifetime");

function spinningProc(killGraceMs?: number) {
  const proc = new VeoProc(0, killGraceMs === undefined ? undefined : { killGraceMs });
  const lib = proc.loadLibrary(lifetime);
  const ctx = proc.openContext();
  const spin = lib.declare("long spin_forever(void)");
  const pid = proc._helperPid() as number;
  expect(pid).toBeGreaterThan(0);
  return { proc, lib, ctx, spin, pid };
}

/** Keeps the event loop alive while `p` is pending (lost's own timer is unref'd). */
async function settled<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  const keep = setTimeout(() => {}, ms);
  try {
    return await p;
  } finally {
    clearTimeout(keep);
  }
}

describe("proc.lost", () => {
  it("resolves with reason 'destroyed' on destroy(), also when asked afterwards", async () => {
    const p = new VeoProc(0);
    const lost = p.lost;
    expect(p.lost).toBe(lost);
    let told: VeoProcLost | undefined;
    void lost.then((l) => (told = l));
    await Promise.resolve();
    expect(told).toBeUndefined();
    p.destroy();
    expect(await lost).toEqual({ reason: "destroyed", message: "The VeoProc on node 0 was destroyed" });
    const q = new VeoProc(0);
    q.destroy();
    expect((await q.lost).reason).toBe("destroyed");
  });

  it("resolves with reason 'fault' and the signal when a kernel faults", async () => {
    const p = new VeoProc(0);
    try {
      const segv = p.loadLibrary(kernel("basic")).declare("int segv(void)");
      const r = segv(p.openContext());
      await expect(r).rejects.toThrow();
      const l = await p.lost;
      expect(l).toMatchObject({ reason: "fault", signal: 11 });
      expect(l.message).toMatch(/SIGSEGV in segv/);
    } finally {
      p.destroy();
    }
    expect((await p.lost).reason).toBe("fault");
  });

  it("reports a fault as 'fault' even when its watcher sees the helper gone first", async () => {
    // The kernel faults while the main thread is busy: when it is free again, lost's watcher
    // (a timer) runs before the pool thread's report of the fault (I/O) can.
    const p = new VeoProc(0);
    try {
      const lib = p.loadLibrary(kernel("basic"));
      const ctx = p.openContext();
      const lost = p.lost;
      const pid = p._helperPid() as number;
      void lib.declare("int do_sleep(int ms)")(ctx, 100);
      const r = lib.declare("int segv(void)")(ctx);
      const failed = r.then(
        () => undefined,
        (err: unknown) => err,
      );
      await new Promise((go) => setImmediate(go)); // the pump's pool thread waits for segv
      const until = performance.now() + 20_000;
      while (alive(pid) && performance.now() < until);
      const then = performance.now() + 300;
      while (performance.now() < then);
      expect(alive(pid)).toBe(false);
      expect(await failed).toBeInstanceOf(VeoKernelException);
      expect(await settled(lost)).toMatchObject({ reason: "fault", signal: 11 });
    } finally {
      p.destroy();
    }
  });

  it("notices a killed VE process with nothing pending", async () => {
    const p = new VeoProc(0);
    try {
      p.openContext();
      const lost = p.lost;
      process.kill(p._helperPid() as number, "SIGKILL");
      const l = await settled(lost);
      expect(["signaled", "exited"]).toContain(l.reason);
      if (l.reason === "signaled") expect(l.signal).toBe(9);
      expect(p.dead).toBe(true);
      expect(() => p.allocMem(8)).toThrow(VeoProcessDead);
    } finally {
      p.destroy();
    }
  });
});

describe("teardown with a kernel that never returns", () => {
  it("destroy() waits the grace period, then kills the VE process", async () => {
    const { proc, ctx, spin, pid } = spinningProc(200);
    const awaited = spin(ctx);
    const plain = spin(ctx);
    const pending = awaited.then(
      () => "resolved",
      (e: unknown) => e,
    );
    const t0 = performance.now();
    proc.destroy();
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(ms).toBeLessThan(15_000); // VEO itself waits 20 s per context
    expect(await pending).toBeInstanceOf(VeoClosedError);
    expect(() => plain.wait()).toThrow(VeoClosedError);
    const l = await proc.lost;
    expect(l.reason).toBe("destroyed");
    expect(l.message).toMatch(/grace period \(200 ms\), so its VE process was killed/);
    expect(await waitGone([pid])).toEqual([]);
  });

  it("destroy() of an idle proc does not wait", async () => {
    const { proc, ctx } = spinningProc(5_000);
    await proc.loadLibrary(kernel("basic")).declare("long empty(void)")(ctx);
    const t0 = performance.now();
    proc.destroy();
    expect(performance.now() - t0).toBeLessThan(4_000);
    expect((await proc.lost).message).not.toMatch(/killed/);
  });

  it("a kernel that finishes within the grace period is not killed", async () => {
    const proc = new VeoProc(0, { killGraceMs: 10_000 });
    const sleep = proc.loadLibrary(kernel("basic")).declare("int do_sleep(int ms)");
    const r = sleep(proc.openContext(), 100);
    const t0 = performance.now();
    proc.destroy();
    // Pending requests reject at once; the kernel was let finish (about 100 ms), not killed.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
    expect(() => r.wait()).toThrow(VeoClosedError);
    expect((await proc.lost).message).toBe("The VeoProc on node 0 was destroyed");
  });

  it("ctx.close() kills a busy VE process after the grace period; the proc is lost", async () => {
    const { proc, ctx, spin, pid } = spinningProc(200);
    try {
      const other = proc.openContext();
      const r = spin(other);
      const t0 = performance.now();
      other.close();
      expect(performance.now() - t0).toBeLessThan(15_000);
      expect(() => r.wait()).toThrow(VeoClosedError);
      const l = await proc.lost;
      expect(l).toMatchObject({ reason: "signaled", signal: 9 });
      expect(l.message).toMatch(/ctx\.close\(\) killed it/);
      expect(proc.dead).toBe(true);
      expect(() => ctx.sync()).toThrow(VeoProcessDead);
      expect(await waitGone([pid])).toEqual([]);
    } finally {
      proc.destroy();
    }
  });

  it("VEO_KILL_GRACE_MS sets the default grace period", async () => {
    const r = await runChild(
      `
      import { VeoProc } from "SRC";
      import { kernel } from "KERNELS";
      const p = new VeoProc(0);
      const spin = p.loadLibrary(kernel("lifetime")).declare("long spin_forever(void)");
      spin(p.openContext());
      p.destroy();
      console.log((await p.lost).message);
      `,
      { env: { VEO_KILL_GRACE_MS: "50" }, timeoutMs: 60_000 },
    );
    expect(r.stdout, r.stderr).toMatch(/grace period \(50 ms\)/);
  });
});

describe("exit with busy kernels", () => {
  const script = (end: string): string => `
    import { VeoProc } from "SRC";
    import { kernel } from "KERNELS";
    const pids = [];
    for (let i = 0; i < 3; i++) {
      const p = new VeoProc(0);
      const lib = p.loadLibrary(kernel("lifetime"));
      const ctx = p.openContext();
      const spin = lib.declare("long spin_forever(void)");
      spin(ctx);
      spin(ctx);
      pids.push(p._helperPid());
    }
    console.log(JSON.stringify(pids));
    ${end}
  `;

  it.each([
    ["process.exit()", "process.exit(0);"],
    ["the end of the script", ""],
    ["an uncaught exception", "throw new Error('boom');"],
  ])("%s ends promptly and kills the helpers", async (_name, end) => {
    const r = await runChild(script(end), { timeoutMs: 60_000, env: { VEO_KILL_GRACE_MS: "300" } });
    expect(r.timedOut, r.stderr).toBe(false);
    const pids = JSON.parse(r.stdout.trim().split("\n")[0]) as number[];
    expect(pids).toHaveLength(3);
    // One shared grace period for all procs, not one per proc or context.
    expect(r.ms).toBeLessThan(30_000);
    expect(await waitGone(pids)).toEqual([]);
  });
});

it("helper pids seen here are ours and alive while the proc lives", () => {
  const p = new VeoProc(0);
  try {
    expect(alive(p._helperPid() as number)).toBe(true);
  } finally {
    p.destroy();
  }
});
