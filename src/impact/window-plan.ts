/**
 * Pure planning of a deploy's windows and of what to ask Sentry for (no I/O, no clock: `now` is an
 * argument). All times are epoch milliseconds; intervals are half-open `[start, end)`.
 *
 * The scheduler keeps, per impact source, one error series shared by every deploy in its range. At
 * each tick it collects the intervals its open deploys need (`deployWindow`), the intervals it has
 * already fetched *settled* (fetched at least `settleMs` after the bucket ended, see
 * `settledUntil`), and asks `planFetch` what is left. Buckets fetched too soon after they ended are
 * not settled: Sentry may still be filling them, so they come back in the next plan (the "last few"
 * of DESIGN.md's data flow).
 *
 * One request per source per tick: `planFetch` may return several ranges when there are holes (a
 * Sentry outage, a failed page). When the holes are small compared with one request's reach, the
 * caller may instead ask once for `spanOf(plan)`, from the first missing bucket to the last one:
 * refetching a few settled buckets in between is harmless (the store overwrites counts) and cheaper
 * than several round trips. Holes far apart (a deploy registered hours after an older one) are
 * better fetched as separate ranges or over several ticks.
 */
import type { JudgeSettings } from "./judge-settings.js";

export interface Interval {
  start: number;
  end: number;
}

export interface DeployWindow {
  /** first baseline bucket: `deployAt − baselineMs` */
  baselineStart: number;
  /**
   * The deploy time aligned down to its bucket: the baseline is `[baselineStart, deployAt)`, the
   * after-window `[deployAt, afterEnd)`. The bucket the deploy falls in counts as "after": errors a
   * broken deploy causes at once land there, while the seconds before the deploy it also holds add
   * at most one minute of baseline rate.
   */
  deployAt: number;
  /** end of the after-window: `deployAt + afterMs`, or earlier when a later deploy cuts it short */
  afterEnd: number;
  /** when the verdict becomes final (if every after bucket is known by then): `afterEnd + settleMs` */
  finalAt: number;
}

export function alignDown(t: number, bucketMs: number): number {
  return Math.floor(t / bucketMs) * bucketMs;
}

export function alignUp(t: number, bucketMs: number): number {
  return Math.ceil(t / bucketMs) * bucketMs;
}

/**
 * The baseline and after-window of a deploy, aligned to buckets. `afterEndsAt` is the time of a
 * later deploy of the same project and environment: the after-window stops at the bucket that
 * deploy falls in (aligned down, so that no bucket belongs to two after-windows), and never before
 * this deploy's own bucket (an empty window, judged `no_data`).
 */
export function deployWindow(
  deployAt: number,
  settings: Pick<JudgeSettings, "bucketMs" | "baselineMs" | "afterMs" | "settleMs">,
  afterEndsAt?: number | null,
): DeployWindow {
  const { bucketMs } = settings;
  const at = alignDown(deployAt, bucketMs);
  let afterEnd = at + settings.afterMs;
  if (afterEndsAt !== undefined && afterEndsAt !== null && Number.isFinite(afterEndsAt)) {
    afterEnd = Math.max(at, Math.min(afterEnd, alignDown(afterEndsAt, bucketMs)));
  }
  return {
    baselineStart: at - settings.baselineMs,
    deployAt: at,
    afterEnd,
    finalAt: afterEnd + settings.settleMs,
  };
}

/** Sorted, with overlapping and touching intervals merged and empty ones dropped. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals
    .filter((i) => i.end > i.start)
    .map((i) => ({ start: i.start, end: i.end }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push(i);
  }
  return out;
}

/** `from` minus `remove`, as merged intervals. */
export function subtractIntervals(
  from: readonly Interval[],
  remove: readonly Interval[],
): Interval[] {
  const cuts = mergeIntervals(remove);
  const out: Interval[] = [];
  for (const piece of mergeIntervals(from)) {
    let start = piece.start;
    for (const cut of cuts) {
      if (cut.end <= start) continue;
      if (cut.start >= piece.end) break;
      if (cut.start > start) out.push({ start, end: cut.start });
      start = Math.max(start, cut.end);
      if (start >= piece.end) break;
    }
    if (start < piece.end) out.push({ start, end: piece.end });
  }
  return out;
}

/** `intervals` limited to `[.., limit)`. */
export function capIntervals(intervals: readonly Interval[], limit: number): Interval[] {
  return mergeIntervals(
    intervals.map((i) => ({ start: i.start, end: Math.min(i.end, limit) })),
  );
}

/**
 * The end of the last bucket a fetch made at `fetchedAt` saw settled: every bucket ending at or
 * before `fetchedAt − settleMs` (aligned down to a bucket boundary). Record
 * `{ start: requestStart, end: min(requestEnd, settledUntil(fetchedAt, …)) }` as settled.
 */
export function settledUntil(fetchedAt: number, settleMs: number, bucketMs: number): number {
  return alignDown(fetchedAt - settleMs, bucketMs);
}

export interface FetchPlanInput {
  /** what the open deploys need (baseline + after-window each); need not be aligned or merged */
  needed: readonly Interval[];
  /** what was already fetched settled; need not be aligned or merged */
  settled: readonly Interval[];
  now: number;
  bucketMs: number;
  settleMs: number;
}

/**
 * The bucket-aligned, merged ranges to ask Sentry for:
 * (union of `needed`, widened to whole buckets, capped at the last bucket boundary ≤ now — the
 * bucket in progress is not asked for) minus `settled` (narrowed to whole buckets, and never past
 * `settledUntil(now, …)`: a bucket that ended less than `settleMs` ago cannot be settled whatever
 * the caller recorded, so it is asked again).
 */
export function planFetch(input: FetchPlanInput): Interval[] {
  const { bucketMs, settleMs, now } = input;
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
  const needed = capIntervals(
    input.needed.map((i) => ({
      start: alignDown(i.start, bucketMs),
      end: alignUp(i.end, bucketMs),
    })),
    alignDown(now, bucketMs),
  );
  const settled = capIntervals(
    input.settled.map((i) => ({
      start: alignUp(i.start, bucketMs),
      end: alignDown(i.end, bucketMs),
    })),
    settledUntil(now, settleMs, bucketMs),
  );
  return subtractIntervals(needed, settled);
}

/** One range covering all of `intervals` (from the first start to the last end), or null if none. */
export function spanOf(intervals: readonly Interval[]): Interval | null {
  const merged = mergeIntervals(intervals);
  if (merged.length === 0) return null;
  return { start: merged[0]!.start, end: merged[merged.length - 1]!.end };
}
