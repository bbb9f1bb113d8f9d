/*
 * Shared plumbing of the binding client: key=value arguments (the C client's syntax) and
 * one JSON object per output line.
 */

export function emit(record: { kind: string; [field: string]: unknown }): void {
  process.stdout.write(JSON.stringify(record) + "\n");
}

export class Args {
  private readonly map = new Map<string, string>();

  constructor(argv: readonly string[]) {
    for (const a of argv) {
      const eq = a.indexOf("=");
      if (eq <= 0) throw new Error(`expected key=value, got '${a}'`);
      this.map.set(a.slice(0, eq), a.slice(eq + 1));
    }
  }

  str(key: string, fallback?: string): string {
    const v = this.map.get(key) ?? fallback;
    if (v === undefined) throw new Error(`missing argument ${key}=`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.map.get(key);
    if (v === undefined) {
      if (fallback === undefined) throw new Error(`missing argument ${key}=`);
      return fallback;
    }
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${key}= must be a number, got '${v}'`);
    return n;
  }

  nums(key: string, fallback?: number[]): number[] {
    const v = this.map.get(key);
    if (v === undefined) {
      if (fallback === undefined) throw new Error(`missing argument ${key}=`);
      return fallback;
    }
    return v.split(",").filter(Boolean).map(Number);
  }
}

/**
 * Warm-ups last at least this long after the proc was created, in both clients: for the
 * first tens of ms a new helper process often shares the client's CPU until the kernel's
 * load balancer moves it (measured: the C client's first figure at 1.4–1.8 µs per call
 * instead of 0.7 after a 5 000-call warm-up of ≈25 ms).
 */
export const WARMUP_MS = 300;

/** Calls (or transfers) per form in one warm-up pass, as in the C client. */
export const WARMUP_CALLS = 5_000;

/**
 * The warm-up rule of every section: at least two passes (V8 compiles during the first and
 * may recompile during the second), and more until WARMUP_MS after the proc's creation.
 */
export function warming(createdMs: number, pass: number): boolean {
  return pass < 2 || performance.now() - createdMs < WARMUP_MS;
}

export function nowUs(): number {
  return performance.now() * 1000;
}
