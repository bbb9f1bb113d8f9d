/*
 * Proc lifetime bookkeeping: which procs are alive, the exit hook that destroys them when
 * Node exits, and a FinalizationRegistry as the safety net for a proc dropped without
 * destroy(). VeoProc registers itself here on creation and unregisters in destroy().
 */
import type { ProcHandle, VeoApi } from "./native/api.js";

/** What must happen to a proc's native handle if its VeoProc is never destroyed. */
export interface Teardown {
  api: VeoApi;
  handle: ProcHandle;
  done: boolean;
  ref?: WeakRef<Destroyable>;
}

/** The part of a VeoProc this module needs. */
export interface Destroyable {
  destroy(): void;
}

const finalizer = new FinalizationRegistry<Teardown>((t) => {
  if (t.ref) live.delete(t.ref);
  if (t.done) return;
  t.done = true;
  try {
    t.api.veo_proc_destroy(t.handle);
  } catch {
    /* best effort */
  }
});

const live = new Set<WeakRef<Destroyable>>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const ref of [...live]) {
      try {
        ref.deref()?.destroy();
      } catch {
        /* exiting anyway */
      }
    }
  });
}

/** Starts tracking `proc`: destroyed at exit, its handle destroyed if it is collected alive. */
export function trackProc(proc: Destroyable, api: VeoApi, handle: ProcHandle): Teardown {
  const teardown: Teardown = { api, handle, done: false };
  finalizer.register(proc, teardown, teardown);
  teardown.ref = new WeakRef(proc);
  live.add(teardown.ref);
  installExitHook();
  return teardown;
}

/** Stops tracking: the caller destroys the handle itself, now. */
export function untrackProc(teardown: Teardown): void {
  if (teardown.ref) live.delete(teardown.ref);
  finalizer.unregister(teardown);
  teardown.done = true;
}
