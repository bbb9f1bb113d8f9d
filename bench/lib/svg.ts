/*
 * bench/results.svg: per-call latency against N, log-log, one panel per call-latency test and
 * one line per variant (the C client and each binding form). Hand-written SVG, no
 * dependencies; whiskers show the min-max range of each point.
 */
import type { SampleSet } from "./stats.js";
import { testTitle, testVariants, variantLabel, type Plan, type Variant } from "./plan.js";
import { callKey } from "./targets.js";

const colors: Record<Variant, string> = {
  c: "#222222",
  wait: "#1f77b4",
  await: "#d62728",
  all: "#2ca02c",
  batch: "#ff7f0e",
  sync: "#9467bd",
};

const W = 460,
  H = 320,
  M = { l: 58, r: 14, t: 34, b: 44 };

function esc(t: string): string {
  return t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  return String(Number(v.toPrecision(3)));
}

function panel(s: SampleSet, plan: Plan, test: number, ox: number, oy: number, title: string): string {
  const variants = testVariants[test];
  const pts = variants.flatMap((v) =>
    plan.ns.map((n) => s.get(callKey(v, test, n))).filter((x) => x !== undefined),
  );
  const ys = pts.flatMap((p) => [p.min, p.max]).filter((y) => y > 0);
  const parts: string[] = [`<g transform="translate(${ox},${oy})">`];
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  if (ys.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></g>`);
    return parts.join("");
  }
  const xLo = Math.min(...plan.ns),
    xHi = Math.max(...plan.ns);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys))),
    yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const pw = W - M.l - M.r,
    ph = H - M.t - M.b;
  const lx = (x: number) =>
    M.l +
    (xHi === xLo ? pw / 2 : ((Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * pw);
  const ly = (y: number) =>
    M.t + ph - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo) || 1)) * ph;
  parts.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const y of decades(yLo, yHi).filter((d) => d >= yLo && d <= yHi)) {
    for (const m of [1, 2, 5]) {
      const v = y * m;
      if (v > yHi) break;
      parts.push(
        `<line x1="${M.l}" x2="${M.l + pw}" y1="${ly(v).toFixed(1)}" y2="${ly(v).toFixed(1)}" stroke="#eee"/>`,
      );
      parts.push(
        `<text x="${M.l - 5}" y="${(ly(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${tickLabel(v)}</text>`,
      );
    }
  }
  for (const n of plan.ns) {
    parts.push(
      `<line x1="${lx(n).toFixed(1)}" x2="${lx(n).toFixed(1)}" y1="${M.t}" y2="${M.t + ph}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${lx(n).toFixed(1)}" y="${M.t + ph + 15}" text-anchor="middle" font-size="11">${tickLabel(n)}</text>`,
    );
  }
  parts.push(
    `<text x="${M.l + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">N (calls per batch)</text>`,
  );
  parts.push(
    `<text transform="translate(14,${M.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">µs per call</text>`,
  );
  // the legend goes on top of the data, on a translucent box
  const legend: string[] = [
    `<rect x="${M.l + pw - 156}" y="${M.t + 1}" width="154" height="${variants.length * 15 + 4}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
  ];
  variants.forEach((v, i) => {
    const series = plan.ns
      .map((n) => ({ n, sum: s.get(callKey(v, test, n)) }))
      .filter((p) => p.sum && p.sum.median > 0);
    if (series.length === 0) return;
    const d = series
      .map((p, k) => `${k ? "L" : "M"}${lx(p.n).toFixed(1)},${ly(p.sum!.median).toFixed(1)}`)
      .join(" ");
    const dash = v === "c" ? "" : ` stroke-dasharray="${["", "", "6 3", "2 2", "8 2 2 2"][i] ?? ""}"`;
    parts.push(`<path d="${d}" fill="none" stroke="${colors[v]}" stroke-width="2"${dash}/>`);
    for (const p of series) {
      const x = lx(p.n).toFixed(1);
      parts.push(
        `<line x1="${x}" x2="${x}" y1="${ly(p.sum!.min).toFixed(1)}" y2="${ly(p.sum!.max).toFixed(1)}" stroke="${colors[v]}"/>`,
      );
      parts.push(`<circle cx="${x}" cy="${ly(p.sum!.median).toFixed(1)}" r="3" fill="${colors[v]}"/>`);
    }
    const ly0 = M.t + 8 + i * 15;
    legend.push(
      `<line x1="${M.l + pw - 150}" x2="${M.l + pw - 130}" y1="${ly0}" y2="${ly0}" stroke="${colors[v]}" stroke-width="2"${dash}/>`,
    );
    legend.push(`<text x="${M.l + pw - 126}" y="${ly0 + 4}" font-size="11">${esc(variantLabel[v])}</text>`);
  });
  parts.push(...legend, "</g>");
  return parts.join("\n");
}

export function renderSvg(s: SampleSet, plan: Plan, subtitle: string): string {
  const width = 2 * W + 20,
    height = 2 * H + 60;
  const panels = [1, 2, 3, 4].map((t, i) =>
    panel(s, plan, t, 10 + (i % 2) * W, 40 + Math.floor(i / 2) * H, testTitle[t]),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">veo-ts call latency: per-call cost vs N (median, whiskers min–max)</text>`,
    `<text x="${width / 2}" y="36" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...panels,
    "</svg>",
  ].join("\n");
}
