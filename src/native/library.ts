/*
 * Finding and loading libveo, in the order DESIGN.md fixes: an explicit path, VEO_LIBRARY,
 * the real library when VE nodes exist, the host emulator (unless VEO_EMULATOR=0), else a
 * VeoLibraryNotFound listing every candidate and why it was rejected. A library is loaded
 * once per path and kept for the life of the process (unloading libveo under live procs
 * would crash).
 */
import * as fs from "node:fs";

import { VeoLibraryNotFound, VeoUnsupported } from "../errors.js";
import { API_FUNCTIONS, API_SINCE, bindApi, openLibrary, type VeoApi } from "./api.js";
import { bindLibc } from "./libc.js";
import {
  ensureEmulator,
  ensureEmulatorAsync,
  isCacheDirError,
  type EmulatorBuild,
} from "./emulator-build.js";

/** Which kind of libveo is loaded. */
export type VeoLibraryKind = "aveo" | "veo1" | "emulator";

/** Which library was chosen, and why. */
export interface VeoLibraryInfo {
  /** Path (or loader name) the library was loaded from. */
  path: string;
  /** `emulator` (veo-ts host emulator), `aveo` (API >= 7) or `veo1` (VEO 1.x, API < 7). */
  kind: VeoLibraryKind;
  /** Why this library was chosen. */
  reason: string;
  /** `veo_api_version()`. */
  apiVersion: number;
  /** `veo_version_string()`, or "" when the library does not export it. */
  version: string;
}

/** Options of loadVeo(). */
export interface LoadVeoOptions {
  /** Path of the library to load; skips discovery. */
  library?: string;
}

/** A loaded libveo: its functions and what it is. */
export interface VeoNative {
  readonly api: VeoApi;
  readonly info: VeoLibraryInfo;
  /** VEO_MAX_NUM_ARGS of this library's API: 256 (AVEO), 32 (VEO 1.x). */
  readonly maxArgs: number;
}

/** The error for an optional function the library lacks (see requireFunction). */
export function unsupported(native: VeoNative, name: keyof VeoApi): VeoUnsupported {
  const since = API_SINCE.get(name) ?? -1;
  const { apiVersion, path } = native.info;
  const why =
    since > apiVersion
      ? `it was introduced in VEO API ${since} and this library implements API ${apiVersion}`
      : `this library (API ${apiVersion}) does not export it`;
  return new VeoUnsupported(
    name,
    since,
    `${name} is not available: ${why} (${path}). See veoCapabilities() for what is missing.`,
  );
}

/**
 * `native.api[name]` for an optional function (newer API, or VEO 1.x lacks it); throws
 * VeoUnsupported naming it and the API version that introduced it when absent.
 */
export function requireFunction<K extends keyof VeoApi>(native: VeoNative, name: K): NonNullable<VeoApi[K]> {
  const f = native.api[name];
  if (!f) throw unsupported(native, name);
  return f;
}

/** What the loaded library offers, as veoCapabilities() reports it. */
export interface VeoCapabilities {
  /** `veo_api_version()` of the library. */
  readonly apiVersion: number;
  /** `veo_version_string()`, or "" when the library does not export it. */
  readonly version: string;
  /** `emulator`, `aveo` or `veo1`. */
  readonly kind: VeoLibraryKind;
  /** The optional VEO functions (not emulator extensions) the library has. */
  readonly available: readonly string[];
  /**
   * The optional VEO functions it lacks, each with the API version that introduced it;
   * calling a method that needs one throws VeoUnsupported.
   */
  readonly missing: ReadonlyArray<{
    /** The C function's name. */
    readonly function: string;
    /** The API version that introduced it. */
    readonly sinceApi: number;
  }>;
}

/** The capability report of a loaded library. */
export function capabilities(native: VeoNative): VeoCapabilities {
  const available: string[] = [];
  const missing: Array<{ function: string; sinceApi: number }> = [];
  for (const name of API_FUNCTIONS) {
    const since = API_SINCE.get(name) ?? -1;
    if (since <= 0) continue;
    if (native.api[name as keyof VeoApi]) available.push(name);
    else missing.push(Object.freeze({ function: name, sinceApi: since }));
  }
  return Object.freeze({
    apiVersion: native.info.apiVersion,
    version: native.info.version,
    kind: native.info.kind,
    available: Object.freeze(available),
    missing: Object.freeze(missing),
  });
}

/**
 * The address of the library's own function `name` (a VEO hook key is the address of an API
 * function as the library sees it), or 0.
 */
export function functionAddress(native: VeoNative, name: string): number {
  const libc = bindLibc();
  const h = libc.dlopenLoaded(native.info.path);
  return h === 0 ? 0 : libc.dlsym(h, name);
}

const REAL_DIR = "/opt/nec/ve/veos/lib64";
const REAL_NAMES = ["libveo.so.1", "libveo.so", "libaveoVH.so"];

const byPath = new Map<string, VeoNative>();
let discovered: VeoNative | undefined;

function load(path: string, reason: string): VeoNative {
  const cached = byPath.get(path);
  if (cached) return cached;
  const lib = openLibrary(path);
  const { api, apiVersion } = bindApi(lib);
  const isEmulator = api.veo_emu_is_emulator !== undefined && api.veo_emu_is_emulator() === 1;
  const kind: VeoLibraryKind = isEmulator ? "emulator" : apiVersion < 7 ? "veo1" : "aveo";
  const version = api.veo_version_string?.() ?? "";
  const native: VeoNative = {
    api,
    info: Object.freeze({ path, kind, reason, apiVersion, version }),
    maxArgs: apiVersion < 7 ? 32 : 256,
  };
  byPath.set(path, native);
  return native;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function veNodes(): string[] {
  try {
    return fs
      .readdirSync("/sys/class/ve")
      .filter((n) => /^ve\d+$/.test(n))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Returns the library for `options.library` if given, else the discovered default (found
 * once per process). Throws VeoLibraryNotFound. May build the emulator, blocking.
 */
export function getNative(options: LoadVeoOptions = {}): VeoNative {
  // An own property only: a polluted Object.prototype must not choose the library.
  const library = Object.hasOwn(options, "library") ? options.library : undefined;
  if (library !== undefined) return loadExplicit(library);
  discovered ??= finishDiscovery(discoverReal(), () => {
    try {
      return { build: ensureEmulator() };
    } catch (err) {
      return { error: err };
    }
  });
  return discovered;
}

/** As getNative(), but an emulator build runs without blocking the event loop. */
export async function getNativeAsync(options: LoadVeoOptions = {}): Promise<VeoNative> {
  if ((Object.hasOwn(options, "library") && options.library !== undefined) || discovered) {
    return getNative(options);
  }
  const found = discoverReal();
  let attempt: EmulatorAttempt | undefined;
  if (found.native === undefined && emulatorEnabled()) {
    attempt = await ensureEmulatorAsync().then(
      (build) => ({ build }),
      (err: unknown) => ({ error: err }),
    );
  }
  // Another caller may have finished discovery meanwhile: one library per process.
  discovered ??= finishDiscovery(found, () => attempt ?? { error: new Error("emulator not attempted") });
  return discovered;
}

function loadExplicit(path: unknown): VeoNative {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("options.library must be a non-empty string path");
  }
  try {
    return load(path, "explicit library option");
  } catch (err) {
    const tried = [`${path}: ${describe(err)}`];
    throw new VeoLibraryNotFound(
      `Cannot load the VEO library ${path}: ${describe(err)}. ` +
        "Pass the path of libveo.so.1 (AVEO), libveo.so (VEO 1.x) or the emulator's libveo.so.1.",
      tried,
      { cause: err },
    );
  }
}

type EmulatorAttempt = { build: EmulatorBuild; error?: undefined } | { build?: undefined; error: unknown };

interface RealSearch {
  native?: VeoNative;
  tried: string[];
  nodes: string[];
}

function emulatorEnabled(): boolean {
  return process.env.VEO_EMULATOR !== "0";
}

/** Steps 2 and 3 of discovery: VEO_LIBRARY, then the real library when VE nodes exist. */
function discoverReal(): RealSearch {
  const tried: string[] = [];
  const env = process.env.VEO_LIBRARY;
  if (env) {
    try {
      return { native: load(env, "VEO_LIBRARY environment variable"), tried, nodes: [] };
    } catch (err) {
      tried.push(`VEO_LIBRARY=${env}: ${describe(err)}`);
      throw new VeoLibraryNotFound(
        `VEO_LIBRARY=${env} cannot be loaded: ${describe(err)}. ` +
          "Fix the path or unset VEO_LIBRARY to let veo-ts choose.",
        tried,
        { cause: err },
      );
    }
  }

  const nodes = veNodes();
  if (nodes.length > 0) {
    const reason = `VE nodes found (/sys/class/ve: ${nodes.join(", ")})`;
    for (const name of REAL_NAMES) {
      for (const candidate of [`${REAL_DIR}/${name}`, name]) {
        try {
          return { native: load(candidate, reason), tried, nodes };
        } catch (err) {
          tried.push(`${candidate}: ${describe(err)}`);
        }
      }
    }
  } else {
    tried.push("real libveo: skipped, no VE nodes in /sys/class/ve");
  }
  return { tried, nodes };
}

/** Step 4 and 5: the emulator (built by `emulator`), else VeoLibraryNotFound. */
function finishDiscovery(found: RealSearch, emulator: () => EmulatorAttempt): VeoNative {
  if (found.native) return found.native;
  const { tried, nodes } = found;
  let fix =
    "install a C compiler and libffi headers (apt-get install gcc libffi-dev) " +
    "so the host emulator can be built (and do not set VEO_EMULATOR=0)";
  if (!emulatorEnabled()) {
    tried.push("emulator: disabled by VEO_EMULATOR=0");
  } else {
    const attempt = emulator();
    if (attempt.build) {
      const reason =
        nodes.length > 0
          ? "VE nodes exist but no real libveo could be loaded; using the host emulator"
          : "no VE nodes found; using the host emulator (VEO_EMULATOR=0 disables it)";
      try {
        return load(attempt.build.library, attempt.build.prebuilt ? `${reason}, prebuilt` : reason);
      } catch (err) {
        tried.push(`emulator ${attempt.build.library}: ${describe(err)}`);
      }
    } else {
      tried.push(`emulator: ${describe(attempt.error)}`);
      if (isCacheDirError(attempt.error)) fix = "set VEO_TS_CACHE_DIR to a writable directory";
    }
  }

  throw new VeoLibraryNotFound(
    "No usable VEO library found. Tried:\n  " +
      tried.join("\n  ") +
      "\nFix: install VEOS/AVEO (libveo.so.1 under /opt/nec/ve/veos/lib64), set VEO_LIBRARY to a " +
      `libveo path, or ${fix}.`,
    tried,
  );
}

/** Loads (or returns the already loaded) VEO library and reports which one and why. */
export function loadVeo(options: LoadVeoOptions = {}): VeoLibraryInfo {
  return getNative(options).info;
}
