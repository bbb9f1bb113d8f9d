/*
 * The printed tables (markdown, so the same text goes to the terminal and into
 * bench/README.md). Each cell is "median [min-max]" of a figure; ratios are binding / C
 * medians.
 */
import type { SampleSet, Summary } from "./stats.js";
import {
  floorLabel,
  formatSize,
  pairedCallTests,
  pairedLabel,
  testTitle,
  testVariants,
  variantLabel,
  type Plan,
} from "./plan.js";
import { callKey, floorKey, pairedKey, type TargetResult } from "./targets.js";

function sig(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "–";
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

function cell(s: Summary | undefined, digits = 3): string {
  if (!s) return "–";
  return `${sig(s.median, digits)} [${sig(s.min, digits)}–${sig(s.max, digits)}]`;
}

function ratio(a: number, b: number): string {
  const r = a / b;
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "–";
}

/** A markdown table; the first `leftCols` columns are text (left-aligned), the rest numbers. */
function table(header: string[], rows: string[][], leftCols = 1): string {
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < leftCols ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

export function callTables(s: SampleSet, plan: Plan): string {
  const parts: string[] = ["### Call latency (µs per call: median [min–max]; × = binding / C)"];
  for (const [testStr, variants] of Object.entries(testVariants)) {
    const test = Number(testStr);
    const header = [
      "N",
      ...variants.flatMap((v) => (v === "c" ? [variantLabel[v]] : [variantLabel[v], "×"])),
    ];
    const rows = plan.ns.map((n) => {
      const cMed = s.median(callKey("c", test, n));
      return [
        String(n),
        ...variants.flatMap((v) => {
          const sum = s.get(callKey(v, test, n));
          return v === "c" ? [cell(sum)] : [cell(sum), ratio(sum?.median ?? NaN, cMed)];
        }),
      ];
    });
    parts.push(`#### ${testTitle[test]}\n\n${table(header, rows)}`);
    if (test === 1) parts.push(floorTable(s, plan));
  }
  return parts.filter(Boolean).join("\n\n");
}

/** V8's own cost per element of Test 1's promise loops, measured with no FFI (binding/floor.ts). */
function floorTable(s: SampleSet, plan: Plan): string {
  const variants = Object.keys(floorLabel);
  if (!plan.ns.some((n) => variants.some((v) => s.has(floorKey(v, n))))) return "";
  const rows = plan.ns.map((n) => [String(n), ...variants.map((v) => cell(s.get(floorKey(v, n))))]);
  return (
    "##### Test 1: V8's own cost per element, no FFI (µs; settled objects, same loops, binding client's process)\n\n" +
    table(["N", ...variants.map((v) => floorLabel[v])], rows)
  );
}

export function transferTables(s: SampleSet, plan: Plan): string {
  const parts: string[] = [];
  parts.push(
    "### 1-byte transfer latency (µs per transfer)\n\n" +
      table(
        ["direction", "C client", "binding", "×"],
        ["write", "read"].map((dir) => {
          const c = s.get(`xfer/c/${dir}`),
            b = s.get(`xfer/binding/${dir}`);
          return [dir, cell(c), cell(b), ratio(b?.median ?? NaN, c?.median ?? NaN)];
        }),
      ),
  );
  const modes: [string, string, number[]][] = [
    ["sync", "veo_write_mem / veo_read_mem vs proc.writeMem / proc.readMem", plan.bwSizes],
    [
      "async",
      "submit all, then wait all: veo_async_write_mem / _read_mem vs ctx.asyncWriteMem / asyncReadMem",
      plan.bwSizes,
    ],
    ["stack", "OnStack argument of test_bandwidth: IN = write, OUT = read", plan.stackSizes],
  ];
  for (const [mode, what, sizes] of modes) {
    const rows = sizes.map((size) => {
      const r = [formatSize(size)];
      for (const dir of ["write", "read"]) {
        const c = s.get(`bw/c/${mode}/${dir}/${size}`),
          b = s.get(`bw/binding/${mode}/${dir}/${size}`);
        r.push(cell(c, 4), cell(b, 4), ratio(b?.median ?? NaN, c?.median ?? NaN));
      }
      if (mode === "sync") r.push(cell(s.get(`memcpy/${size}`), 4));
      return r;
    });
    const header = ["size", "C write", "binding write", "×", "C read", "binding read", "×"];
    if (mode === "sync") header.push("memcpy");
    parts.push(`### Bandwidth, ${mode} (MB/s; ${what})\n\n${table(header, rows)}`);
  }
  return parts.join("\n\n");
}

/**
 * The paired section (bench/binding/paired.ts): the C client's loops and the binding's timed
 * next to each other in one process, so each pair shares one machine state; × is the median
 * of the per-pair ratios, not a ratio of medians.
 */
export function pairedTable(s: SampleSet, plan: Plan): string {
  const rows: string[][] = [];
  for (const what of Object.keys(pairedLabel)) {
    const ns = pairedCallTests.includes(what) ? plan.pairedNs : [undefined];
    for (const n of ns) {
      const r = s.get(pairedKey("ratio", what, n));
      rows.push([
        pairedLabel[what],
        n === undefined ? "–" : String(n),
        cell(s.get(pairedKey("c", what, n))),
        cell(s.get(pairedKey("binding", what, n))),
        r ? `${r.median.toFixed(2)}× [${r.min.toFixed(2)}–${r.max.toFixed(2)}]` : "–",
      ]);
    }
  }
  return (
    "### Paired in one process (C loop and binding interleaved in the binding client's process)\n\n" +
    `µs per call or transfer, over every pair (${plan.pairedSamples} per round); × = median of the ` +
    "per-pair ratios binding / C [min–max]. The C loop is the C client's own (bench/c/loops.c), " +
    "called through koffi on the binding's proc and context.\n\n" +
    table(["measured", "N", "C loop", "binding", "× paired"], rows, 2)
  );
}

export function memoryAndBuildTables(s: SampleSet, plan: Plan): string {
  const kib = (key: string) => {
    const v = s.get(key);
    return v ? { ...v, median: v.median / 1024, min: v.min / 1024, max: v.max / 1024 } : undefined;
  };
  const mem = table(
    ["figure", "value"],
    [
      [
        `C client: host bytes per request in flight (${plan.inflightN} queued)`,
        cell(s.get("mem/inflight_bytes/c")),
      ],
      [
        `binding: host bytes per request in flight (VeoRequest objects, after gc; 2nd pass)`,
        cell(s.get("mem/inflight_bytes/binding")),
      ],
      [
        `binding: the same, 1st pass in the process (includes V8 young-generation growth)`,
        cell(s.get("mem/inflight_bytes/binding-first")),
      ],
      [
        `binding: each request also awaited (a Promise each; 2nd pass)`,
        cell(s.get("mem/inflight_bytes/binding-promise")),
      ],
      [
        `binding: each request also awaited, 1st pass`,
        cell(s.get("mem/inflight_bytes/binding-promise-first")),
      ],
      ["idle helper process RSS (MiB)", cell(kib("mem/idle_rss_kib/c"))],
    ],
  );
  const build = table(
    ["figure", "ms"],
    [
      ["VeBuild cold build (empty cache, gcc/ncc runs)", cell(s.get("vebuild/cold"))],
      [
        "VeBuild cached build (same source, first build of a new Node process)",
        cell(s.get("vebuild/cached")),
      ],
      [
        "VeBuild cached build (same source, new VeBuild in a warm process)",
        cell(s.get("vebuild/cached_warm")),
      ],
    ],
  );
  return `### Memory\n\n${mem}\n\n### VeBuild\n\n${build}`;
}

export function targetTable(targets: TargetResult[]): string {
  const rows = targets.map((t) => [
    t.group,
    t.name,
    `${sig(t.measured)} ${t.unit}`,
    `${t.cmp} ${t.limit} ${t.unit}`,
    t.pass === null ? "not measured" : t.pass ? "pass" : "**MISS**",
    t.detail,
  ]);
  return "### Targets\n\n" + table(["for", "target", "measured", "limit", "result", "where"], rows, 2);
}
