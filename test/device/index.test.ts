/*
 * The device layer's exports reach users through the package's index.
 */
import { describe, expect, it } from "vitest";

import * as veo from "../../src/index.js";

describe("device exports", () => {
  it("functions and classes", () => {
    for (const name of [
      "listDevices",
      "emulatorNodeCount",
      "openDevice",
      "VeDevice",
      "DeviceModule",
      "DeviceArray",
      "DeviceMemory",
      "DeviceTrace",
      "DevicePool",
      "DevicePoolError",
    ]) {
      expect(typeof (veo as Record<string, unknown>)[name], name).toBe("function");
    }
    expect(veo.DTYPES).toEqual([
      "int8",
      "uint8",
      "int16",
      "uint16",
      "int32",
      "uint32",
      "int64",
      "uint64",
      "float32",
      "float64",
    ]);
    expect(new veo.DevicePoolError([{ status: "rejected", reason: new Error("x") }])).toBeInstanceOf(
      AggregateError,
    );
  });
});
