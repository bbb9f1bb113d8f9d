/*
 * device.lost: a promise that resolves once, with why the device's VE process ended.
 * The object model is getting `proc.lost` with this exact contract; until a proc has it,
 * this adapter derives the same answer from what the device sees: close() ("destroyed"),
 * a kernel that died of a signal ("fault"), or a request that found the process gone
 * ("exited"). When `proc.lost` exists it is used as is and the adapter only forwards it.
 */
import { VeoKernelException, VeoProcessDead } from "../errors.js";
import type { VeoProc } from "../proc.js";

/**
 * Why a VE process ended: exactly what VeoProc#lost resolves with.
 * @inline
 */
export type VeoProcLost = Awaited<VeoProc["lost"]>;

export class LostSignal {
  readonly promise: Promise<VeoProcLost>;
  private resolve: ((v: VeoProcLost) => void) | undefined;
  /** True when the proc reports its own end (proc.lost exists). */
  readonly native: boolean;
  private settled: VeoProcLost | undefined;

  constructor(proc: VeoProc) {
    const own = (proc as { lost?: unknown }).lost;
    if (own instanceof Promise) {
      this.native = true;
      this.promise = (own as Promise<VeoProcLost>).then((v) => (this.settled = v));
      return;
    }
    this.native = false;
    this.promise = new Promise<VeoProcLost>((res) => (this.resolve = res));
  }

  /** The outcome once known (undefined while the device lives). */
  get value(): VeoProcLost | undefined {
    return this.settled;
  }

  /** The device closed it. */
  destroyed(node: number): void {
    this.settle({ reason: "destroyed", message: `device ${node} was closed` });
  }

  /** A request failed: if the failure says the process is gone, that is the end. */
  noticeFailure(err: unknown): void {
    if (err instanceof VeoKernelException) {
      this.settle({ reason: "fault", message: err.message, signal: err.signal });
    } else if (err instanceof VeoProcessDead) {
      this.settle({ reason: "exited", message: err.message });
    }
  }

  private settle(v: VeoProcLost): void {
    if (this.native || this.resolve === undefined) return;
    this.settled = v;
    const r = this.resolve;
    this.resolve = undefined;
    r(v);
  }
}

/** What device.lost resolves with. */
export type DeviceLost = VeoProcLost;
