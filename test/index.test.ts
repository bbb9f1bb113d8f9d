/*
 * The public surface: every documented export exists, constants have the C values.
 */
import { describe, expect, it } from "vitest";

import * as veo from "../src/index.js";

describe("veo-ts exports", () => {
  it("classes, functions and errors", () => {
    for (const name of [
      "VeoProc",
      "VeoCtxt",
      "VeoLibrary",
      "VeoFunction",
      "VeoRequest",
      "VeMemPtr",
      "OnStack",
      "setProcInitHook",
      "delProcInitHook",
      "veoVersion",
      "veoApiVersion",
      "getVeArch",
      "veoCapabilities",
      "loadVeo",
      "parseType",
      "parsePrototype",
      "decodeResult",
      "VeoError",
      "VeoLibraryNotFound",
      "VeoFailedError",
      "VeoCallError",
      "VeoKernelException",
      "VeoProcessDead",
      "VeoClosedError",
      "VeoBusyError",
      "VeBuildError",
      "VeoUnsupported",
      "VeoDeadlockError",
    ]) {
      expect(typeof (veo as Record<string, unknown>)[name], name).toBe("function");
    }
  });

  it("constants carry the C enum values (INOUT is 1, OUT is 2)", () => {
    expect(veo.Intent).toEqual({ IN: 0, INOUT: 1, OUT: 2 });
    expect(veo.STACK_ARGS_MAX).toBe(63 * 1024 * 1024);
    expect(veo.CommandState).toEqual({ OK: 0, EXCEPTION: 1, ERROR: 2, UNFINISHED: 3 });
    expect(veo.ContextState).toEqual({ UNKNOWN: 0, RUNNING: 1, SYSCALL: 2, BLOCKED: 3, EXIT: 4 });
    expect(Object.isFrozen(veo.Intent)).toBe(true);
  });

  it("errors are VeoErrors with codes", () => {
    const e = new veo.VeoKernelException("x", 11);
    expect(e).toBeInstanceOf(veo.VeoError);
    expect(e.signal).toBe(11);
    expect(e.name).toBe("VeoKernelException");
    expect(new veo.VeoProcessDead("x").code).toBe("VEO_PROCESS_DEAD");
    expect(new veo.VeoClosedError("x").code).toBe("VEO_CLOSED");
    const u = new veo.VeoUnsupported("veo_alloc_mem_async", 14, "x");
    expect(u).toBeInstanceOf(veo.VeoError);
    expect([u.code, u.function, u.sinceApi, u.name]).toEqual([
      "VEO_UNSUPPORTED",
      "veo_alloc_mem_async",
      14,
      "VeoUnsupported",
    ]);
    expect(new veo.VeoDeadlockError("x").code).toBe("VEO_DEADLOCK");
  });
});
