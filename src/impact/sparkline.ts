import type { BucketCount } from "./judge.js";

/** One sparkline point: errors in a 5-minute bin, null where Sentry has not answered for it. */
export interface SparklineBin {
  t: number;
  count: number | null;
}

export const SPARKLINE_BIN_MS = 5 * 60_000;
export const SPARKLINE_BEFORE_MS = 60 * 60_000;

/**
 * Compact counts around a deploy: 5-minute bins from an hour before to the end of its after-window.
 * Pure. Stored with each impact so a card keeps its picture after raw buckets are pruned.
 */
export function buildSparkline(buckets: readonly BucketCount[], deployAt: number, afterEnd: number): SparklineBin[] {
  const start = Math.floor((deployAt - SPARKLINE_BEFORE_MS) / SPARKLINE_BIN_MS) * SPARKLINE_BIN_MS;
  const end = Math.max(afterEnd, deployAt + SPARKLINE_BIN_MS);
  const bins: SparklineBin[] = [];
  for (let t = start; t < end; t += SPARKLINE_BIN_MS) bins.push({ t, count: null });
  for (const b of buckets) {
    if (b.start < start || b.start >= end) continue;
    const bin = bins[Math.floor((b.start - start) / SPARKLINE_BIN_MS)]!;
    bin.count = (bin.count ?? 0) + b.count;
  }
  return bins;
}
