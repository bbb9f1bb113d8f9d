/*
 * VeoLibrary: a shared object loaded into a proc (or the proc's static symbol table, handle
 * 0). Finds functions and symbols once and caches them; `lib.fn.<name>` is the short form
 * and `lib.declare("double f(double *a, int n)")` finds and types a function in one step.
 */
import { checkCString, describeValue, parsePrototype } from "./ctypes.js";
import { VeoBusyError, VeoClosedError, VeoFailedError } from "./errors.js";
import type { VeoCtxt } from "./context.js";
import { callByName, releaseFunction, VeoFunction } from "./function.js";
import type { KernelFunction } from "./kernel-types.js";
import { VeMemPtr } from "./memory.js";
import type { U64 } from "./native/api.js";
import type { VeoRequest } from "./request.js";
import { requireFunction } from "./native/library.js";
import { brands, ctxSlots, libSlots, MINT, procSlots, reqSlots } from "./slots.js";
import { notGenuine, requireMint } from "./brand.js";
import type { VeoProc } from "./proc.js";

const SYMNAME_LEN_MAX = 255;

/** Brand check of a VeoLibrary method's receiver. */
function genuine(lib: unknown, method: string): asserts lib is VeoLibrary {
  if (!brands.library(lib)) {
    throw notGenuine("VeoLibrary", method, "use proc.loadLibrary() or proc.staticLibrary()");
  }
}

/**
 * A library loaded into a VE process (py-veo's `VeoLibrary`): find its functions
 * (`findFunction`, `fn.<name>`, `declare("<C prototype>")`) and symbols.
 */
export class VeoLibrary {
  /** The path given to loadLibrary ("__static__" for the static library). */
  readonly name: string;
  /** The proc the library is loaded into. */
  readonly proc: VeoProc;
  /** Functions found so far, by name. */
  readonly func = new Map<string, VeoFunction>();
  /** Symbols found so far, by name. */
  readonly symbol = new Map<string, VeMemPtr>();
  /** `lib.fn.name` is `lib.findFunction("name")`, cached. */
  readonly fn: { readonly [name: string]: VeoFunction };
  /** @internal */
  readonly _handle: U64;
  #unloaded = false;

  static {
    brands.library = (v): v is VeoLibrary => typeof v === "object" && v !== null && #unloaded in v;
    libSlots.release = (l) => l.#release();
  }

  /** @internal Use proc.loadLibrary or proc.staticLibrary. */
  constructor(proc: VeoProc, name: string, handle: U64, mint?: typeof MINT) {
    requireMint(mint, "VeoLibrary", "use proc.loadLibrary() or proc.staticLibrary()");
    this.proc = proc;
    this.name = name;
    this._handle = handle;
    this.fn = new Proxy(Object.create(null) as { [name: string]: VeoFunction }, {
      // Not "then" (so `await lib.fn` works) nor Object.prototype's names (which inspectors
      // and deep-equality checks probe): use findFunction for a kernel named like those.
      get: (_t, key) =>
        typeof key === "string" && key !== "then" && !(key in Object.prototype)
          ? this.findFunction(key)
          : undefined,
      has: (_t, key) => typeof key === "string" && this.func.has(key),
    });
    // What C is handed stays what VEO returned: no field can be reassigned or redefined.
    Object.freeze(this);
  }

  /** @internal True once unload() ran (or the proc was destroyed). */
  get _unloaded(): boolean {
    return this.#unloaded;
  }

  /** The library handle VEO returned (0n for the static library). */
  get handle(): bigint {
    genuine(this, "handle");
    return BigInt(this._handle);
  }

  /** True once unload() ran or the proc was destroyed. */
  get closed(): boolean {
    genuine(this, "closed");
    return this.#unloaded || this.proc.destroyed;
  }

  /** @internal */
  _check(): void {
    genuine(this, "_check");
    this.proc._check();
    if (this.#unloaded) throw new VeoClosedError(`Library ${this.name} was unloaded`);
  }

  #lookup(name: unknown, method: string): U64 {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Argument 0 (name) of ${method} must be a non-empty string, got ${describeValue(name)}`,
      );
    }
    checkCString(name, `Argument 0 (name) of ${method}`);
    if (name.length > SYMNAME_LEN_MAX || Buffer.byteLength(name) > SYMNAME_LEN_MAX) {
      throw new RangeError(`Argument 0 (name) of ${method} is longer than ${SYMNAME_LEN_MAX} bytes (UTF-8)`);
    }
    this._check();
    this.proc._syncPoint(method);
    this._check(); // the callVh functions run there may have unloaded the library
    const addr = procSlots.api(this.proc).veo_get_sym(procSlots.handle(this.proc), this._handle, name);
    if (addr === 0 || addr === 0n) {
      this.proc._checkAfterFailure();
      throw new VeoFailedError("veo_get_sym", `Symbol "${name}" not found in ${this.name}`);
    }
    return addr;
  }

  /** The function `name` (found once, then cached with its declared types). */
  findFunction(name: string): VeoFunction {
    genuine(this, "findFunction");
    const cached = this.func.get(name);
    if (cached) {
      this._check();
      return cached;
    }
    const f = new VeoFunction(this, name, this.#lookup(name, "findFunction"), MINT);
    this.func.set(name, f);
    return f;
  }

  /** The VE address of the symbol `name` (a variable or a function), as a VeMemPtr. */
  getSymbol(name: string): VeMemPtr {
    genuine(this, "getSymbol");
    const cached = this.symbol.get(name);
    if (cached) {
      this._check();
      return cached;
    }
    const p = new VeMemPtr(this.proc, BigInt(this.#lookup(name, "getSymbol")), 0);
    this.symbol.set(name, p);
    return p;
  }

  /**
   * Finds a function and declares its types from a C prototype. With a string literal, the
   * returned function is typed from the prototype too (see KernelFunction): `f(ctx, ...)`
   * and `f.callSync(...)` take and return what the prototype says.
   */
  declare<const S extends string>(prototype: S): KernelFunction<S> {
    genuine(this, "declare");
    const proto = parsePrototype(prototype);
    const f = this.findFunction(proto.name);
    f._declare(proto.params, proto.ret);
    return f as KernelFunction<S>;
  }

  /** @internal ctx.callByName (the context module cannot import function.ts). */
  _callByName(ctx: VeoCtxt, name: string, args: unknown[]): VeoRequest {
    genuine(this, "_callByName");
    return callByName(ctx, this, name, args);
  }

  /** Unloads the library from the proc (veo_unload_library). Idempotent. */
  unload(): void {
    genuine(this, "unload");
    if (this.#unloaded || this.proc.destroyed) {
      this.#release();
      return;
    }
    this.proc._check();
    this.proc._syncPoint("unload");
    // A callVh function run by the sync point may have unloaded it already.
    if (this.#unloaded) return;
    this.#checkIdle();
    if (this._handle !== 0 && this._handle !== 0n) {
      const rc = requireFunction(procSlots.native(this.proc), "veo_unload_library")(
        procSlots.handle(this.proc),
        this._handle,
      );
      if (rc !== 0) {
        this.proc._checkAfterFailure();
        throw new VeoFailedError("veo_unload_library", `veo_unload_library(${this.name}) failed (${rc})`);
      }
    }
    this.#release();
  }

  /**
   * Refuses to unload while any context of the proc still runs a request: the running
   * kernel may be one of this library's, and unmapping its code would kill the VE process.
   * VEO runs a context's requests in order, so a context is idle once its newest request
   * has finished (collected here without blocking; its result stays available).
   */
  #checkIdle(): void {
    for (const ctx of this.proc.contexts) {
      const pump = ctxSlots.pump(ctx);
      const last = pump.last;
      if (last === null || reqSlots.state(last) !== 0 || !ctx._usable) continue;
      if (pump.peekFor(last) || reqSlots.state(last) !== 0) continue;
      throw new VeoBusyError(
        `Cannot unload ${this.name}: ${String(ctx)} still runs requests (newest: ${reqSlots.call(last).what}, request ${last.id}); ` +
          "await or wait() them (or ctx.sync()) first",
      );
    }
  }

  /** @internal Marks unloaded and frees the functions' argument objects. */
  #release(): void {
    if (this.#unloaded) return;
    this.#unloaded = true;
    for (const f of this.func.values()) releaseFunction(f);
    this.proc._forgetLibrary(this);
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** A short description for logs. */
  toString(): string {
    if (!brands.library(this)) return "VeoLibrary(forged)";
    return `VeoLibrary(${this.name})`;
  }
}

Object.freeze(VeoLibrary.prototype);
