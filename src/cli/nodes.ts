/*
 * The node list `veo smi` and `veo info` show: listDevices() from the device layer (real
 * nodes from /sys/class/ve, or the emulator's VEO_EMU_NODES virtual nodes, whichever the
 * library in use has).
 */
import { listDevices, type DeviceInfo } from "../index.js";

export type NodeInfo = DeviceInfo;

/** Every node of the library in use, in node order. */
export function nodeList(): NodeInfo[] {
  return listDevices();
}
