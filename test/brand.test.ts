/*
 * src/brand.ts and the guarantees it backs (docs/api.md, "Misuse"): every public class of the
 * object model refuses forged receivers, keeps what it hands to C out of the user's reach,
 * and survives user code that tears things down in the middle of a call. The hostile
 * scenarios run in a child process (test/hostile/objects.ts): before these defences, several
 * crashed Node.
 */
import { describe, expect, it } from "vitest";

import { lockFields, lockMembers, ownOptions, refuseOverrides } from "../src/brand.js";
import { expectHostileOk } from "./support/hostile.js";

describe("brand helpers", () => {
  it("ownOptions reads own properties once, ignores inherited ones, names a non-object", () => {
    let reads = 0;
    const bag = Object.create({ size: 99, intent: 2 }) as Record<string, unknown>;
    Object.defineProperty(bag, "size", { get: () => ++reads, enumerable: true });
    const o = ownOptions(bag, ["size", "intent"], "Argument 1 (options) of X");
    expect(o).toEqual({ size: 1 });
    expect(reads).toBe(1);
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(ownOptions(undefined, ["size"], "x")).toEqual({});
    expect(() => ownOptions(null, ["size"], "Argument 1 (options) of X")).toThrow(
      /^Argument 1 \(options\) of X must be an object, got null/,
    );
  });

  it("lockFields and lockMembers make fields and members immutable and unshadowable", () => {
    class A {
      h = 1;
      get _alive(): boolean {
        return true;
      }
      _check(): string {
        return "real";
      }
    }
    const a = new A();
    lockFields(a, ["h"]);
    lockMembers(a, A.prototype, ["_alive", "_check"]);
    expect(() => ((a as { h: number }).h = 2)).toThrow(TypeError);
    expect(() => Object.defineProperty(a, "_check", { value: () => "fake" })).toThrow(TypeError);
    expect(() => Object.defineProperty(a, "_alive", { get: () => false })).toThrow(TypeError);
    expect(a._check()).toBe("real");
    class B extends A {
      override _check(): string {
        return "fake";
      }
    }
    expect(() => refuseOverrides(B.prototype, A.prototype, ["_alive", "_check"], "A")).toThrow(
      /^A subclass of A may not override _check/,
    );
    class C extends A {
      extra(): number {
        return 1;
      }
    }
    expect(() => refuseOverrides(C.prototype, A.prototype, ["_alive", "_check"], "A")).not.toThrow();
  });
});

describe("hostile use of the object model (child process)", () => {
  const cases: Array<[title: string, scenario: string]> = [
    [
      "forged receivers and hand-made instances of every class are TypeErrors naming the method",
      "forged-receivers",
    ],
    [
      "overwriting or redefining internals is refused; a destroyed proc cannot be revived",
      "overwritten-internals",
    ],
    ["no property of any object reaches the C function table or a VEO handle", "no-c-reachable"],
    ["properties defined on a request cannot stop it or its context settling", "shadowed-requests"],
    [
      "internal methods called with garbage on genuine objects neither crash nor hang Node",
      "internal-methods",
    ],
    ["subclasses may add members but not override what veo-ts relies on", "subclasses"],
    ["objects of another (or a destroyed) proc are refused by name", "wrong-proc"],
    [
      "arguments are never coerced; traps and option getters that tear things down are caught",
      "reentrant-arguments",
    ],
    ["destroy/close/unload/freeMem from callVh, hook listeners and then callbacks", "reentrant-callbacks"],
    ["huge, negative, NaN, fractional, non-number and out-of-range sizes name the argument", "sizes"],
    ["frozen and sealed objects keep working", "frozen-objects"],
    ["a polluted Object.prototype changes no option", "polluted-prototypes"],
  ];
  for (const [title, scenario] of cases) it(title, () => expectHostileOk("objects", scenario));
});
