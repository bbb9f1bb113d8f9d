/*
 * The targets, checked against a run's medians. A target compares one measured number
 * with a limit; where a target covers several figures (every N >= 100, every size >= 64 MiB,
 * both directions) the worst one is what is compared, and `detail` says which it was.
 */
import type { SampleSet, Summary } from "./stats.js";
import { floorLabel, testVariants, variantLabel, type Plan, type Variant } from "./plan.js";

const MiB = 1024 * 1024;

export interface TargetResult {
  group: "binding" | "emulator";
  name: string;
  measured: number;
  cmp: "<=" | ">=" | "<";
  limit: number;
  unit: string;
  /** null: not measured in this run (e.g. the binding was not available). */
  pass: boolean | null;
  detail: string;
}

function check(measured: number, cmp: TargetResult["cmp"], limit: number): boolean | null {
  if (!Number.isFinite(measured)) return null;
  if (cmp === "<=") return measured <= limit;
  if (cmp === ">=") return measured >= limit;
  return measured < limit;
}

function worst(
  pairs: { value: number; where: string }[],
  higherIsWorse: boolean,
): { value: number; where: string } {
  let best = { value: Number.NaN, where: "not measured" };
  for (const p of pairs) {
    if (!Number.isFinite(p.value)) continue;
    if (!Number.isFinite(best.value) || (higherIsWorse ? p.value > best.value : p.value < best.value))
      best = p;
  }
  return best;
}

export function callKey(variant: Variant, test: number, n: number): string {
  return `call/${variant}/t${test}/${n}`;
}

/**
 * A key of the paired section: side "c" or "binding" (µs per call or transfer) or "ratio"
 * (binding / C of each pair); `n` for the call tests, none for the 1-byte transfers.
 */
export function pairedKey(side: "c" | "binding" | "ratio", what: string, n?: number): string {
  return n === undefined ? `paired/${side}/${what}` : `paired/${side}/${what}/${n}`;
}

export function floorKey(variant: string, n: number): string {
  return `floor/${variant}/${n}`;
}

export function callRatio(s: SampleSet, variant: Variant, test: number, n: number): number {
  return s.median(callKey(variant, test, n)) / s.median(callKey("c", test, n));
}

/** The floor loops (bench/binding/floor.ts) under each of Test 1's promise forms. */
const floorUnder: Partial<Record<Variant, string[]>> = {
  wait: ["wait"],
  await: ["await"],
  all: ["all", "all-native"],
};

/**
 * The floor loops (bench/binding/floor.ts) under `variant`, each as `ratio(floor variant)`,
 * shown beside a target as information (it is not judged): how much of the figure is V8's,
 * with no FFI at all. `ratio` is NaN where a floor was not measured.
 */
function floorNote(variant: Variant, lead: string, unit: string, ratio: (fv: string) => number): string {
  const parts = (floorUnder[variant] ?? []).flatMap((fv) => {
    const r = ratio(fv);
    return Number.isFinite(r) ? [`${floorLabel[fv]} ${r.toFixed(2)} ${unit}`] : [];
  });
  return parts.length ? `; ${lead}: ${parts.join(", ")}` : "";
}

/** The floor's own cost at N as a multiple of the C client's whole per-call cost there. */
const floorShare = (s: SampleSet, variant: Variant, n: number) =>
  floorNote(
    variant,
    "V8 floor there, no FFI",
    "x C",
    (fv) => s.median(floorKey(fv, n)) / s.median(callKey("c", 1, n)),
  );

/** The floor's own N=nMax / N=100 ratio, beside the form's flat-scaling target. */
const floorScaling = (s: SampleSet, variant: Variant, nMax: number) =>
  floorNote(
    variant,
    "V8 floor, no FFI",
    "x",
    (fv) => s.median(floorKey(fv, nMax)) / s.median(floorKey(fv, 100)),
  );

/**
 * The paired section's ratio for a target, shown beside it as information (the target stays
 * judged on the standalone C client, as the issue defines it): the median of the per-pair
 * ratios, C loop and binding interleaved in one process, with their min–max; for a call test
 * the worst median over the paired N >= 100.
 */
function pairedNote(s: SampleSet, plan: Plan, what: string, byN: boolean): string {
  const at = byN ? plan.pairedNs.filter((n) => n >= 100) : [undefined];
  let pick: { sum: Summary; n: number | undefined } | undefined;
  for (const n of at) {
    const sum = s.get(pairedKey("ratio", what, n));
    if (sum && (!pick || sum.median > pick.sum.median)) pick = { sum, n };
  }
  if (!pick) return "";
  const { median, min, max } = pick.sum;
  return (
    `paired in one process: ${median.toFixed(2)} x [${min.toFixed(2)}–${max.toFixed(2)}]` +
    (pick.n === undefined ? "" : ` at N=${pick.n}`)
  );
}

const joinWhere = (...parts: string[]) => parts.filter(Boolean).join("; ");

export function evaluateTargets(s: SampleSet, plan: Plan): TargetResult[] {
  const out: TargetResult[] = [];
  const bigN = plan.ns.filter((n) => n >= 100);
  const nMax = Math.max(...plan.ns);
  const add = (
    group: TargetResult["group"],
    name: string,
    m: { value: number; where: string },
    cmp: TargetResult["cmp"],
    limit: number,
    unit: string,
  ) =>
    out.push({
      group,
      name,
      measured: m.value,
      cmp,
      limit,
      unit,
      pass: check(m.value, cmp, limit),
      detail: m.where,
    });

  const ratioTarget = (variant: Variant, test: number, limit: number, name: string, paired = false) => {
    const w = worst(
      bigN.map((n) => ({
        value: callRatio(s, variant, test, n),
        where: `worst at N=${n}${test === 1 ? floorShare(s, variant, n) : ""}`,
      })),
      true,
    );
    const where = paired ? joinWhere(w.where, pairedNote(s, plan, `t${test}`, true)) : w.where;
    add("binding", name, { value: w.value, where }, "<=", limit, "x C");
  };
  ratioTarget("sync", 4, 1.3, "Test 4 callSync() / C", true);
  ratioTarget("wait", 2, 1.3, "Test 2 wait() / C", true);
  ratioTarget("wait", 1, 1.5, "Test 1 wait() / C", true);
  ratioTarget("await", 1, 1.5, "Test 1 await / C");
  ratioTarget("all", 1, 1.5, "Test 1 Promise.all / C");
  ratioTarget("batch", 1, 1.5, "Test 1 VeoRequest.all / C");
  ratioTarget("await", 2, 2.0, "Test 2 await / C");

  if (plan.ns.includes(100) && nMax > 100) {
    for (const [testStr, variants] of Object.entries(testVariants)) {
      const test = Number(testStr);
      for (const v of variants) {
        const ratio = s.median(callKey(v, test, nMax)) / s.median(callKey(v, test, 100));
        const floor = test === 1 ? floorScaling(s, v, nMax) : "";
        add(
          v === "c" ? "emulator" : "binding",
          `flat scaling: Test ${test} ${variantLabel[v]}`,
          { value: ratio, where: `per call at N=${nMax} / N=100${floor}` },
          "<=",
          1.2,
          "x",
        );
      }
    }
  }

  const bigSizes = plan.bwSizes.filter((b) => b >= 64 * MiB);
  for (const mode of ["sync", "async"]) {
    const pairs = bigSizes.flatMap((size) =>
      ["write", "read"].map((dir) => ({
        value: s.median(`bw/binding/${mode}/${dir}/${size}`) / s.median(`bw/c/${mode}/${dir}/${size}`),
        where: `worst: ${dir} ${size / MiB} MiB`,
      })),
    );
    add("binding", `bandwidth >= 64 MiB, ${mode}: binding / C`, worst(pairs, false), ">=", 0.95, "x C");
  }
  for (const dir of ["write", "read"]) {
    add(
      "binding",
      `1-byte ${dir} latency: binding / C`,
      {
        value: s.median(`xfer/binding/${dir}`) / s.median(`xfer/c/${dir}`),
        where: pairedNote(s, plan, dir, false),
      },
      "<=",
      1.3,
      "x C",
    );
  }
  add(
    "binding",
    "cached VeBuild",
    { value: s.median("vebuild/cached"), where: "buildSo() of an already built kernel" },
    "<=",
    100,
    "ms",
  );
  add(
    "binding",
    "host memory per request in flight",
    { value: s.median("mem/inflight_bytes/binding"), where: `RSS growth / ${plan.inflightN}, after gc` },
    "<=",
    256,
    "bytes",
  );
  add(
    "emulator",
    "idle helper RSS",
    { value: s.median("mem/idle_rss_kib/c") / 1024, where: "VmRSS of a fresh helper" },
    "<=",
    16,
    "MiB",
  );

  for (const test of [2, 1]) {
    add(
      "emulator",
      `C client Test ${test} per call`,
      worst(
        bigN.map((n) => ({ value: s.median(callKey("c", test, n)), where: `worst at N=${n}` })),
        true,
      ),
      "<",
      test === 2 ? 5 : 3,
      "us",
    );
  }
  const size64 = 64 * MiB;
  const copy = s.median(`memcpy/${size64}`);
  for (const mode of ["sync", "async"]) {
    add(
      "emulator",
      `64 MiB ${mode} transfer / memcpy`,
      worst(
        ["write", "read"].map((dir) => ({
          value: s.median(`bw/c/${mode}/${dir}/${size64}`) / copy,
          where: `worst: ${dir}`,
        })),
        false,
      ),
      ">=",
      0.8,
      "x memcpy",
    );
  }
  return out;
}
