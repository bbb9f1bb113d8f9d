/*
 * What a run measures: the call-latency batch sizes, transfer sizes, repeats and budgets,
 * for a full run and for --quick. Also the series (client x test x variant) the tables and
 * the chart are made of.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Plan {
  quick: boolean;
  /** Rounds: each figure gets one sample per round; the report shows median, min, max. */
  rounds: number;
  /** Call-latency batch sizes N. */
  ns: number[];
  /** A batch of N is repeated until at least this many calls were made (small N). */
  minCalls: number;
  /** 1-byte transfers per direction and sample. */
  xferIters: number;
  bwSizes: number[];
  stackSizes: number[];
  /** Bytes moved per size and sample (clamped to [minLoops, maxLoops] transfers). */
  bwBudget: number;
  bwMaxLoops: number;
  memcpySizes: number[];
  /** Requests kept in flight for the memory figure, and how often it is repeated. */
  inflightN: number;
  memRounds: number;
  vebuildRounds: number;
  /**
   * The paired section (C loops and binding in one process, one process per round): batch
   * sizes N, pairs per N (and per transfer direction) in each round, calls per pair (batches
   * of N until at least this many) and 1-byte transfers per pair.
   */
  pairedNs: number[];
  pairedSamples: number;
  pairedMinCalls: number;
  pairedIters: number;
}

export function makePlan(quick: boolean): Plan {
  const bwSizes = [1, 4, 16, 64, 256].map((k) => k * KiB).concat([1, 4, 16, 64, 256].map((m) => m * MiB));
  if (quick) {
    return {
      quick,
      rounds: 3,
      ns: [1, 100, 10_000, 100_000],
      minCalls: 2_000,
      xferIters: 5_000,
      bwSizes: [1 * KiB, 64 * KiB, 1 * MiB, 64 * MiB, 256 * MiB],
      stackSizes: [1 * KiB, 64 * KiB, 1 * MiB, 16 * MiB],
      bwBudget: 128 * MiB,
      bwMaxLoops: 2_000,
      memcpySizes: [1 * KiB, 64 * KiB, 1 * MiB, 64 * MiB, 256 * MiB],
      inflightN: 300_000,
      memRounds: 1,
      vebuildRounds: 1,
      pairedNs: [100, 10_000, 100_000],
      pairedSamples: 2,
      pairedMinCalls: 5_000,
      pairedIters: 5_000,
    };
  }
  return {
    quick,
    rounds: 11,
    ns: [1, 10, 100, 1_000, 10_000, 100_000, 300_000],
    minCalls: 20_000,
    xferIters: 30_000,
    bwSizes,
    stackSizes: [1, 16, 256].map((k) => k * KiB).concat([1, 4, 16, 32, 48, 61].map((m) => m * MiB)),
    bwBudget: 512 * MiB,
    bwMaxLoops: 20_000,
    memcpySizes: bwSizes,
    inflightN: 300_000,
    memRounds: 3,
    vebuildRounds: 3,
    pairedNs: [100, 10_000, 300_000],
    pairedSamples: 2,
    pairedMinCalls: 20_000,
    pairedIters: 20_000,
  };
}

export type Variant = "c" | "wait" | "await" | "all" | "batch" | "sync";

export const variantLabel: Record<Variant, string> = {
  c: "C client",
  wait: "binding wait()",
  await: "binding await",
  all: "binding Promise.all",
  batch: "binding VeoRequest.all",
  sync: "binding callSync()",
};

/** The variants measured per call-latency test; the first is the C reference. */
export const testVariants: Record<number, Variant[]> = {
  1: ["c", "wait", "await", "all", "batch"],
  2: ["c", "wait", "await"],
  3: ["c", "wait", "await"],
  4: ["c", "sync"],
};

/** V8's floor under Test 1's forms (bench/binding/floor.ts), by record variant. */
export const floorLabel: Record<string, string> = {
  wait: "N request-sized objects kept, a bigint each",
  await: "await over thenables",
  all: "Promise.all over thenables",
  "all-native": "Promise.all over native promises",
};

export const testTitle: Record<number, string> = {
  1: "Test 1: submit N, then wait N",
  2: "Test 2: N x (submit + wait)",
  3: "Test 3: submit N, wait only the last",
  4: "Test 4: N synchronous calls",
};

/** What the paired section measures (bench/binding/paired.ts), by record `what`. */
export const pairedLabel: Record<string, string> = {
  t1: "Test 1 wait()",
  t2: "Test 2 wait()",
  t4: "Test 4 callSync()",
  write: "1-byte write",
  read: "1-byte read",
};

/** The paired call tests, as record `what`; the rest of pairedLabel are transfers (no N). */
export const pairedCallTests = ["t1", "t2", "t4"];

export function formatSize(bytes: number): string {
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  if (bytes >= KiB) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}
