/*
 * Checking what users hand to VeBuild before anything touches the disk: labels become file
 * names, so they must not be paths or options; flags may be given as a string (py-veo style)
 * or an argv array, and become argv arrays here, without any shell.
 */

/** A label names files (`<label>.c`, `<label>.o`, `<label>.so`) and nothing else. */
const LABEL_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

export function checkLabel(label: unknown, what = "label"): string {
  if (typeof label !== "string") {
    throw new TypeError(`${what} must be a string, got ${describe(label)}`);
  }
  if (!LABEL_RE.test(label) || label.includes("..")) {
    throw new TypeError(
      `${what} ${JSON.stringify(label)} is not a valid label: use 1-128 characters from ` +
        `[A-Za-z0-9_.+-], not starting with "-" or ".", without "/" or ".."`,
    );
  }
  return label;
}

export function checkSource(source: unknown, what = "source"): string {
  if (typeof source !== "string") {
    throw new TypeError(`${what} must be a string of source code, got ${describe(source)}`);
  }
  return source;
}

/** Compiler flags: an argv array, or one string split on whitespace. */
export type Flags = string | readonly string[];

/**
 * Flags as an argv array. A string is split the way a POSIX shell splits words (quotes and
 * backslashes), without expanding anything: `-DMSG="a b"` is one argument `-DMSG=a b`.
 */
export function toArgv(flags: Flags | undefined, what: string): string[] | undefined {
  if (flags === undefined) return undefined;
  if (typeof flags === "string") return splitWords(flags, what);
  if (Array.isArray(flags) && flags.every((f) => typeof f === "string")) return [...flags];
  throw new TypeError(`${what} must be a string or an array of strings, got ${describe(flags)}`);
}

export function checkStringArray(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return [...value];
  throw new TypeError(`${what} must be an array of strings, got ${describe(value)}`);
}

export function splitWords(text: string, what = "flags"): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new TypeError(`${what}: unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array with a non-string element";
  return typeof v;
}

/**
 * A copy of an option bag's own enumerable properties on a null prototype (each read once),
 * so that nothing is read through a polluted Object.prototype: a `compiler` or `flags` added
 * there must not become what VeBuild runs. Non-objects are returned as they are, for the
 * caller's own check to name.
 */
export function ownBag<T>(opts: T): T {
  if (opts === null || typeof opts !== "object") return opts;
  return Object.assign(Object.create(null) as object, opts);
}
