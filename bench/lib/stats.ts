/*
 * Samples and their summary. Every figure the bench reports is the median of its samples
 * (one sample per round), with the min and max beside it so the spread is visible.
 */

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : Number.NaN,
    max: samples.length ? Math.max(...samples) : Number.NaN,
    samples: [...samples],
  };
}

/** Collects samples under string keys, in the order keys first appear. */
export class SampleSet {
  private readonly map = new Map<string, number[]>();

  add(key: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let list = this.map.get(key);
    if (!list) this.map.set(key, (list = []));
    list.push(value);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string): Summary | undefined {
    const list = this.map.get(key);
    return list ? summarize(list) : undefined;
  }

  median(key: string): number {
    return this.get(key)?.median ?? Number.NaN;
  }

  toJSON(): Record<string, Summary> {
    const out: Record<string, Summary> = {};
    for (const [key, list] of this.map) out[key] = summarize(list);
    return out;
  }
}
