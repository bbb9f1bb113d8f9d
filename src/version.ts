/*
 * Module-level queries of the loaded VEO library (py-veo's module functions).
 */
import { describeValue } from "./ctypes.js";
import { VeoFailedError } from "./errors.js";
import {
  capabilities,
  getNative,
  requireFunction,
  type LoadVeoOptions,
  type VeoCapabilities,
} from "./native/library.js";

/** veo_version_string() of the loaded library ("" if it does not export it). */
export function veoVersion(): string {
  return getNative().info.version;
}

/** veo_api_version() of the loaded library (16 for AVEO 3 and the emulator). */
export function veoApiVersion(): number {
  return getNative().info.apiVersion;
}

/**
 * What the loaded library offers: its API version and the optional VEO functions it has and
 * lacks (each with the API version that introduced it). Methods that need a missing one
 * throw VeoUnsupported. `options.library` asks about a given library instead (see loadVeo).
 */
export function veoCapabilities(options: LoadVeoOptions = {}): VeoCapabilities {
  return capabilities(getNative(options));
}

/** veo_get_ve_arch(node): 1 (VE1), 3 (VE3); throws if the library cannot tell. */
export function getVeArch(node: number): number {
  if (typeof node !== "number" || !Number.isInteger(node) || node < -1 || node > 0x7fffffff) {
    throw new RangeError(
      `Argument 0 (node) of getVeArch must be a VE node number, got ${describeValue(node)}`,
    );
  }
  const arch = requireFunction(getNative(), "veo_get_ve_arch")(node);
  if (arch <= 0) throw new VeoFailedError("veo_get_ve_arch", `veo_get_ve_arch(${node}) failed (${arch})`);
  return arch;
}
