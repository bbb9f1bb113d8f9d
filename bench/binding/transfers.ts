/*
 * Transfers through the binding, mirroring the C client: 1-byte write/read latency with
 * proc.writeMem/readMem; bandwidth with proc.writeMem/readMem (sync), ctx.asyncWriteMem/
 * asyncReadMem (submit all, then wait all) and an OnStack argument of test_bandwidth (IN =
 * write, OUT = read). Host buffers are filled before timing and VE buffers written once
 * (warm-up), as in the C client; before any of it, 5 000 small untimed transfers of the same
 * kind let the JIT settle (the calls section does the same).
 */
import { Intent, OnStack, type VeMemPtr, type VeoProc, type VeoRequest } from "../../src/index.js";
import { openSession, type Session } from "./session.js";
import { emit, nowUs, WARMUP_CALLS, WARMUP_MS, type Args } from "./io.js";

function hostBuffer(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7) & 0xff;
  return b;
}

function loopsFor(args: Args, size: number): number {
  const loops = Math.ceil(args.num("budget") / size);
  return Math.min(Math.max(loops, args.num("min_loops", 3)), args.num("max_loops", 10_000));
}

function bw(mode: string, dir: string, size: number, loops: number, us: number): void {
  emit({ kind: "bw", mode, dir, size, loops, mb_per_s: (size * loops) / us });
}

/** µs per 1-byte transfer: `iters` writeMem (write) or readMem between `byte` and `ve`. */
export function byteLoop(
  proc: VeoProc,
  ve: VeMemPtr,
  byte: Uint8Array,
  write: boolean,
  iters: number,
): number {
  const t0 = nowUs();
  if (write) for (let i = 0; i < iters; i++) proc.writeMem(ve, byte, 1);
  else for (let i = 0; i < iters; i++) proc.readMem(byte, ve, 1);
  return (nowUs() - t0) / iters;
}

export function xferLatency(args: Args): void {
  const iters = args.num("iters", 30_000);
  const s = openSession(undefined);
  try {
    const ve = s.proc.allocMem(8);
    const byte = new Uint8Array(1);
    for (let i = 0; i < WARMUP_CALLS || performance.now() - s.createdMs < WARMUP_MS; i++) {
      s.proc.writeMem(ve, byte, 1);
      s.proc.readMem(byte, ve, 1);
    }
    emit({ kind: "xfer_latency", dir: "write", iters, us: byteLoop(s.proc, ve, byte, true, iters) });
    emit({ kind: "xfer_latency", dir: "read", iters, us: byteLoop(s.proc, ve, byte, false, iters) });
    s.proc.freeMem(ve);
  } finally {
    s.close();
  }
}

function bwSync(s: Session, size: number, loops: number, buf: Uint8Array): void {
  const ve = s.proc.allocMem(size);
  s.proc.writeMem(ve, buf, size);
  const t0 = nowUs();
  for (let i = 0; i < loops; i++) s.proc.writeMem(ve, buf, size);
  const t1 = nowUs();
  for (let i = 0; i < loops; i++) s.proc.readMem(buf, ve, size);
  const t2 = nowUs();
  bw("sync", "write", size, loops, t1 - t0);
  bw("sync", "read", size, loops, t2 - t1);
  s.proc.freeMem(ve);
}

function bwAsync(s: Session, size: number, loops: number, buf: Uint8Array): void {
  const ve = s.proc.allocMem(size);
  s.proc.writeMem(ve, buf, size);
  const reqs: VeoRequest[] = new Array(loops);
  const t0 = nowUs();
  for (let i = 0; i < loops; i++) reqs[i] = s.ctx.asyncWriteMem(ve, buf, size);
  for (let i = 0; i < loops; i++) reqs[i].wait();
  const t1 = nowUs();
  for (let i = 0; i < loops; i++) reqs[i] = s.ctx.asyncReadMem(buf, ve, size);
  for (let i = 0; i < loops; i++) reqs[i].wait();
  const t2 = nowUs();
  bw("async", "write", size, loops, t1 - t0);
  bw("async", "read", size, loops, t2 - t1);
  s.proc.freeMem(ve);
}

function bwStack(s: Session, size: number, loops: number, buf: Uint8Array): void {
  const f = s.lib.declare("uint64_t test_bandwidth(char *buf, uint64_t len)");
  const dirs: [string, Intent][] = [
    ["write", Intent.IN],
    ["read", Intent.OUT],
  ];
  for (const [dir, intent] of dirs) {
    const arg = new OnStack(buf, { size, intent });
    try {
      f(s.ctx, arg, size).wait(); // warm-up, and the stack-limit probe
    } catch (e) {
      emit({ kind: "bw", mode: "stack", dir, size, error: (e as Error).message.split("\n")[0] });
      continue;
    }
    const t0 = nowUs();
    for (let i = 0; i < loops; i++) f(s.ctx, arg, size).wait();
    bw("stack", dir, size, loops, nowUs() - t0);
  }
}

/** Small transfers of the measured kind, untimed, so the loops below run JIT-compiled. */
function warmUp(s: Session, mode: string): void {
  const buf = hostBuffer(64);
  if (mode === "stack") {
    const f = s.lib.declare("uint64_t test_bandwidth(char *buf, uint64_t len)");
    for (const intent of [Intent.IN, Intent.OUT]) {
      const arg = new OnStack(buf, { size: 64, intent });
      for (let i = 0; i < WARMUP_CALLS / 2; i++) f(s.ctx, arg, 64).wait();
    }
    return;
  }
  const ve = s.proc.allocMem(64);
  for (let i = 0; i < WARMUP_CALLS / 2; i++) {
    if (mode === "sync") {
      s.proc.writeMem(ve, buf, 64);
      s.proc.readMem(buf, ve, 64);
    } else {
      s.ctx.asyncWriteMem(ve, buf, 64).wait();
      s.ctx.asyncReadMem(buf, ve, 64).wait();
    }
  }
  s.proc.freeMem(ve);
}

export function bandwidth(args: Args): void {
  const mode = args.str("mode");
  const s = openSession(mode === "stack" ? args.str("kernels") : undefined);
  try {
    warmUp(s, mode);
    for (const size of args.nums("sizes")) {
      const loops = loopsFor(args, size);
      const buf = hostBuffer(size);
      if (mode === "sync") bwSync(s, size, loops, buf);
      else if (mode === "async") bwAsync(s, size, loops, buf);
      else if (mode === "stack") bwStack(s, size, loops, buf);
      else throw new Error(`unknown bw mode ${mode}`);
    }
  } finally {
    s.close();
  }
}
