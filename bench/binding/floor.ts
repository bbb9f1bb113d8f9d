/*
 * V8's floor under the forms of Test 1: the same loops as calls.ts's `wait`, `await` and
 * `all`, with no FFI at all, over objects that are settled from the start. What is left is
 * V8's own cost per element (the object, the thenable job or promise reaction, the
 * microtask, the scavenger with N of them alive), which no binding that hands out one
 * object per request can go below. Run by calls.ts in the binding client's process, after
 * the binding's own forms, so it sees the same Node, flags and machine.
 *
 *   wait        N objects of a VeoRequest's size kept in the array, then each given its
 *               result (a bigint, as a uint64_t kernel's), as wait() does
 *   await       N thenables, then `await` each
 *   all         N thenables, then `await Promise.all(items)`
 *   all-native  N `Promise.resolve(i)`, then `await Promise.all(items)`
 */
import { nowUs } from "./io.js";

/** A finished request without the request: then() calls its resolver at once. */
class Ready {
  constructor(private readonly value: number) {}

  then(resolve: (value: number) => void): void {
    resolve(this.value);
  }
}

/** Six fields, as a VeoRequest has; the outcome is stored as wait() stores it. */
class Held {
  ctx = null;
  _state = 0;
  _value: unknown = undefined;
  _call = null;
  _deferred = undefined;
  constructor(readonly id: number) {}
}

/** Where a result comes from, as from the binding's result register: a new bigint per read. */
const register = new BigUint64Array([7n]);

type FloorForm = (n: number, items: unknown[]) => void | Promise<void>;

export const floorForms: Record<string, FloorForm> = {
  wait: (n, items) => {
    for (let i = 0; i < n; i++) items[i] = new Held(i);
    for (let i = 0; i < n; i++) {
      const h = items[i] as Held;
      h._state = 1;
      h._value = register[0];
    }
  },
  await: async (n, items) => {
    for (let i = 0; i < n; i++) items[i] = new Ready(i);
    for (let i = 0; i < n; i++) await items[i];
  },
  all: async (n, items) => {
    for (let i = 0; i < n; i++) items[i] = new Ready(i);
    await Promise.all(n === items.length ? items : items.slice(0, n));
  },
  "all-native": async (n, items) => {
    for (let i = 0; i < n; i++) items[i] = Promise.resolve(i);
    await Promise.all(n === items.length ? items : items.slice(0, n));
  },
};

/** Runs `batches` batches of N elements and returns the time spent in them (µs). */
export async function runFloorBatches(
  form: FloorForm,
  n: number,
  batches: number,
  items: unknown[],
): Promise<number> {
  let spent = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = nowUs();
    const pending = form(n, items);
    if (pending) await pending;
    spent += nowUs() - t0;
  }
  return spent;
}
