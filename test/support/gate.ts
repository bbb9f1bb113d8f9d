/*
 * A gate on a context: the `gate` kernel (test/kernels/basic.c) blocks the context until the
 * host opens it, so requests submitted behind it cannot start (or fault, or kill the helper)
 * before the test has submitted everything it means to queue. On the proc's main context (the
 * first one opened) a closed gate also blocks VEO's synchronous calls, symbol lookups
 * included: declare what will be queued behind it first.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { OnStack, type VeoCtxt, type VeoLibrary, type VeoRequest } from "../../src/index.js";

export interface Gate {
  /** The gate kernel's request: resolves with 1 once opened (0 if it timed out, 60 s). */
  readonly request: VeoRequest;
  /** Lets the gate kernel, and everything queued behind it, run. */
  open(): void;
  /**
   * Opens it from a child process after `ms`: for a test whose main thread is about to
   * block on the gated context (its timers could not run).
   */
  openAfter(ms: number): void;
}

/** Submits the gate kernel from `lib` (basic.c) on `ctx`; call `open()` after the rest. */
export function closeGate(lib: VeoLibrary, ctx: VeoCtxt): Gate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veo-ts-gate-"));
  const file = path.join(dir, "open");
  const request = lib.declare("int gate(const char *path)")(ctx, new OnStack(Buffer.from(`${file}\0`)));
  // The kernel polls for the file; removing it once the gate has passed keeps /tmp clean.
  const cleanUp = (): void => {
    void Promise.resolve(request)
      .catch(() => undefined)
      .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
  };
  return {
    request,
    open() {
      fs.writeFileSync(file, "");
      cleanUp();
    },
    openAfter(ms) {
      const script = `setTimeout(() => require("fs").writeFileSync(${JSON.stringify(file)}, ""), ${ms})`;
      spawn(process.execPath, ["-e", script], { stdio: "ignore" }).unref();
      cleanUp();
    },
  };
}
