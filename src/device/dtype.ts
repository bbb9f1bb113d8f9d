/*
 * Element types of device arrays: a dtype name, the TypedArray that holds it on the host,
 * and the C types a kernel prototype may use for it. One table, so that checking a host
 * array against a declared `const double *` and allocating `device.empty("float64", n)`
 * agree.
 */
import { describeValue } from "../ctypes.js";

/** The element type of a device array. */
export type DType =
  "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float32" | "float64";

/** The host TypedArray of each dtype. */
export interface HostArrayOf {
  /** For C `char`, `int8_t`. */
  int8: Int8Array;
  /** For C `unsigned char`, `uint8_t`. */
  uint8: Uint8Array;
  /** For C `short`, `int16_t`. */
  int16: Int16Array;
  /** For C `unsigned short`, `uint16_t`. */
  uint16: Uint16Array;
  /** For C `int`, `int32_t`. */
  int32: Int32Array;
  /** For C `unsigned int`, `uint32_t`. */
  uint32: Uint32Array;
  /** For C `long`, `int64_t`, `ssize_t`, `ptrdiff_t`, `intptr_t`. */
  int64: BigInt64Array;
  /** For C `unsigned long`, `uint64_t`, `size_t`, `uintptr_t`. */
  uint64: BigUint64Array;
  /** For C `float`. */
  float32: Float32Array;
  /** For C `double`. */
  float64: Float64Array;
}

/** Any host array a DeviceArray can be made from or read into. */
export type HostArray = HostArrayOf[DType];

type Ctor = { new (n: number): HostArray; readonly BYTES_PER_ELEMENT: number };

interface DTypeInfo {
  readonly ctor: Ctor;
  /** Canonical C type names (as parseType spells them) a pointer to this dtype may use. */
  readonly ctypes: readonly string[];
}

const TABLE: Readonly<Record<DType, DTypeInfo>> = {
  int8: { ctor: Int8Array, ctypes: ["char", "int8_t"] },
  uint8: { ctor: Uint8Array, ctypes: ["unsigned char", "uint8_t"] },
  int16: { ctor: Int16Array, ctypes: ["short", "int16_t"] },
  uint16: { ctor: Uint16Array, ctypes: ["unsigned short", "uint16_t"] },
  int32: { ctor: Int32Array, ctypes: ["int", "int32_t"] },
  uint32: { ctor: Uint32Array, ctypes: ["unsigned int", "uint32_t"] },
  int64: { ctor: BigInt64Array, ctypes: ["long", "int64_t", "ssize_t", "ptrdiff_t", "intptr_t"] },
  uint64: { ctor: BigUint64Array, ctypes: ["unsigned long", "uint64_t", "size_t", "uintptr_t"] },
  float32: { ctor: Float32Array, ctypes: ["float"] },
  float64: { ctor: Float64Array, ctypes: ["double"] },
};

/** Every DType name. */
export const DTYPES = Object.keys(TABLE) as readonly DType[];

/** Bytes per element of `dtype`. */
export function itemSize(dtype: DType): number {
  return TABLE[dtype].ctor.BYTES_PER_ELEMENT;
}

/** A new zeroed host array of `dtype`. */
export function newHostArray<D extends DType>(dtype: D, length: number): HostArrayOf[D] {
  return new TABLE[dtype].ctor(length) as HostArrayOf[D];
}

/** Checks a dtype argument; `label` names it in the TypeError. */
export function checkDType(v: unknown, label: string): DType {
  if (typeof v === "string" && Object.hasOwn(TABLE, v)) return v as DType;
  throw new TypeError(`${label} must be one of ${DTYPES.join(", ")}, got ${describeValue(v)}`);
}

/** The dtype of a host TypedArray, or undefined for anything else (DataView, Buffer is uint8). */
export function dtypeOf(v: unknown): DType | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return undefined;
  for (const d of DTYPES) if (v instanceof TABLE[d].ctor) return d;
  return undefined;
}

/**
 * The dtype a C pointee type names ("double" → float64), or undefined when any element
 * type fits (void, char-sized byte buffers are checked by the caller).
 */
export function dtypeOfCType(pointee: string): DType | undefined {
  for (const d of DTYPES) if (TABLE[d].ctypes.includes(pointee)) return d;
  return undefined;
}

/** The dtype of a host array type. */
export type DTypeOf<A> = A extends Int8Array
  ? "int8"
  : A extends Uint8Array
    ? "uint8"
    : A extends Int16Array
      ? "int16"
      : A extends Uint16Array
        ? "uint16"
        : A extends Int32Array
          ? "int32"
          : A extends Uint32Array
            ? "uint32"
            : A extends BigInt64Array
              ? "int64"
              : A extends BigUint64Array
                ? "uint64"
                : A extends Float32Array
                  ? "float32"
                  : "float64";
