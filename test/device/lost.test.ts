/*
 * The device.lost adapter: with a proc that has `lost` (the object model's coming
 * contract) it forwards that promise and ignores what it sees itself; without, it derives
 * the outcome from close() and from request failures, first one wins.
 */
import { describe, expect, it } from "vitest";

import { VeoCallError, VeoKernelException, VeoProcessDead, type VeoProc } from "../../src/index.js";
import { LostSignal, type VeoProcLost } from "../../src/device/lost.js";

const fakeProc = (extra: object = {}): VeoProc => ({ nodeid: 0, ...extra }) as unknown as VeoProc;

describe("LostSignal", () => {
  it("forwards proc.lost when the proc has it, and ignores its own notices", async () => {
    let resolve!: (v: VeoProcLost) => void;
    const lost = new Promise<VeoProcLost>((r) => (resolve = r));
    const s = new LostSignal(fakeProc({ lost }));
    expect(s.native).toBe(true);
    s.noticeFailure(new VeoKernelException("x died of SIGSEGV", 11));
    s.destroyed(0);
    resolve({ reason: "signaled", message: "killed", signal: 9 });
    expect(await s.promise).toEqual({ reason: "signaled", message: "killed", signal: 9 });
    expect(s.value).toEqual({ reason: "signaled", message: "killed", signal: 9 });
  });

  it("without proc.lost: a kernel fault is 'fault' with the signal; later events change nothing", async () => {
    const s = new LostSignal(fakeProc());
    expect(s.native).toBe(false);
    expect(s.value).toBeUndefined();
    s.noticeFailure(new VeoCallError("not fatal"));
    s.noticeFailure(new TypeError("not fatal either"));
    expect(s.value).toBeUndefined();
    s.noticeFailure(new VeoKernelException("k died of SIGFPE", 8));
    s.noticeFailure(new VeoProcessDead("dead"));
    s.destroyed(0);
    expect(await s.promise).toEqual({ reason: "fault", message: "k died of SIGFPE", signal: 8 });
  });

  it("without proc.lost: VeoProcessDead is 'exited', close() is 'destroyed'", async () => {
    const a = new LostSignal(fakeProc());
    a.noticeFailure(new VeoProcessDead("the VE process on node 0 has exited"));
    expect(await a.promise).toEqual({ reason: "exited", message: "the VE process on node 0 has exited" });
    const b = new LostSignal(fakeProc());
    b.destroyed(3);
    expect(await b.promise).toEqual({ reason: "destroyed", message: "device 3 was closed" });
  });
});
