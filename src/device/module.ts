/*
 * DeviceModule: a VE library loaded into a device (from a path, or compiled from source
 * with VeBuild), XTC's load_module / get_module_function / unload_module. Kernels are
 * declared by prototype, which also says how host arrays move (signature.ts).
 */
import type { VeoLibrary } from "../library.js";
import type { VeDevice } from "./device.js";
import { newDeviceKernel, type DeviceKernel } from "./kernel.js";
import { parseSignature } from "./signature.js";

/** A VE library loaded into one device (device.load / device.compile); declares its kernels. */
export class DeviceModule {
  /** The device the library is loaded into. */
  readonly device: VeDevice;
  /** The object-model library underneath. */
  readonly library: VeoLibrary;
  private readonly kernels = new Map<string, DeviceKernel>();

  /** @internal Use device.load / device.compile. */
  constructor(device: VeDevice, library: VeoLibrary) {
    this.device = device;
    this.library = library;
  }

  /** The path the library was loaded from. */
  get path(): string {
    return this.library.name;
  }

  /**
   * The kernel declared by `prototype`, e.g. "void scale(double *a, long n, double f)".
   * The same prototype returns the same kernel; another prototype for the same name is a
   * TypeError. (Finding the symbol is a call on the main context: it waits for it to be idle.)
   */
  async kernel(prototype: string): Promise<DeviceKernel> {
    this.device._checkOpen("kernel");
    const sig = parseSignature(prototype, "Argument 0 (prototype) of module.kernel");
    const known = this.kernels.get(sig.proto.name);
    if (known) {
      if (known.signature.text === prototype) return known;
      throw new TypeError(
        `Argument 0 (prototype) of module.kernel: ${sig.proto.name} is already declared as "${known.signature.text}"; ` +
          "a module has one prototype per kernel name",
      );
    }
    await this.device._mainIdle();
    this.device._checkOpen("kernel");
    const again = this.kernels.get(sig.proto.name);
    if (again) return this.kernel(prototype);
    const fn = this.library.declare(prototype);
    const k = newDeviceKernel(this.device, fn, sig);
    this.kernels.set(sig.proto.name, k);
    return k;
  }

  /** Unloads the library; its kernels then fail with VeoClosedError. Idempotent. */
  unload(): void {
    if (this.device.closed) return;
    this.library.unload();
  }
}
