/*
 * Turning a device kernel's JS arguments into what the VeoFunction takes, by the declared
 * prototype: a DeviceArray becomes its address; a host TypedArray gets a pool block, is
 * written to it before the call, and (for a non-const pointer) read back after it, all
 * queued on the same context; scalars and VE pointers pass as they are. Every argument is
 * checked before anything is allocated or submitted.
 */
import { describeValue, makeChecker, parseType } from "../ctypes.js";
import { VeoClosedError } from "../errors.js";
import type { VeMemPtr } from "../memory.js";
import { VeMemPtr as VeMemPtrClass } from "../memory.js";
import { OnStack } from "../onstack.js";
import { DeviceArray } from "./array.js";
import { dtypeOf, type HostArray } from "./dtype.js";
import type { KernelSignature } from "./signature.js";
import type { VeDevice } from "./device.js";

/** What a checked argument list needs: the values to call with, and the host arrays to move. */
export interface Marshalled {
  /** Arguments for the VeoFunction (after the context). */
  readonly values: unknown[];
  /** Host arrays to upload: [parameter index, host array]. */
  readonly uploads: ReadonlyArray<readonly [number, HostArray]>;
  /** The DeviceArrays passed (pinned while the call is pending). */
  readonly arrays: readonly DeviceArray[];
}

/** The label of parameter `i`, numbered as in the object model (ctx is argument 0). */
export function argLabel(sig: KernelSignature, i: number): string {
  const p = sig.params[i];
  return `Argument ${i + 1} (${p.name}: ${p.ctype}) of ${sig.proto.name}`;
}

const checkers = new WeakMap<KernelSignature, ReadonlyArray<((v: unknown) => unknown) | null>>();

function scalarCheckers(sig: KernelSignature): ReadonlyArray<((v: unknown) => unknown) | null> {
  let c = checkers.get(sig);
  if (!c) {
    c = sig.params.map((p, i) => (p.pointer ? null : makeChecker(parseType(p.ctype), argLabel(sig, i))));
    checkers.set(sig, c);
  }
  return c;
}

/** Checks every argument against `sig` for a call on `device`; throws TypeError/RangeError naming it. */
export function checkArgs(device: VeDevice, sig: KernelSignature, args: readonly unknown[]): Marshalled {
  const n = sig.params.length;
  if (args.length !== n) {
    throw new TypeError(
      `${sig.proto.name} takes ${n} argument${n === 1 ? "" : "s"} (${sig.text.trim()}), got ${args.length}`,
    );
  }
  const scalar = scalarCheckers(sig);
  const values: unknown[] = new Array(n);
  const uploads: Array<readonly [number, HostArray]> = [];
  const arrays: DeviceArray[] = [];
  for (let i = 0; i < n; i++) {
    const v = args[i];
    const p = sig.params[i];
    const chk = scalar[i];
    if (chk !== null) {
      chk(v);
      values[i] = v;
      continue;
    }
    if (v instanceof DeviceArray) {
      if (v.device !== device) {
        throw new TypeError(
          `${argLabel(sig, i)} is a DeviceArray of node ${v.device.node}, not of node ${device.node}; copy it with copyTo first`,
        );
      }
      if (v.freed) throw new VeoClosedError(`${argLabel(sig, i)}: the DeviceArray was freed`);
      if (p.dtype !== undefined && v.dtype !== p.dtype) {
        throw new TypeError(`${argLabel(sig, i)} must hold ${p.dtype}, got a DeviceArray of ${v.dtype}`);
      }
      values[i] = v.ptr;
      arrays.push(v as DeviceArray);
    } else if (ArrayBuffer.isView(v)) {
      if (p.direction === undefined) {
        throw new TypeError(
          `${argLabel(sig, i)} takes VE pointers only (a pointer to pointers): got a host array`,
        );
      }
      const d = dtypeOf(v);
      if (p.dtype !== undefined && d !== p.dtype) {
        throw new TypeError(
          `${argLabel(sig, i)} must be a host array of ${p.dtype}, got ${d === undefined ? describeValue(v) : `a ${d} array`}`,
        );
      }
      uploads.push([i, v as HostArray]);
    } else if (
      v === null ||
      v instanceof OnStack ||
      typeof v === "bigint" ||
      typeof v === "number" ||
      isVeMemPtr(v)
    ) {
      values[i] = v;
    } else {
      throw new TypeError(
        `${argLabel(sig, i)} must be a DeviceArray, a host TypedArray, a VE pointer or null, got ${describeValue(v)}`,
      );
    }
  }
  return { values, uploads, arrays };
}

function isVeMemPtr(v: unknown): v is VeMemPtr {
  return v instanceof VeMemPtrClass;
}
