/*
 * VeoFunction: a kernel in a loaded library, callable as `f(ctx, ...args)`. Declaring its
 * types (argsType/retType or lib.declare) precomputes a plan: one checker and one typed
 * veo_args setter per argument. A call checks every argument first (nothing reaches C on
 * bad input), then fills the function's one reusable veo_args (AVEO copies it at
 * submission; VEO 1.x gets a fresh one per request, kept until completion).
 */
import { Intent } from "./constants.js";
import {
  EMU_RESULT_TYPE,
  SETTER_SUFFIX,
  makeChecker,
  parseType,
  describeValue,
  type CKind,
  type CParam,
  type CType,
  type Checker,
} from "./ctypes.js";
import {
  VeoCallError,
  VeoClosedError,
  VeoFailedError,
  VeoKernelException,
  VeoProcessDead,
} from "./errors.js";
import { vePointer } from "./memory.js";
import type { ArgsHandle, U64, VeoApi } from "./native/api.js";
import { unsupported } from "./native/library.js";
import {
  checkStackArg,
  isOnStack,
  OnStack,
  STACK_ARGS_MAX,
  stackBuffer,
  stackImageBase,
  stackIntent,
  stackSize,
} from "./onstack.js";
import { REGISTER } from "./pump.js";
import { signalName, type CallInfo, type VeoRequest } from "./request.js";
import { isVeoCtxt, type VeoCtxt } from "./context.js";
import { notGenuine, requireMint } from "./brand.js";
import { ctxSlots, MINT, procSlots } from "./slots.js";
import type { VeoLibrary } from "./library.js";

type Setter = (ca: ArgsHandle, argnum: number, v: number | bigint) => number;

interface Plan {
  readonly n: number;
  readonly types: readonly CType[];
  readonly checkers: ReadonlyArray<Checker | null>;
  readonly setters: readonly Setter[];
  readonly labels: readonly string[];
  readonly signature: string;
}

/** @internal Per-function state, kept off the callable's public surface. */
interface FnState {
  readonly lib: VeoLibrary;
  readonly name: string;
  readonly addr: U64;
  readonly api: VeoApi;
  plan: Plan | undefined;
  ret: CType;
  paramNames: ReadonlyArray<string | undefined> | undefined;
  args: ArgsHandle | null;
  vals: unknown[];
  /** Shared by every request of this function while its result type stays the same. */
  call: CallInfo;
  readonly perRequestArgs: boolean;
}

const INT = parseType("int");

/** Returns its argument from the constructor, so that Stamp's private field lands on it. */
class ReturnArg {
  constructor(o: object) {
    return o;
  }
}

/** Gives a VeoFunction (a plain function object) its private state: `new Stamp(f, s)`. */
class Stamp extends ReturnArg {
  readonly #s: FnState;
  constructor(f: object, s: FnState) {
    super(f);
    this.#s = s;
  }
  /** The state of a genuine VeoFunction, else undefined. */
  static state(f: unknown): FnState | undefined {
    return typeof f === "function" && #s in f ? (f as Stamp).#s : undefined;
  }
}

/** A VeoFunction method's state, after the brand check of its receiver. */
function stateOf(f: unknown, method: string): FnState {
  const s = Stamp.state(f);
  if (s === undefined) throw notGenuine("VeoFunction", method, "use lib.findFunction() or lib.declare()");
  return s;
}
/** A result word veo_call_sync never leaves on its own (detects "no result written"). */
const UNSET = 0xffff_ffff_ffff_fffen;
/** The signals a VE kernel exception reports (SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV). */
const FATAL_SIGNALS: readonly number[] = [4, 6, 7, 8, 11];

/** veo_args freed when a function (or a VEO 1.x request's args holder) is collected. */
const argsFinalizer = new FinalizationRegistry<{ api: VeoApi; ca: ArgsHandle }>(({ api, ca }) => {
  try {
    api.veo_args_free(ca);
  } catch {
    /* the library may be going away with the process */
  }
});

// A callable class: the interface gives instances their call signature. `Args` and `Result`
// are what `lib.declare(prototype)` derives from the prototype (src/kernel-types.ts); the
// defaults are the loose type of a function found by name: any arguments, any result.
/* eslint-disable @typescript-eslint/no-explicit-any -- the loose defaults */
export interface VeoFunction<Args extends readonly unknown[] = any, Result = any> {
  /** Submits a call on `ctx`; the request resolves with the converted result. */
  (ctx: VeoCtxt, ...args: Args): VeoRequest<Result>;
}

/**
 * A kernel function of a VeoLibrary, callable: `f(ctx, ...args)` submits the call and returns
 * a VeoRequest. Arguments are checked and converted by the declared C types
 * (`lib.declare(...)`, `f.setArgs(...)`).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class VeoFunction<Args extends readonly unknown[] = any, Result = any> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /** The library the function was found in. */
  declare readonly lib: VeoLibrary;

  /** @internal Use lib.findFunction, lib.fn.<name> or lib.declare. */
  constructor(lib: VeoLibrary, name: string, addr: U64, mint?: typeof MINT) {
    requireMint(mint, "VeoFunction", "use lib.findFunction() or lib.declare()");
    // A computed key names the function after the kernel: redefining `name` afterwards
    // would turn the callable's properties into a dictionary (slower `_s` loads).
    const self = {
      [name]: function (ctx: VeoCtxt, ...args: unknown[]): VeoRequest {
        return submit(s, ctx, args);
      },
    }[name] as unknown as VeoFunction;
    Object.setPrototypeOf(self, new.target.prototype);
    const api = procSlots.api(lib.proc);
    const s: FnState = {
      lib,
      name,
      addr,
      api,
      plan: undefined,
      ret: INT,
      paramNames: undefined,
      args: null,
      vals: [],
      call: { kind: INT.kind, what: name },
      perRequestArgs: procSlots.native(lib.proc).info.apiVersion < 7,
    };
    // The state lives in a private field of the callable (see Stamp), out of the user's reach.
    new Stamp(self, s);
    Object.defineProperty(self, "lib", { value: lib, enumerable: true });
    Object.preventExtensions(self);
    return self;
  }

  /** The VE address of the function. */
  get addr(): bigint {
    return BigInt(stateOf(this, "addr").addr);
  }

  /**
   * @internal A read-only snapshot of the native parts, for bench/ (which times raw koffi
   * calls beside the binding's): the function's VE address and its veo_args handle.
   */
  get _s(): { readonly addr: U64; readonly args: ArgsHandle | null } {
    const s = stateOf(this, "_s");
    return Object.freeze({ addr: s.addr, args: s.args });
  }

  /** The declared argument types, or undefined before argsType/declare. */
  get argTypes(): readonly string[] | undefined {
    return stateOf(this, "argTypes").plan?.types.map((t) => t.name);
  }

  /** The declared result type (default "int", as in py-veo). */
  get resultType(): string {
    return stateOf(this, "resultType").ret.name;
  }

  /**
   * Declares the argument types (C type strings; "void" entries are skipped). Chainable; the
   * result is typed as the loose VeoFunction, since a prototype's types no longer hold.
   */
  argsType(...types: string[]): VeoFunction {
    const s = stateOf(this, "argsType");
    setParams(
      this,
      s,
      types.map((t, i) => {
        if (typeof t !== "string") {
          throw new TypeError(`Argument ${i} of argsType must be a C type string, got ${describeValue(t)}`);
        }
        return { type: parseType(t) };
      }),
    );
    return this;
  }

  /** Declares the result type ("void" for none). Chainable, typed loose as argsType. */
  retType(type: string): VeoFunction {
    stateOf(this, "retType");
    if (typeof type !== "string") {
      throw new TypeError(`Argument 0 of retType must be a C type string, got ${describeValue(type)}`);
    }
    const s = stateOf(this, "retType");
    s.ret = parseType(type);
    s.call = { kind: s.ret.kind, what: s.name };
    if (s.plan)
      s.plan = buildPlan(
        s,
        s.plan.types.map((t, i) => ({ type: t, name: s.paramNames?.[i] })),
      );
    if (s.args !== null) hint(s, s.args);
    return this;
  }

  /** @internal lib.declare: types and parameter names from a prototype. */
  _declare(params: readonly CParam[], ret: CType): void {
    setParams(this, stateOf(this, "_declare"), params, ret);
  }

  /** Calls the function synchronously on the proc's main context (veo_call_sync). */
  callSync(...args: Args): Result {
    const s = stateOf(this, "callSync");
    const proc = s.lib.proc;
    let plan = s.plan;
    if (plan === undefined || s.lib._unloaded || !proc._alive) plan = checkCallable(s);
    const callSync = s.api.veo_call_sync;
    if (!callSync) throw unsupported(procSlots.native(proc), "veo_call_sync");
    proc._syncPoint(`${s.name}.callSync`);
    const vals = checkArgs(s, plan, args, false);
    // Checking the arguments may have run user code (getters, Proxy traps): look again.
    if (s.lib._unloaded || !proc._alive) checkCallable(s);
    const ca = s.perRequestArgs ? newArgs(s) : (s.args as ArgsHandle);
    fillArgs(s, plan, ca, vals);
    REGISTER.u64[0] = UNSET;
    const rc = callSync(procSlots.handle(proc), s.addr, ca, REGISTER.addr);
    if (s.perRequestArgs) s.api.veo_args_free(ca);
    if (rc === 0) return REGISTER.decode(s.ret.kind) as Result;
    // On a kernel exception VEO stores the signal number as the result.
    const word = REGISTER.u64[0];
    const raw = word < 64n ? Number(word) : -1;
    const dead = proc._probeDead();
    if (FATAL_SIGNALS.includes(raw)) {
      procSlots.died(proc, `the VE process died of ${signalName(raw)} in ${s.name}`, {
        reason: "fault",
        signal: raw,
      });
      throw new VeoKernelException(`${s.name} died of ${signalName(raw)}; the VE process is dead`, raw);
    }
    if (dead) {
      procSlots.died(proc, "the VE process has exited");
      throw new VeoProcessDead(`${s.name}: the VE process on node ${proc.nodeid} is dead`);
    }
    throw new VeoCallError(`${s.name}: veo_call_sync failed (${rc})`);
  }

  /** The declared C signature, e.g. "double sum(double *a, int n)". */
  get signature(): string {
    const s = stateOf(this, "signature");
    return s.plan?.signature ?? `${s.ret.name} ${s.name}(?)`;
  }

  /** Short form in console.log / util.inspect. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** The C signature, for logs. */
  toString(): string {
    if (Stamp.state(this) === undefined) return "VeoFunction(forged)";
    return `VeoFunction(${this.signature})`;
  }

  /** The plain function's call/apply/bind stay available. */
  declare call: CallableFunction["call"];
  /** Function.prototype.apply. */
  declare apply: CallableFunction["apply"];
  /** Function.prototype.bind. */
  declare bind: CallableFunction["bind"];
}
Object.setPrototypeOf(VeoFunction.prototype, Function.prototype);
Object.freeze(VeoFunction.prototype);

function setParams(f: VeoFunction, s: FnState, params: readonly CParam[], ret?: CType): void {
  s.lib._check();
  const kept = params.filter((p) => p.type.kind !== "void");
  const max = procSlots.native(s.lib.proc).maxArgs;
  if (kept.length > max) {
    throw new RangeError(`${s.name}: ${kept.length} arguments exceed this library's maximum of ${max}`);
  }
  const oldN = s.plan?.n;
  if (ret !== undefined) {
    s.ret = ret;
    s.call = { kind: ret.kind, what: s.name };
  }
  s.paramNames = kept.map((p) => p.name);
  s.plan = buildPlan(s, kept);
  s.vals = new Array(kept.length);
  if (s.perRequestArgs) return;
  if (s.args === null) {
    const ca = s.api.veo_args_alloc();
    if (!ca) throw new VeoFailedError("veo_args_alloc", "veo_args_alloc failed");
    s.args = ca;
    argsFinalizer.register(f, { api: s.api, ca }, s);
  } else if (oldN !== undefined && oldN !== kept.length) {
    s.api.veo_args_clear(s.args);
  }
  hint(s, s.args);
}

function hint(s: FnState, ca: ArgsHandle): void {
  const set = s.api.veo_emu_args_set_result_type;
  if (set) set(ca, EMU_RESULT_TYPE[s.ret.kind]);
}

function setterFor(api: VeoApi, kind: Exclude<CKind, "void">): Setter {
  const exact = (api as unknown as Record<string, Setter | undefined>)[`veo_args_set_${SETTER_SUFFIX[kind]}`];
  if (exact) return exact;
  // VEO 1.x has no 8/16-bit setters: the register value is the same, widened.
  const wide = kind === "i8" || kind === "i16" ? api.veo_args_set_i32 : api.veo_args_set_u32;
  return wide as Setter;
}

function buildPlan(s: FnState, params: ReadonlyArray<{ type: CType; name?: string | undefined }>): Plan {
  const types = params.map((p) => p.type);
  const labels = params.map(
    (p, i) => `Argument ${i + 1} (${p.name ? `${p.name}: ` : ""}${p.type.name}) of ${s.name}`,
  );
  const checkers = params.map((p, i) => (p.type.kind === "ptr" ? null : makeChecker(p.type, labels[i])));
  const setters = types.map((t) => setterFor(s.api, t.kind as Exclude<CKind, "void">));
  const signature = `${s.ret.name} ${s.name}(${params
    .map((p) => (p.name ? `${p.type.name}${p.type.name.endsWith("*") ? "" : " "}${p.name}` : p.type.name))
    .join(", ")})`;
  return { n: params.length, types, checkers, setters, labels, signature };
}

function checkCallable(s: FnState): Plan {
  const plan = s.plan;
  if (plan === undefined) {
    throw new TypeError(
      `${s.name}: declare its argument types with argsType(...) or lib.declare(...) before calling it`,
    );
  }
  s.lib._check();
  return plan;
}

/**
 * Checks every argument (nothing reaches C on bad input). `async`: the call is submitted and
 * returns before the kernel ran, so OUT/INOUT buffers (every stack buffer on VEO 1.x, which
 * reads the args until completion) are pinned for the request.
 */
function checkArgs(s: FnState, plan: Plan, args: readonly unknown[], async: boolean): unknown[] {
  if (args.length !== plan.n) {
    checkCallable(s);
    throw new TypeError(
      `${plan.signature} takes ${plan.n} argument${plan.n === 1 ? "" : "s"}, got ${args.length}`,
    );
  }
  const vals = s.vals;
  const checkers = plan.checkers;
  let stack = 0;
  for (let i = 0; i < plan.n; i++) {
    const chk = checkers[i];
    const v = args[i];
    if (chk !== null) vals[i] = chk(v);
    else if (v === null) vals[i] = 0;
    else if (isOnStack(v)) {
      stack += checkStackArg(v, plan.labels[i], async, s.perRequestArgs);
      vals[i] = v;
    } else if (v instanceof OnStack) {
      throw new TypeError(
        `${plan.labels[i]} is not a genuine OnStack (made with Object.create?); use new OnStack(buffer, options)`,
      );
    } else vals[i] = vePointer(s.lib.proc, v, plan.labels[i]);
  }
  if (stack > 0 && stack + stackImageBase(plan.n) > STACK_ARGS_MAX) stackTooLarge(plan, args, stack);
  return vals;
}

/** Names the stack argument that took a call's stack image over the VE stack limit. */
function stackTooLarge(plan: Plan, args: readonly unknown[], total: number): never {
  let sum = stackImageBase(plan.n);
  let at = plan.n - 1;
  for (let i = 0; i < plan.n; i++) {
    const v = args[i];
    if (isOnStack(v)) sum += Math.ceil(stackSize(v) / 8) * 8;
    if (sum > STACK_ARGS_MAX) {
      at = i;
      break;
    }
  }
  throw new RangeError(
    `${plan.labels[at]}: the call's stack arguments (${total} bytes with ${stackImageBase(plan.n)} bytes of ` +
      `register save and parameter area) exceed the VE stack limit of ${STACK_ARGS_MAX} bytes (63 MiB); ` +
      "pass large data through allocMem and writeMem instead",
  );
}

/** Sets every argument; returns the buffers VEO still needs after submission. */
function fillArgs(s: FnState, plan: Plan, ca: ArgsHandle, vals: unknown[]): unknown {
  let keep: unknown = undefined;
  const setters = plan.setters;
  for (let i = 0; i < plan.n; i++) {
    const v = vals[i];
    if (typeof v === "object") {
      const st = v as OnStack;
      const intent = stackIntent(st);
      const buffer = stackBuffer(st);
      s.api.veo_args_set_stack(ca, intent, i, buffer, stackSize(st));
      if (intent !== Intent.IN || s.perRequestArgs) {
        keep = keep === undefined ? buffer : Array.isArray(keep) ? (keep.push(buffer), keep) : [keep, buffer];
      }
      vals[i] = undefined;
    } else {
      setters[i](ca, i, v as number | bigint);
    }
  }
  return keep;
}

function newArgs(s: FnState): ArgsHandle {
  const ca = s.api.veo_args_alloc();
  if (!ca) throw new VeoFailedError("veo_args_alloc", "veo_args_alloc failed");
  hint(s, ca);
  return ca;
}

/** Throws the right error for a call that failed the fast checks of `submit`. */
function refuse(s: FnState, ctx: unknown): never {
  checkCallable(s);
  if (!isVeoCtxt(ctx)) {
    throw new TypeError(
      `Argument 0 (ctx) of ${s.name} must be a VeoCtxt from proc.openContext(), got ${describeValue(ctx)}`,
    );
  }
  if (ctx.proc !== s.lib.proc) {
    if (ctx.proc.destroyed)
      throw new VeoClosedError(`Argument 0 (ctx) of ${s.name} belongs to a destroyed proc`);
    throw new TypeError(`Argument 0 (ctx) of ${s.name} is a context of another proc`);
  }
  ctx._checkUsable();
  throw new VeoClosedError(`${s.name} cannot be called`);
}

function submit(s: FnState, ctx: VeoCtxt, args: unknown[]): VeoRequest {
  const plan = s.plan;
  if (plan === undefined || s.lib._unloaded || !isVeoCtxt(ctx) || ctx.proc !== s.lib.proc || !ctx._usable)
    refuse(s, ctx);
  const vals = checkArgs(s, plan, args, true);
  // Checking the arguments may have run user code (getters, Proxy traps) that closed the
  // context, destroyed the proc or unloaded the library: look again before C.
  if (s.lib._unloaded || !ctx._usable) refuse(s, ctx);
  if (s.perRequestArgs) {
    const ca = newArgs(s);
    const bufs = fillArgs(s, plan, ca, vals);
    const id = s.api.veo_call_async(ctxSlots.handle(ctx), s.addr, ca);
    // VEO 1.x reads the args until the request completes: the holder keeps them alive.
    const holder = { bufs };
    argsFinalizer.register(holder, { api: s.api, ca });
    return ctxSlots.submitted(ctx, id, s.call, holder, "veo_call_async");
  }
  const ca = s.args as ArgsHandle;
  const keep = plan.n === 0 ? undefined : fillArgs(s, plan, ca, vals);
  const id = s.api.veo_call_async(ctxSlots.handle(ctx), s.addr, ca);
  return ctxSlots.submitted(ctx, id, s.call, keep, "veo_call_async");
}

/** @internal Frees the function's veo_args (library unloaded or proc destroyed). */
export function releaseFunction(f: VeoFunction): void {
  const s = stateOf(f, "release");
  if (s.args !== null) {
    argsFinalizer.unregister(s);
    const ca = s.args;
    s.args = null;
    s.api.veo_args_free(ca);
  }
}

/** @internal ctx.callByName: a declared function's plan, else the loose rules (see there). */
export function callByName(ctx: VeoCtxt, lib: VeoLibrary, name: string, args: unknown[]): VeoRequest {
  const proc = ctx.proc;
  if (typeof name !== "string" || name === "" || name.length > 255 || name.includes("\0")) {
    throw new TypeError(
      `Argument 1 (name) of callByName must be a non-empty function name without NUL, got ${describeValue(name)}`,
    );
  }
  ctx._checkUsable();
  lib._check();
  const byName = procSlots.api(proc).veo_call_async_by_name;
  if (!byName) throw unsupported(procSlots.native(proc), "veo_call_async_by_name");
  // VEO looks the name up with a synchronous veo_get_sym on the main context first.
  proc._syncPoint("callByName");
  const found = lib.func.get(name);
  const declared = found === undefined ? undefined : Stamp.state(found);
  if (declared?.plan !== undefined && declared.lib === lib) {
    const s = declared;
    const plan = declared.plan;
    const vals = checkArgs(s, plan, args, true);
    ctx._checkUsable();
    lib._check();
    const ca = s.perRequestArgs ? newArgs(s) : (s.args as ArgsHandle);
    const keep = fillArgs(s, plan, ca, vals);
    const id = byName(ctxSlots.handle(ctx), lib._handle, name, ca);
    if (!s.perRequestArgs) return ctxSlots.submitted(ctx, id, s.call, keep, "veo_call_async");
    const holder = { bufs: keep };
    argsFinalizer.register(holder, { api: s.api, ca });
    return ctxSlots.submitted(ctx, id, s.call, holder, "veo_call_async");
  }
  return looseByName(ctx, lib, name, args, byName);
}

const TWO63 = 1n << 63n;

function looseByName(
  ctx: VeoCtxt,
  lib: VeoLibrary,
  name: string,
  args: unknown[],
  byName: NonNullable<VeoApi["veo_call_async_by_name"]>,
): VeoRequest {
  const proc = ctx.proc;
  const api = procSlots.api(proc);
  const max = procSlots.native(proc).maxArgs;
  if (args.length > max) {
    throw new RangeError(
      `callByName(${name}): ${args.length} arguments exceed this library's maximum of ${max}`,
    );
  }
  // Check everything before C sees anything.
  const perRequest = procSlots.native(proc).info.apiVersion < 7;
  let stack = 0;
  const plan: Array<[kind: "i64" | "u64" | "double" | "stack", v: unknown]> = args.map((v, i) => {
    const label = `Argument ${i + 2} of callByName(${name})`;
    if (typeof v === "number") return [Number.isSafeInteger(v) ? "i64" : "double", v];
    if (typeof v === "bigint") {
      if (v < -TWO63 || v >= 2n * TWO63) throw new RangeError(`${label} must fit in 64 bits, got ${v}n`);
      return [v < TWO63 ? "i64" : "u64", v];
    }
    if (v === null) return ["u64", 0];
    if (isOnStack(v)) {
      stack += checkStackArg(v, label, true, perRequest);
      return ["stack", v];
    }
    if (v instanceof OnStack) {
      throw new TypeError(
        `${label} is not a genuine OnStack (made with Object.create?); use new OnStack(buffer, options)`,
      );
    }
    if (typeof v === "object") return ["u64", vePointer(proc, v, label)];
    throw new TypeError(
      `${label} must be a number, bigint, VeMemPtr, OnStack or null (declare the function for other types), got ${describeValue(v)}`,
    );
  });
  if (stack > 0 && stack + stackImageBase(args.length) > STACK_ARGS_MAX) {
    throw new RangeError(
      `callByName(${name}): the call's stack arguments (${stack} bytes with ${stackImageBase(args.length)} bytes of ` +
        `register save and parameter area) exceed the VE stack limit of ${STACK_ARGS_MAX} bytes (63 MiB)`,
    );
  }
  const ca = api.veo_args_alloc();
  if (!ca) throw new VeoFailedError("veo_args_alloc", "veo_args_alloc failed");
  const bufs: ArrayBuffer[] = [];
  let id: U64;
  try {
    api.veo_emu_args_set_result_type?.(ca, EMU_RESULT_TYPE.i32);
    plan.forEach(([kind, v], i) => {
      if (kind === "stack") {
        const st = v as OnStack;
        const intent = stackIntent(st);
        api.veo_args_set_stack(ca, intent, i, stackBuffer(st), stackSize(st));
        if (intent !== Intent.IN || perRequest) bufs.push(stackBuffer(st) as ArrayBuffer);
      } else if (kind === "double") api.veo_args_set_double(ca, i, v as number);
      else if (kind === "u64") api.veo_args_set_u64(ca, i, v as U64);
      else api.veo_args_set_i64(ca, i, v as U64);
    });
    id = byName(ctxSlots.handle(ctx), lib._handle, name, ca);
  } catch (err) {
    api.veo_args_free(ca);
    throw err;
  }
  const call: CallInfo = { kind: "i32", what: name };
  if (!perRequest) {
    api.veo_args_free(ca); // AVEO copied the arguments at submission
    return ctxSlots.submitted(ctx, id, call, bufs.length > 0 ? bufs : undefined, "veo_call_async");
  }
  const holder = { bufs };
  argsFinalizer.register(holder, { api, ca });
  return ctxSlots.submitted(ctx, id, call, holder, "veo_call_async");
}
