/*
 * Proc init hooks (py-veo's set_proc_init_hook): functions run, in registration order, with
 * every newly created VeoProc as the last step of its construction.
 */
import type { VeoProc } from "./proc.js";

/** Called with each new VeoProc (see setProcInitHook). */
export type ProcInitHook = (proc: VeoProc) => void;

const hooks: ProcInitHook[] = [];

/** Registers `hook` to run on every new proc. Registering twice runs it twice. */
export function setProcInitHook(hook: ProcInitHook): void {
  if (typeof hook !== "function") {
    throw new TypeError("Argument 0 (hook) must be a function");
  }
  hooks.push(hook);
}

/** Removes the first registration of `hook`; throws a RangeError if it is not registered. */
export function delProcInitHook(hook: ProcInitHook): void {
  const i = hooks.indexOf(hook);
  if (i < 0) throw new RangeError("Argument 0 (hook) is not a registered proc init hook");
  hooks.splice(i, 1);
}

/** Runs the hooks on `proc` (a hook that throws stops the others and propagates). */
export function runProcInitHooks(proc: VeoProc): void {
  for (const hook of hooks.slice()) hook(proc);
}
