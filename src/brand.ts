/*
 * Defences of the object model against a hostile (or careless) caller: what a method says
 * when it is called on something that is not a genuine instance, how the internal fields
 * of an instance are made immutable, and how option bags are read (own properties only, so
 * a polluted Object.prototype changes nothing). Every public class holding a native handle
 * uses these; see docs/api.md, "Misuse".
 */
import { describeValue } from "./ctypes.js";
import { MINT } from "./slots.js";

/**
 * @internal Refuses a construction by user code: `mint` is MINT only when veo-ts itself
 * constructs a `cls` (`how` tells the user what makes one instead).
 */
export function requireMint(mint: unknown, cls: string, how: string): void {
  if (mint !== MINT) throw new TypeError(`${cls} cannot be constructed directly; ${how}`);
}

/** @internal The TypeError for `Cls.prototype.method.call(notAnInstance)`. */
export function notGenuine(cls: string, method: string, how: string): TypeError {
  return new TypeError(
    `${cls}.prototype.${method} was called on an object that is not a genuine ${cls} (${how})`,
  );
}

/**
 * @internal Makes the named own data properties of `obj` read-only and non-configurable:
 * neither assignment nor Object.defineProperty can change what the binding hands to C.
 */
export function lockFields(obj: object, names: readonly string[]): void {
  for (const name of names) Object.defineProperty(obj, name, { writable: false, configurable: false });
}

/**
 * @internal Copies the members `names` of `proto` onto `obj` as non-configurable own
 * properties (methods read-only, getters without setter). The binding calls these on its
 * objects; shadowing one (Object.defineProperty on the instance) could make it believe, say,
 * that a destroyed proc is alive.
 */
export function lockMembers(obj: object, proto: object, names: readonly string[]): void {
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d === undefined) throw new Error(`internal: the prototype has no ${name}`);
    d.configurable = false;
    if ("value" in d) d.writable = false;
    Object.defineProperty(obj, name, d);
  }
}

/**
 * @internal Refuses a subclass (prototype `sub`) that overrides one of the members `names`
 * of `cls`'s prototype `proto`: veo-ts relies on them (a TypeError naming the member).
 */
export function refuseOverrides(sub: object, proto: object, names: readonly string[], cls: string): void {
  for (let p: object | null = sub; p !== null && p !== proto; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of names) {
      if (Object.hasOwn(p, name)) {
        throw new TypeError(
          `A subclass of ${cls} may not override ${name}: veo-ts relies on ${cls}'s own ${name}`,
        );
      }
    }
  }
}

/** @internal The names of `proto`'s own members starting with "_" (the internal ones). */
export function internalNames(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => n.startsWith("_"));
}

/**
 * @internal Reads the option bag `options` as its own properties `keys` only (inherited
 * values, e.g. from a polluted Object.prototype, are ignored): each is read once, so a
 * getter cannot answer differently between the check and the use. `undefined` is an empty
 * bag; anything but an object is a TypeError naming `label`.
 */
export function ownOptions<K extends string>(
  options: unknown,
  keys: readonly K[],
  label: string,
): { [P in K]?: unknown } {
  const out = Object.create(null) as { [P in K]?: unknown };
  if (options === undefined) return out;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${label} must be an object, got ${describeValue(options)}`);
  }
  for (const k of keys) if (Object.hasOwn(options, k)) out[k] = (options as Record<string, unknown>)[k];
  return out;
}
