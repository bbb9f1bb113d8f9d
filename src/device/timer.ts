/*
 * The device-side timer of the evaluator: a tiny C function, generated from the kernel's
 * declared prototype and built with VeBuild next to it, that calls the kernel `number`
 * times through its address and returns the elapsed nanoseconds (CLOCK_MONOTONIC on the
 * VE). Offload latency is therefore not in the figure. The kernel is reached by address,
 * so a kernel of a prebuilt library can be timed too; when no timer can be built (no
 * compiler, too many arguments) the evaluator times on the host and says so.
 */
import { createHash } from "node:crypto";

import type { VeoFunction } from "../function.js";
import type { VeDevice } from "./device.js";
import type { KernelSignature } from "./signature.js";

/** The C source of the timer for `sig`, and the timer's name. */
export function timerSource(sig: KernelSignature): { name: string; source: string } {
  const hash = createHash("sha256")
    .update(sig.proto.ret.name)
    .update(sig.params.map((p) => p.ctype).join(","))
    .digest("hex")
    .slice(0, 12);
  const name = `veots_timeit_${hash}`;
  const types = sig.params.map((p) => (p.pointer ? "void *" : p.ctype));
  const params = types.map((t, i) => `${t} a${i}`);
  const fnType = `${sig.proto.ret.name === "void" ? "void" : sig.proto.ret.kind === "ptr" ? "void *" : sig.proto.ret.name} (*)(${types.length ? types.join(", ") : "void"})`;
  const call = `((${fnType})(uintptr_t)fn)(${types.map((_, i) => `a${i}`).join(", ")})`;
  const source = [
    "/* veo-ts evaluator: runs a kernel `number` times by address, returns nanoseconds. */",
    "#include <stddef.h>",
    "#include <stdint.h>",
    "#include <sys/types.h>",
    "#include <time.h>",
    "",
    `uint64_t ${name}(${["uint64_t fn", "uint64_t number", ...params].join(", ")})`,
    "{",
    "  struct timespec t0, t1;",
    "  clock_gettime(CLOCK_MONOTONIC, &t0);",
    `  for (uint64_t i = 0; i < number; i++) ${call};`,
    "  clock_gettime(CLOCK_MONOTONIC, &t1);",
    "  return (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0.tv_nsec);",
    "}",
    "",
  ].join("\n");
  return { name, source };
}

/**
 * The timer function for `sig` on `device` (built once per prototype and device), or a
 * string saying why there is none.
 */
export function deviceTimer(
  device: VeDevice,
  sig: KernelSignature,
  maxArgs: number,
): Promise<VeoFunction | string> {
  const key = sig.proto.ret.name + "(" + sig.params.map((p) => p.ctype).join(",") + ")";
  let t = device._timers.get(key);
  if (!t) {
    t = buildTimer(device, sig, maxArgs);
    device._timers.set(key, t);
  }
  return t;
}

async function buildTimer(
  device: VeDevice,
  sig: KernelSignature,
  maxArgs: number,
): Promise<VeoFunction | string> {
  if (sig.params.length + 2 > maxArgs) {
    return `the kernel's ${sig.params.length} arguments leave no room for the timer's two (maximum ${maxArgs})`;
  }
  const { name, source } = timerSource(sig);
  try {
    const lib = await device._loadSource(source, { label: name }, "evaluate");
    await device._mainIdle();
    return lib.declare(
      `unsigned long ${name}(${["unsigned long fn", "unsigned long number", ...sig.params.map((p, i) => `${p.ctype} a${i}`)].join(", ")})`,
    );
  } catch (err) {
    return `no device-side timer could be built (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
  }
}
