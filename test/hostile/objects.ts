/*
 * Hostile use of the object model (run by test/brand.test.ts in a child process, since each
 * of these used to be able to crash Node): forged receivers, overwritten internals,
 * subclasses, objects of the wrong proc, user code that runs in the middle of a call and
 * tears things down, frozen objects, a polluted Object.prototype. The scenarios named on the
 * command line run in order, each on a new proc; each prints "ok <name>" when every hostile
 * call got its typed error (or the documented behaviour) and the proc is still usable.
 */
import {
  OnStack,
  VeoClosedError,
  VeoCtxt,
  VeoFunction,
  VeoLibrary,
  VeoProc,
  VeoRequest,
  VeMemPtr,
  VeoHmem,
} from "../../src/index.js";
import { kernel } from "../support/kernels.js";
import {
  check,
  expectReject,
  expectThrow,
  runScenarios,
  stillUsable,
  type ErrorClass,
  type Scenario,
} from "./common.js";

// More than one context per proc (a VEO rule; the test runner sets it too).
process.env.VE_OMP_NUM_THREADS ??= "1";

/** The helper process of `pid` is gone (not left behind). */
async function helperGone(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the helper ${pid} is still running`);
}

/** The public members of a prototype (methods and getters), by name. */
function publicMembers(proto: object): Array<[string, PropertyDescriptor]> {
  return Object.getOwnPropertyNames(proto)
    .filter((n) => n !== "constructor" && !n.startsWith("_"))
    .map((n) => [n, Object.getOwnPropertyDescriptor(proto, n) as PropertyDescriptor]);
}

/** Calls every public method and getter of `proto` on `receiver`: each must say it is not genuine. */
function everyMemberRefuses(cls: string, proto: object, receiver: unknown): void {
  for (const [name, d] of publicMembers(proto)) {
    if (name === "toString") {
      check(`${cls}.toString on a forgery`, (d.value as () => string).call(receiver) === `${cls}(forged)`);
      continue;
    }
    const run = d.get
      ? () => d.get?.call(receiver)
      : () => (d.value as (...a: unknown[]) => unknown).call(receiver, 1, 2);
    const re = new RegExp(
      `^${cls}\\.prototype\\.${name} was called on an object that is not a genuine ${cls}`,
    );
    if (name === "loadSource" || name === "result" || name === "syncAsync") {
      // Promise-returning: the refusal is a rejection.
      const p = run() as Promise<unknown>;
      p.then(
        () => {
          throw new Error(`${cls}.${name} on a forgery resolved`);
        },
        (err: unknown) =>
          check(
            `${cls}.${name} rejects with the brand error`,
            err instanceof TypeError && re.test(err.message),
          ),
      );
      continue;
    }
    expectThrow(`${cls}.${name} on ${String(typeof receiver)}`, run, TypeError, re);
  }
}

const internalCtor = (C: unknown) => C as new (...a: unknown[]) => unknown;

const scenarios: Record<string, Scenario> = {
  async "forged-receivers"(proc, lib, ctx) {
    const f = lib.declare("int add_one(int x)");
    const req = f(ctx, 1);
    await req;
    // Look-alikes: the real prototype, or a plain object carrying real handles and a no-op check.
    const lookalike = (proto: object, extra: object): never =>
      Object.create(
        proto,
        Object.getOwnPropertyDescriptors({
          _api: proc._api,
          _native: proc._native,
          _handle: 12345,
          proc,
          ctx,
          lib,
          _check() {},
          _checkUsable() {},
          _alive: true,
          _usable: true,
          ...extra,
        }),
      ) as never;
    const plain = lookalike(Object.prototype, {});
    for (const [cls, proto] of [
      ["VeoProc", VeoProc.prototype],
      ["VeoCtxt", VeoCtxt.prototype],
      ["VeoLibrary", VeoLibrary.prototype],
      ["VeoRequest", VeoRequest.prototype],
    ] as const) {
      everyMemberRefuses(cls, proto, lookalike(proto, {}));
      everyMemberRefuses(cls, proto, plain);
    }
    everyMemberRefuses("VeMemPtr", VeMemPtr.prototype, Object.create(VeMemPtr.prototype));
    everyMemberRefuses("OnStack", OnStack.prototype, Object.create(OnStack.prototype));
    // A VeoFunction is a function: forge one from a plain function too.
    const fakeFn = Object.setPrototypeOf(function add_one() {}, VeoFunction.prototype) as object;
    everyMemberRefuses("VeoFunction", VeoFunction.prototype, fakeFn);
    everyMemberRefuses("VeoFunction", VeoFunction.prototype, plain);
    // The example of the issue.
    expectThrow(
      "VeoProc.prototype.allocMem.call(fake)",
      () => VeoProc.prototype.allocMem.call(plain, 8),
      TypeError,
      /^VeoProc\.prototype\.allocMem was called on an object that is not a genuine VeoProc/,
    );
    // The classes only veo-ts constructs refuse to be constructed by hand (with real handles too).
    expectThrow(
      "new VeoCtxt",
      () => new (internalCtor(VeoCtxt))(proc, 12345, proc._api),
      TypeError,
      /^VeoCtxt cannot be constructed directly/,
    );
    expectThrow(
      "new VeoLibrary",
      () => new (internalCtor(VeoLibrary))(proc, "x", 12345),
      TypeError,
      /^VeoLibrary cannot be constructed directly/,
    );
    expectThrow(
      "new VeoFunction",
      () => new (internalCtor(VeoFunction))(lib, "add_one", 0x1000),
      TypeError,
      /^VeoFunction cannot be constructed directly/,
    );
    expectThrow(
      "new VeoRequest",
      () => new (internalCtor(VeoRequest))(ctx, 999, { kind: "i32", what: "x" }, undefined),
      TypeError,
      /^VeoRequest cannot be constructed directly/,
    );
    expectThrow(
      "new VeMemPtr of a forged proc",
      () => new (internalCtor(VeMemPtr))(lookalike(VeoProc.prototype, {}), 0x1000n, 8),
      TypeError,
      /^Argument 0 \(proc\) of VeMemPtr must be a VeoProc/,
    );
    // Forgeries as arguments.
    expectThrow(
      "a forged library to callByName",
      () => ctx.callByName(lookalike(VeoLibrary.prototype, { name: lib.name }) as VeoLibrary, "add_one", 1),
      TypeError,
      /^Argument 0 \(lib\) of callByName/,
    );
    await expectReject(
      "VeoRequest.all of a forgery",
      VeoRequest.all([lookalike(VeoRequest.prototype, { id: req.id }) as VeoRequest]),
      TypeError,
      /element 0 must be a VeoRequest/,
    );
    await stillUsable(proc, lib, ctx);
  },

  async "overwritten-internals"(proc, lib, ctx) {
    const f = lib.declare("int add_one(int x)");
    const req = f(ctx, 1);
    await req;
    // ESM is strict: assigning a read-only or getter-only property throws a TypeError.
    const targets: Array<[string, object, string[]]> = [
      [
        "proc",
        proc,
        [
          "_handle",
          "_api",
          "_native",
          "nodeid",
          "_check",
          "_alive",
          "destroyed",
          "dead",
          "destroy",
          "_died",
          "_syncPoint",
        ],
      ],
      ["ctx", ctx, ["_handle", "_api", "proc", "_closed", "_usable", "_checkUsable", "closed"]],
      ["lib", lib, ["_handle", "_unloaded", "proc", "name", "_check", "closed"]],
      ["function", f, ["_s", "lib", "addr"]],
      ["request", req, ["id", "ctx", "_state", "_value", "_call", "_deferred"]],
    ];
    for (const [what, obj, names] of targets) {
      for (const name of names) {
        expectThrow(
          `${what}.${name} = 12345`,
          () => ((obj as Record<string, unknown>)[name] = 12345),
          TypeError,
          /read.only|only a getter|not extensible|Cannot assign|Cannot set/,
        );
        if (what === "request") continue; // see below
        expectThrow(
          `defineProperty(${what}, ${name})`,
          () => Object.defineProperty(obj, name, { value: 12345 }),
          TypeError,
          /redefine|not extensible/,
        );
      }
    }
    // The function's state is not reachable: its snapshot for bench/ is frozen.
    const snap = (f as unknown as { _s: { args: unknown } })._s;
    expectThrow("f._s.args = 1", () => (snap.args = 1), TypeError, /read.only/);
    check("no _pump on a context", !("_pump" in ctx));
    // Nor can the prototypes be changed under every instance.
    for (const [name, C] of [
      ["VeoProc", VeoProc],
      ["VeoCtxt", VeoCtxt],
      ["VeoLibrary", VeoLibrary],
      ["VeoRequest", VeoRequest],
      ["VeoFunction", VeoFunction],
    ] as const) {
      expectThrow(
        `${name}.prototype is frozen`,
        () => Object.defineProperty(C.prototype, "_check", { value() {} }),
        TypeError,
        /redefine|not extensible/,
      );
    }
    // proc.libs is a copy: adding to it changes nothing.
    (proc.libs as Map<string, VeoLibrary>).set("/forged.so", lib);
    check("proc.libs is a copy", !proc.libs.has("/forged.so"));
    // After destroy, nothing can make the proc look alive again.
    const other = new VeoProc(0);
    const pid = other._helperPid();
    const octx = other.openContext();
    const ofn = other.loadLibrary(kernel("basic")).declare("int add_one(int x)");
    other.destroy();
    expectThrow(
      "a destroyed proc's _alive",
      () => Object.defineProperty(other, "_alive", { get: () => true }),
      TypeError,
      /redefine/,
    );
    expectThrow("allocMem after destroy", () => other.allocMem(8), VeoClosedError, /destroyed/);
    expectThrow("a call after destroy", () => ofn(octx, 1), VeoClosedError, /./);
    await helperGone(pid);
    await stillUsable(proc, lib, ctx);
  },

  async subclasses(proc, lib, ctx) {
    class Liar extends VeoProc {
      override get destroyed(): boolean {
        return false;
      }
    }
    expectThrow(
      "a subclass overriding destroyed",
      () => new Liar(0),
      TypeError,
      /^A subclass of VeoProc may not override destroyed/,
    );
    class Sneaky extends VeoProc {
      override _check(): void {}
    }
    expectThrow("a subclass overriding _check", () => new Sneaky(0), TypeError, /may not override _check/);
    // A subclass adding fields and methods is fine, and keeps every invariant.
    class Mine extends VeoProc {
      label = "mine";
      twice(n: number): number {
        return 2 * n;
      }
    }
    const m = new Mine(0);
    const pid = m._helperPid();
    try {
      check("subclass fields", m.label === "mine" && m.twice(2) === 4 && m instanceof VeoProc);
      const p = m.allocMem(8);
      m.writeMem(p, new Uint8Array(8).fill(1));
      m.freeMem(p);
      const mlib = m.loadLibrary(kernel("basic"));
      const mctx = m.openContext();
      check("subclass call", (await mlib.declare("int add_one(int x)")(mctx, 1)) === 2);
      expectThrow(
        "shadowing _check on a subclass instance",
        () => Object.defineProperty(m, "_check", { value() {} }),
        TypeError,
        /redefine/,
      );
    } finally {
      m.destroy();
    }
    check("subclass destroyed", m.destroyed);
    expectThrow("subclass after destroy", () => m.allocMem(8), VeoClosedError, /destroyed/);
    await helperGone(pid);
    // Classes veo-ts constructs cannot be subclassed into existence.
    class MyCtxt extends (VeoCtxt as unknown as new (...a: unknown[]) => object) {}
    expectThrow(
      "a VeoCtxt subclass",
      () => new MyCtxt(proc, 1, proc._api),
      TypeError,
      /^VeoCtxt cannot be constructed directly/,
    );
    await stillUsable(proc, lib, ctx);
  },

  async "wrong-proc"(proc, lib, ctx) {
    const b = new VeoProc(0);
    const bpid = b._helperPid();
    try {
      const blib = b.loadLibrary(kernel("basic"));
      const bctx = b.openContext();
      const f = lib.declare("int add_one(int x)");
      expectThrow(
        "a function of A on a context of B",
        () => f(bctx, 1),
        TypeError,
        /^Argument 0 \(ctx\) of add_one is a context of another proc/,
      );
      expectThrow(
        "callByName with a library of A on a context of B",
        () => bctx.callByName(lib, "add_one", 1),
        TypeError,
        /^Argument 0 \(lib\) of callByName/,
      );
      expectThrow(
        "B.unloadLibrary(lib of A)",
        () => b.unloadLibrary(lib),
        TypeError,
        /belongs to another proc/,
      );
      expectThrow(
        "B.closeContext(ctx of A)",
        () => b.closeContext(ctx),
        TypeError,
        /belongs to another proc/,
      );
      const pa = proc.allocMem(16);
      expectThrow("B.freeMem(pointer of A)", () => b.freeMem(pa), TypeError, /another proc/);
      expectThrow(
        "B.readMem(pointer of A)",
        () => b.readMem(new Uint8Array(16), pa),
        TypeError,
        /another proc/,
      );
      expectThrow(
        "ctx of B reading A's memory",
        () => bctx.asyncReadMem(new Uint8Array(16), pa),
        TypeError,
        /another proc/,
      );
      const ptrArg = blib.declare("long stack_in(const int *p, int n)");
      expectThrow("A's pointer as B's kernel argument", () => ptrArg(bctx, pa, 1), TypeError, /another proc/);
      proc.freeMem(pa);
      // A pointer of a destroyed proc.
      const pb = b.allocMem(8);
      b.destroy();
      expectThrow(
        "pointer of a destroyed proc",
        () => proc.writeMem(pb, new Uint8Array(8)),
        VeoClosedError,
        /destroyed proc/,
      );
      expectThrow(
        "library of a destroyed proc",
        () => ctx.callByName(blib, "add_one", 1),
        TypeError,
        /^Argument 0 \(lib\) of callByName/,
      );
      expectThrow("context of a destroyed proc", () => f(bctx, 1), VeoClosedError, /destroyed proc/);
    } finally {
      b.destroy();
    }
    await helperGone(bpid);
    await stillUsable(proc, lib, ctx);
  },

  async "reentrant-arguments"(proc, lib, ctx) {
    const f = lib.declare("int add_one(int x)");
    let coerced = 0;
    const evil = {
      valueOf() {
        coerced++;
        ctx.close();
        return 1;
      },
      toString() {
        coerced++;
        proc.destroy();
        return "1";
      },
      [Symbol.toPrimitive]() {
        coerced++;
        proc.destroy();
        return 1;
      },
    };
    // Objects are never coerced: no user code runs, so nothing can be torn down mid-call.
    expectThrow(
      "an int argument with valueOf",
      () => f(ctx, evil as unknown as number),
      TypeError,
      /^Argument 1 \(x: int\) of add_one must be an integer/,
    );
    expectThrow(
      "callSync with toPrimitive",
      () => f.callSync(evil as unknown as number),
      TypeError,
      /^Argument 1 \(x: int\)/,
    );
    expectThrow(
      "a size with valueOf",
      () => proc.allocMem(evil as unknown as number),
      TypeError,
      /^Argument 0 \(size\) of allocMem/,
    );
    expectThrow(
      "a transfer size with valueOf",
      () => proc.readMem(new Uint8Array(8), proc.allocMem(8), evil as unknown as number),
      TypeError,
      /^Argument 2 \(size\) of readMem/,
    );
    expectThrow(
      "a prototype with toString",
      () => lib.declare(evil as unknown as string),
      TypeError,
      /C prototype must be a string/,
    );
    expectThrow(
      "a path with toString",
      () => proc.loadLibrary(evil as unknown as string),
      TypeError,
      /^Argument 0 \(path\) of loadLibrary/,
    );
    check("nothing was coerced", coerced === 0);
    // A Proxy runs user code (its traps) while it is inspected; it is refused all the same.
    let trapped = 0;
    const victim = new VeoProc(0);
    const vpid = victim._helperPid();
    const vlib = victim.loadLibrary(kernel("basic"));
    const vctx = victim.openContext();
    const vIn = vlib.declare("long stack_in(const int *p, int n)");
    const trap = new Proxy(new Int32Array(4), {
      getPrototypeOf(t) {
        trapped++;
        victim.destroy();
        return Reflect.getPrototypeOf(t);
      },
    });
    expectThrow(
      "a Proxy pointer argument that destroys the proc",
      () => vIn(vctx, trap as never, 4),
      TypeError,
      /^Argument 1 \(p: int \*\) of stack_in must be a VE pointer/,
    );
    check("the trap ran", trapped > 0 && victim.destroyed);
    expectThrow("the next call", () => vIn(vctx, null, 0), VeoClosedError, /./);
    await helperGone(vpid);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expectThrow(
      "a revoked Proxy",
      () => f(ctx, revoked.proxy as unknown as number),
      TypeError,
      /^Argument 1 \(x: int\) of add_one .*got an object/,
    );
    // Option getters run once, before anything is checked against the proc.
    const a = new Int32Array([1, 2, 3, 4]);
    expectThrow(
      "OnStack whose size getter detaches the buffer",
      () =>
        new OnStack(a, {
          get size() {
            structuredClone(a.buffer, { transfer: [a.buffer] });
            return 16;
          },
        }),
      TypeError,
      /^Argument 0 \(buffer\) of OnStack is detached/,
    );
    const doomed = new VeoProc(0);
    const dpid = doomed._helperPid();
    expectThrow(
      "openContext whose option getter destroys the proc",
      () =>
        doomed.openContext({
          get stackSize() {
            doomed.destroy();
            return 8 << 20;
          },
        }),
      VeoClosedError,
      /destroyed/,
    );
    await helperGone(dpid);
    const sleep = lib.declare("int do_sleep(int ms)");
    const c2 = proc.openContext();
    const slow = sleep(c2, 200);
    expectThrow(
      "wait whose timeout getter closes the context",
      () =>
        slow.wait({
          get timeoutMs() {
            c2.close();
            return 5000;
          },
        }),
      VeoClosedError,
      /closed/,
    );
    await stillUsable(proc, lib, ctx);
  },

  async "reentrant-callbacks"(proc, lib, ctx) {
    const sleep = lib.declare("int do_sleep(int ms)");
    const add = lib.declare("int add_one(int x)");
    // destroy() from inside a callVh function: the function's request and everything queued
    // after it settle; Node lives; the helper goes.
    {
      const p = new VeoProc(0);
      const pid = p._helperPid();
      const c = p.openContext();
      const pl = p.loadLibrary(kernel("basic"));
      const addOne = pl.declare("int add_one(int x)");
      const doSleep = pl.declare("int do_sleep(int ms)");
      const before = addOne(c, 1);
      const vh = c.callVh(() => {
        p.destroy();
        return 7;
      });
      const after = doSleep(c, 50);
      // A synchronous call runs the queued callVh function first (it would wait behind it):
      // the proc is gone when it returns, and C never sees the destroyed handle.
      expectThrow(
        "a symbol lookup behind the destroying callVh",
        () => pl.findFunction("neg_int"),
        VeoClosedError,
        /destroyed/,
      );
      // What was still uncollected when the proc went rejects with VeoClosedError (the
      // call before the callVh function may already have its result).
      const got = await Promise.allSettled([before, vh, after]);
      check(
        "before",
        got[0].status === "fulfilled" ? got[0].value === 2 : got[0].reason instanceof VeoClosedError,
      );
      check("after rejected", got[2].status === "rejected" && got[2].reason instanceof VeoClosedError);
      check("proc destroyed", p.destroyed);
      await helperGone(pid);
    }
    // close() and freeMem from inside callVh.
    {
      const c = proc.openContext();
      const m = proc.allocMem(8);
      const vh = c.callVh(() => {
        proc.freeMem(m);
        c.close();
        return 1;
      });
      const after = add(c, 1);
      await Promise.allSettled([vh]);
      await expectReject(
        "a call queued after a callVh that closed its context",
        after,
        VeoClosedError,
        /closed/,
      );
      check("freed", m.freed);
    }
    // unload() from inside callVh while a kernel of the library is queued after it.
    {
      const other = proc.loadLibrary(kernel("lifetime"));
      const c = proc.openContext();
      let unloadError: unknown;
      const vh = c.callVh(() => {
        try {
          other.unload();
        } catch (err) {
          unloadError = err;
        }
        return 1;
      });
      await vh;
      check(
        "unload inside callVh: done or a typed refusal",
        unloadError === undefined
          ? other.closed
          : unloadError instanceof Error && unloadError.name === "VeoBusyError",
      );
      c.close();
    }
    // A proc.on() listener that destroys the proc.
    {
      const p = new VeoProc(0);
      const pid = p._helperPid();
      let heard = false;
      p.on("alloc", () => {
        heard = true;
        p.destroy();
      });
      p.allocMem(8);
      await new Promise((r) => setTimeout(r, 20));
      check("listener ran", heard && p.destroyed);
      expectThrow(
        "alloc after the listener destroyed the proc",
        () => p.allocMem(8),
        VeoClosedError,
        /destroyed/,
      );
      await helperGone(pid);
    }
    // A then() callback that destroys the proc while another request is in flight.
    {
      const p = new VeoProc(0);
      const pid = p._helperPid();
      const c = p.openContext();
      const pl = p.loadLibrary(kernel("basic"));
      const c2 = p.openContext();
      const first = pl.declare("int add_one(int x)")(c, 1);
      const long = pl.declare("int do_sleep(int ms)")(c2, 300);
      const done = first.then(() => p.destroy());
      await done;
      await expectReject("the request in flight", long, VeoClosedError, /destroyed/);
      await helperGone(pid);
    }
    check("sleep still fine", (await sleep(ctx, 1)) === 1);
    await stillUsable(proc, lib, ctx);
  },

  async sizes(proc, lib, ctx) {
    // Every size and count: a typed error naming the argument, never a C call.
    const bad: Array<[unknown, ErrorClass]> = [
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [-Infinity, RangeError],
      [2 ** 53, RangeError],
      [2n ** 64n, RangeError],
      [-1n, RangeError],
      ["8", TypeError],
      [{ valueOf: () => 8 }, TypeError],
      [null, TypeError],
      [true, TypeError],
      [Symbol("8"), TypeError],
    ];
    const p = proc.allocMem(64);
    const buf = new Uint8Array(64);
    const h = proc.allocHmem(64);
    const sites: Array<[string, RegExp, (n: never) => unknown]> = [
      ["allocMem", /^Argument 0 \(size\) of allocMem/, (n) => proc.allocMem(n)],
      ["allocHmem", /^Argument 0 \(size\) of allocHmem/, (n) => proc.allocHmem(n)],
      ["adoptMem", /^Argument 1 \(size\) of adoptMem/, (n) => proc.adoptMem(0x1000n, n)],
      ["readMem", /^Argument 2 \(size\) of readMem/, (n) => proc.readMem(buf, p, n)],
      ["writeMem", /^Argument 2 \(size\) of writeMem/, (n) => proc.writeMem(p, buf, n)],
      ["asyncReadMem", /^Argument 2 \(size\) of asyncReadMem/, (n) => ctx.asyncReadMem(buf, p, n)],
      ["asyncWriteMem", /^Argument 2 \(size\) of asyncWriteMem/, (n) => ctx.asyncWriteMem(p, buf, n)],
      ["allocMemAsync", /^Argument 0 \(size\) of allocMemAsync/, (n) => ctx.allocMemAsync(n)],
      ["OnStack", /^options\.size of OnStack/, (n) => new OnStack(buf, { size: n })],
      ["hmemcpy", /^Argument 2 \(size\) of hmemcpy/, (n) => VeoHmem.hmemcpy(h, buf, n)],
    ];
    for (const [name, re, call] of sites) {
      for (const [v, cls] of bad) {
        // A non-number is a TypeError wherever it is given; bigints out of range a RangeError.
        const want = typeof v === "number" || typeof v === "bigint" ? cls : TypeError;
        expectThrow(
          `${name}(${typeof v === "symbol" ? "symbol" : String(v)})`,
          () => call(v as never),
          want,
          re,
        );
      }
    }
    for (const [v] of bad) {
      expectThrow(
        `offset(${typeof v === "symbol" ? "symbol" : String(v)})`,
        () => p.offset(v as never),
        Error,
        /^Argument 0 \(bytes\) of offset/,
      );
    }
    expectThrow(
      "a transfer larger than the buffer",
      () => proc.readMem(buf, p, 65),
      RangeError,
      /^Argument 2 \(size\) of readMem \(65\) is larger than dst/,
    );
    expectThrow(
      "a transfer past the VE block",
      () => proc.readMem(new Uint8Array(128), p),
      RangeError,
      /exceed the 64-byte VE block/,
    );
    expectThrow(
      "openContext stackSize",
      () => proc.openContext({ stackSize: -1 }),
      RangeError,
      /^options\.stackSize of openContext/,
    );
    expectThrow(
      "wait timeoutMs",
      () => lib.declare("int add_one(int x)")(ctx, 1).wait({ timeoutMs: NaN }),
      RangeError,
      /^options\.timeoutMs of wait/,
    );
    // A size of 0 is fine everywhere (nothing moves); -0 counts as 0.
    proc.readMem(buf, p, 0);
    proc.writeMem(p, buf, -0);
    proc.freeHmem(h);
    proc.freeMem(p);
    await ctx.sync({});
    await stillUsable(proc, lib, ctx);
  },

  async "frozen-objects"(proc, lib, ctx) {
    // Freezing or sealing the binding's objects changes nothing: their state is private.
    const f = lib.declare("int add_one(int x)");
    const p = proc.allocMem(8);
    for (const o of [proc, ctx, lib, f, p]) Object.freeze(o);
    const st = Object.freeze(new OnStack(new Int32Array([1, 2, 3, 4])));
    const stackIn = lib.declare("long stack_in(const int *p, int n)");
    const req = Object.freeze(f(ctx, 1));
    check("frozen request settles", (await req) === 2 && req.settled);
    const sealed = Object.seal(f(ctx, 2));
    check("sealed request waits", sealed.wait() === 3);
    check("frozen OnStack", (await stackIn(ctx, st as OnStack, 4)) === 10n);
    proc.writeMem(p, new Uint8Array(8));
    proc.freeMem(p);
    check("frozen pointer freed", p.freed);
    check("frozen options", (await add1(f, ctx, Object.freeze({ timeoutMs: 1000 }))) === 6);
    await stillUsable(proc, lib, ctx);
  },

  async "polluted-prototypes"(proc, lib, ctx) {
    const proto = Object.prototype as Record<string, unknown>;
    const polluted: Record<string, unknown> = {
      stdout: "pipe",
      stderr: "pipe",
      library: "/nonexistent/libveo.so",
      veorun: "/nonexistent/veorun",
      killGraceMs: -1,
      stackSize: 1,
      size: 1 << 30,
      intent: 2,
      timeoutMs: 0,
      signal: AbortSignal.abort(),
      // VeBuild's options: a polluted compiler would be a command run by loadSource.
      compiler: "/bin/false",
      linker: "/bin/false",
      flags: ["-DPOLLUTED=1", "-Werror=this-flag-does-not-exist"],
      linkFlags: ["-Wl,--this-flag-does-not-exist"],
      toolchain: "polluted",
      lang: "fortran",
      cache: false,
    };
    for (const [k, v] of Object.entries(polluted)) proto[k] = v;
    (Array.prototype as unknown as Record<number, unknown>)[0] = "polluted";
    try {
      const p = new VeoProc(0, {});
      const pid = p._helperPid();
      check("inherited stdout ignored", p.stdout === null && p.stderr === null);
      p.destroy();
      await helperGone(pid);
      const p2 = await VeoProc.create(0, {});
      p2.destroy();
      const c = proc.openContext({});
      const st = new OnStack(new Int32Array([1, 2, 3, 4]), {});
      check("OnStack ignores inherited size and intent", st.size === 16 && st.intent === 0);
      const stackIn = lib.declare("long stack_in(const int *p, int n)");
      const r = stackIn(c, st, 4);
      check("wait ignores inherited timeoutMs and signal", r.wait({}) === 10n);
      check("result ignores them too", (await stackIn(c, st, 4).result({})) === 10n);
      await c.sync({});
      // Node's own child_process streams read an inherited `signal` (and abort): not ours.
      delete proto.signal;
      const built = await proc.loadSource("int polluted_probe(void) { return 7; }");
      check(
        "loadSource ignores inherited build options",
        built.declare("int polluted_probe(void)").callSync() === 7,
      );
    } finally {
      for (const k of Object.keys(polluted)) delete proto[k];
      delete (Array.prototype as unknown as Record<number, unknown>)[0];
    }
    await stillUsable(proc, lib, ctx);
  },
};

async function add1(
  f: (ctx: VeoCtxt, x: number) => VeoRequest<number>,
  ctx: VeoCtxt,
  opts: { timeoutMs: number },
): Promise<number> {
  return f(ctx, 5).result(opts);
}

await runScenarios(scenarios);
