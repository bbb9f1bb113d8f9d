/*
 * What listDevices() reports about a VE node, real or emulated. The shape is the same for
 * both, so code that picks devices does not care which it runs on.
 */

/** VEOS state of the node (sysfs os_state); emulated nodes are always "online". */
export type DeviceState = "online" | "offline" | "initializing" | "terminating" | "unknown";

/** One VE node as listDevices() reports it; real and emulated nodes have the same shape. */
export interface DeviceInfo {
  /** The VE node number, as openDevice() and new VeoProc() take it. */
  node: number;
  /** "ve1" (SX-Aurora TSUBASA 10/20), "ve3" (VE30), or "unknown". */
  arch: "ve1" | "ve3" | "unknown";
  /** True for a virtual node of the host emulator. */
  emulated: boolean;
  /** Memory of the VE (for emulated nodes: the host's). */
  memoryBytes: number | undefined;
  /** Cores of the VE (for emulated nodes: the host's CPUs). */
  cores: number | undefined;
  /** NUMA nodes (2 when the VE is partitioned). */
  numaNodes: number;
  /** Cores of each NUMA node. */
  numaCores: number[];
  /** VEOS state of the node. */
  state: DeviceState;
  /** The VE driver's hardware state (sysfs ve_state), when known. */
  veState: "uninitialized" | "online" | "offline" | "maintenance" | "unavailable" | undefined;
  /** sysfs model/type numbers, when known. */
  model: number | undefined;
  /** sysfs type number, when known. */
  type: number | undefined;
  /** Sensor readings: raw sensor_N values, and derived ones where the layout is known. */
  sensors: {
    /** Every readable sysfs sensor_N value, keyed by its file name ("sensor_8"). */
    raw: Record<string, number>;
    /** The hottest core's temperature in °C (VE1 only). */
    temperatureC?: number;
    /** Supply voltage × current, in watts (VE1 only). */
    powerW?: number;
  };
}
