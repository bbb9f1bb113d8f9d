/*
 * Summarises V8 CPU profiles (node --cpu-prof, or npm run bench -- --cpu-prof <dir>): self
 * time per function, heaviest first, for the profile of the thread that ran the benchmark
 * (tsx's loader thread writes a second, idle profile, which is skipped).
 *
 *   tsx bench/profile-summary.ts <file.cpuprofile | dir> [top=25]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function summarize(p: Profile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame;
    const key = `${cf.functionName || "(anonymous)"} ${basename(cf.url) || ""}`.trim();
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  return self;
}

const [target, topArg] = process.argv.slice(2);
if (!target) throw new Error("usage: tsx bench/profile-summary.ts <file.cpuprofile | dir> [top]");
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(target, f))
  : [target];
const top = Number(topArg ?? 25);
for (const file of files) {
  const self = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const busy = total - (self.get("(idle)") ?? 0);
  if (busy < total * 0.2) continue; // the loader thread: almost all idle
  console.log(`== ${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`,
    );
  }
}
