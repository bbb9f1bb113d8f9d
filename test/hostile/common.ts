/*
 * What the hostile scenario files (test/hostile/*.ts, run in a child process by
 * test/support/hostile.ts) share: the error assertions, the "proc still usable" check, and
 * the runner that runs the scenarios named on the command line, each on a new proc, printing
 * "ok <name>" for each.
 */
import { VeoProc, type VeoCtxt, type VeoLibrary } from "../../src/index.js";
import { kernel } from "../support/kernels.js";

export type ErrorClass = new (...args: never[]) => Error;

export type Scenario = (proc: VeoProc, lib: VeoLibrary, ctx: VeoCtxt) => Promise<void>;

/** `err` is a `cls` whose message matches `message`; else an Error saying what was wrong. */
function expectError(what: string, err: unknown, cls: ErrorClass, message: RegExp): void {
  if (!(err instanceof cls))
    throw new Error(`${what}: expected ${cls.name}, got ${String(err)}`, { cause: err });
  if (!message.test(err.message)) {
    throw new Error(`${what}: message ${JSON.stringify(err.message)} does not match ${String(message)}`, {
      cause: err,
    });
  }
}

export function expectThrow(what: string, fn: () => unknown, cls: ErrorClass, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expectError(what, err, cls, message);
    return;
  }
  throw new Error(`${what}: did not throw`);
}

export async function expectReject(
  what: string,
  p: PromiseLike<unknown>,
  cls: ErrorClass,
  message: RegExp,
): Promise<void> {
  try {
    await p;
  } catch (err) {
    expectError(what, err, cls, message);
    return;
  }
  throw new Error(`${what}: did not reject`);
}

export function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`${what}: failed`);
}

/** The proc still works: a write/read round trip and a kernel call. */
export async function stillUsable(proc: VeoProc, lib: VeoLibrary, ctx: VeoCtxt): Promise<void> {
  const p = proc.allocMem(16);
  proc.writeMem(p, new BigInt64Array([3n, 4n]));
  const back = new BigInt64Array(2);
  proc.readMem(back, p);
  check("round trip", back[0] === 3n && back[1] === 4n);
  proc.freeMem(p);
  const inc = lib.declare("int add_one(int x)");
  check("kernel call", (await inc(ctx, 41)) === 42);
  check("sync call", inc.callSync(1) === 2);
  check("proc alive", !proc.dead && !proc.destroyed);
}

/** Runs the scenarios named in process.argv, in order, each on a new proc with the basic kernels. */
export async function runScenarios(scenarios: Record<string, Scenario>): Promise<void> {
  const names = process.argv.slice(2);
  for (const name of names) if (!scenarios[name]) throw new Error(`unknown scenario ${name}`);
  for (const name of names) {
    const proc = new VeoProc(0);
    try {
      const lib = proc.loadLibrary(kernel("basic"));
      await scenarios[name](proc, lib, proc.openContext());
    } finally {
      proc.destroy();
    }
    process.stdout.write(`ok ${name}\n`);
  }
}
