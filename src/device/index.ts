/*
 * The device layer's public surface (XTC's runtime shape over the object model): list and
 * open VE nodes, modules and kernels, device arrays and the memory pool, the evaluator,
 * pools over several devices, traces.
 */
export { listDevices, emulatorNodeCount, type ListDevicesOptions } from "./list.js";
export type { DeviceInfo, DeviceState } from "./info.js";
export { VeDevice } from "./device.js";
export { openDevice, type OpenDeviceOptions } from "./open.js";
export { DeviceModule } from "./module.js";
export type { DeviceKernel } from "./kernel.js";
export { DeviceArray } from "./array.js";
export { DTYPES, type DType, type DTypeOf, type HostArray, type HostArrayOf } from "./dtype.js";
export { DeviceMemory, type MemoryStats } from "./memory-pool.js";
export type { EvaluateOptions, EvaluateResult } from "./evaluate.js";
export { DeviceTrace, type TraceEvent, type TraceKind } from "./trace.js";
export type { DeviceLost } from "./lost.js";
export type { KernelSignature, ParamInfo, Direction } from "./signature.js";
export {
  DevicePool,
  DevicePoolError,
  type PoolSlot,
  type PoolKernel,
  type PoolModule,
  type OpenPoolOptions,
  type MapOptions,
} from "./pool.js";
