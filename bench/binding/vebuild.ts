/*
 * VeBuild timing for the binding client: one kernel built with an empty cache (cold: the
 * compiler runs), then again from a new VeBuild on the same cache (cached). The runner calls
 * this twice per round with the same cache directory, so "cached" is also measured as the
 * first build of a fresh Node process, which is what a user's program sees.
 */
import { VeBuild } from "../../src/index.js";
import { emit, type Args } from "./io.js";

const KERNEL = `
#include <stdint.h>
uint64_t saxpy(int n, float a, const float *x, float *y)
{
  for (int i = 0; i < n; i++)
    y[i] = a * x[i] + y[i];
  return (uint64_t)n;
}
`;

async function timedBuild(cache: string): Promise<{ ms: number; cached: boolean }> {
  const t0 = performance.now();
  const b = new VeBuild({ cache }).setCSrc("bench_saxpy", KERNEL);
  await b.buildSo();
  const ms = performance.now() - t0;
  return { ms, cached: b.lastBuild?.cached ?? false };
}

export async function vebuild(args: Args): Promise<void> {
  const cache = args.str("cache");
  const first = await timedBuild(cache);
  emit({ kind: "vebuild", phase: first.cached ? "cached" : "cold", ms: first.ms });
  const again = await timedBuild(cache);
  if (!again.cached) throw new Error("VeBuild: the second build of the same source was not a cache hit");
  emit({ kind: "vebuild", phase: "cached_warm", ms: again.ms });
}
