/**
 * The deploy judge: `judgeDeploy(input)` turns a deploy's stored error series into a verdict. Pure
 * and deterministic: no I/O, no clock (`now` is an input), no randomness; the same input always
 * gives the same verdict, so it can be recomputed from the store at every tick.
 *
 * The rule (numbers in judge-settings.ts; DESIGN.md, "Judging a deploy"):
 *
 * - Windows (window-plan.ts `deployWindow`): the deploy time is aligned down to its bucket; the
 *   baseline is the `baselineMs` before it, the after-window the `afterMs` from it, cut short at
 *   `afterEndsAt` (a later deploy of the same project and environment). Buckets outside both are
 *   ignored. A bucket present in the input means Sentry answered for it (zero included); an absent
 *   one is unknown, and every count and rate uses known minutes only.
 * - Dispersion φ = max(1, variance ÷ mean) of the baseline's complete 5-minute buckets (sample
 *   variance; φ = 1 with fewer than `minDispersionBuckets` of them or a zero mean). Both counts are
 *   divided by φ before the test (quasi-Poisson): a burst of hundreds of errors in a minute then
 *   weighs as a few independent events, as bursts in the baseline showed it should. φ depends on
 *   the baseline only, so more errors after the deploy can never make the verdict better.
 * - Lone burst: in the regression tests, the busiest minute of the tested after-window counts for
 *   at most the busiest baseline minute (`forgiveLoneBurst`; why in judge-settings.ts). φ cannot
 *   help when the baseline happened to be calm; one burst in the after-window is forgiven, two are
 *   not. The improvement test uses the raw counts (a burst after never helps a deploy look better).
 * - Checkpoints: the after-data so far is tested at 5, 15, 30 and 60 minutes. A checkpoint is
 *   reached once `now` is at or past it and every after-bucket up to it is known, or, when some stay
 *   missing, `giveUpMs` after it (then with the known minutes only). With a cut window the
 *   checkpoints past the cut are replaced by one at the cut, which inherits their share of α.
 * - At each reached checkpoint, with that checkpoint's share of α (weighted Bonferroni):
 *   `unhealthy` when "ratio ≤ 1.5" is rejected (p < α_u·w) and the excess is ≥ 10 errors,
 *   else `ailing` when "ratio ≤ 1" is rejected (p < α_a·w) and the excess is ≥ 3, else `healthy`.
 *   The health is the worst over the reached checkpoints: a regression seen at 15 minutes stays,
 *   even if the 60-minute data dilutes it.
 * - `improved` when no checkpoint found a regression and, on the longest reached window, "ratio ≥
 *   1/1.5" is rejected (p < 0.01) with at least 10 errors fewer than the baseline rate predicts.
 * - New issues (first seen at or after the deploy) are all counted; one with ≥ 3 events has
 *   recurred and lifts a judged `healthy` or `improved` to `ailing` (a lone event is news, not yet a
 *   regression). It does not turn `pending` or `no_data` into a health: it has no rate to rest on.
 * - `pending` until the first checkpoint is reached with data on both sides. `no_data` once the
 *   window has closed when Sentry answered for no bucket of the baseline or none of the
 *   after-window (no rate ratio can be formed then; before the window closes, `pending`).
 * - `final` once `now ≥ finalAt` (= window end + settle delay) and every after-bucket is known, or
 *   once `giveUpMs` have passed since the window end (then with what there is). The judge trusts
 *   the store to hold settled counts by then: the planner refetches buckets fetched too early.
 *
 * The numbers in the verdict (counts, ratio, interval, p-value, excess) all come from the window
 * of the checkpoint the health rests on: the latest checkpoint with the worst health, or the longest
 * reached window when nothing was found. Counts, ratio and excess are as Sentry reported them; the
 * p-value and the interval are those of the test the health rests on (counts ÷ φ, and for the rise
 * tests the lone burst forgiven). `pValue` is the ρ0 = 1 test in the health's direction: P[rise]
 * for healthy/ailing/unhealthy, P[drop] for improved. Before the first checkpoint the numbers
 * describe the data so far (no p-value, no interval). Non-finite numbers are reported as `null`
 * (JSON has no Infinity): a ratio with no baseline errors, an interval whose upper bound is
 * unbounded.
 */
import { settingsFor, type JudgeSettings } from "./judge-settings.js";
import {
  rateDropP,
  rateRatio,
  rateRatioInterval,
  rateRiseP,
  type RateSample,
} from "./poisson-rate-test.js";
import { deployWindow } from "./window-plan.js";

export type Health = "pending" | "healthy" | "ailing" | "unhealthy" | "improved" | "no_data";
export type Sensitivity = "low" | "medium" | "high";
export interface BucketCount { start: number; count: number }   // epoch ms, aligned to the bucket size; a bucket present = Sentry answered for it (zeros included); absent = unknown
export interface NewIssueSeen { shortId: string; permalink: string; firstSeen: string; count: number }
export interface JudgeInput {
  deployAt: number;            // epoch ms
  now: number;                 // epoch ms (the clock is an input: no Date.now() inside)
  sensitivity: Sensitivity;
  buckets: BucketCount[];      // any order, may include buckets outside the windows (ignore them)
  newIssues: NewIssueSeen[];   // issues first seen at/after deployAt in that environment
  afterEndsAt?: number | null; // a later deploy of the same project+environment cuts the after-window short here
}
export interface Verdict {
  health: Health;
  final: boolean;
  baseline: { count: number; minutes: number };   // known minutes only
  after: { count: number; minutes: number };
  ratio: number | null;                   // after rate ÷ baseline rate; null when not computable
  ratioInterval: [number, number] | null; // Clopper-Pearson, finite numbers or null
  pValue: number | null;                  // the p-value the health rests on (ρ0 = 1 test)
  excess: number;                         // after count − baseline rate × after minutes, rounded to 1 decimal
  dispersion: number;                     // φ
  checkpointMinutes: number | null;       // the checkpoint the verdict rests on
  newIssueCount: number;
  explanation: string;                    // one line in words, e.g. "errors 0.4/min → 3.1/min, ×7.8, p < 0.001, 2 new issues" or why it is pending/no_data
  finalAt: number;                        // epoch ms when the verdict becomes final (window end + settle delay)
}

/** Severity of the judged healths, for "the worst so far". */
const SEVERITY = { improved: 0, healthy: 1, ailing: 2, unhealthy: 3 } as const;
type JudgedHealth = keyof typeof SEVERITY;

const MINUTE = 60_000;

/** Known buckets by start time. */
type Series = Map<number, number>;

/**
 * Indexes the buckets. Misaligned or malformed buckets are dropped (they cannot be attributed to a
 * minute); when a start appears twice the larger count wins, so the result does not depend on order.
 */
function indexBuckets(buckets: readonly BucketCount[], bucketMs: number): Series {
  const series: Series = new Map();
  for (const b of buckets) {
    if (!Number.isFinite(b.start) || b.start % bucketMs !== 0) continue;
    if (!Number.isFinite(b.count) || b.count < 0) continue;
    series.set(b.start, Math.max(series.get(b.start) ?? 0, b.count));
  }
  return series;
}

/** Count, number of known buckets, and the busiest known bucket in [from, to). */
function tally(series: Series, from: number, to: number, bucketMs: number) {
  let count = 0;
  let buckets = 0;
  let busiest = 0;
  for (let t = from; t < to; t += bucketMs) {
    const c = series.get(t);
    if (c !== undefined) {
      count += c;
      buckets += 1;
      busiest = Math.max(busiest, c);
    }
  }
  return { count, buckets, busiest, total: Math.max(0, Math.round((to - from) / bucketMs)) };
}

/** φ = max(1, sample variance ÷ mean) of the complete dispersion buckets of [from, to). */
function dispersionOf(
  series: Series,
  from: number,
  to: number,
  settings: Pick<JudgeSettings, "bucketMs" | "dispersionBucketMs" | "minDispersionBuckets">,
): number {
  const sums: number[] = [];
  const width = settings.dispersionBucketMs;
  for (let t = from; t + width <= to; t += width) {
    const { count, buckets, total } = tally(series, t, t + width, settings.bucketMs);
    if (buckets === total) sums.push(count);
  }
  if (sums.length < Math.max(2, settings.minDispersionBuckets)) return 1;
  const mean = sums.reduce((a, b) => a + b, 0) / sums.length;
  if (mean <= 0) return 1;
  const variance = sums.reduce((a, x) => a + (x - mean) ** 2, 0) / (sums.length - 1);
  return Math.max(1, variance / mean);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Errors per minute: "12", "3.1", "0.4", "0.042". */
function fmtRate(x: number): string {
  if (x === 0) return "0";
  if (x >= 10) return x.toFixed(0);
  if (x >= 0.1) return x.toFixed(1);
  return x.toPrecision(2);
}

/** "12", "7.8", "0.25", "0": two significant digits, whole numbers from 10 up. */
function fmtRatio(x: number): string {
  if (x === 0) return "0";
  if (x >= 10) return x.toFixed(0);
  return x >= 1 ? x.toFixed(1) : x.toPrecision(2);
}

function fmtP(p: number): string {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

function fmtExcess(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x)} errors`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

interface Look {
  minutes: number;
  health: JudgedHealth;
  after: { count: number; minutes: number };
  /** the busiest after-minute's count, when forgiving it as a lone burst changed the health */
  burst: number | null;
  ratio: number;
  /** the after sample of the regression tests: ÷ φ, lone burst forgiven */
  tested: RateSample;
  /** the after sample of the improvement test: ÷ φ, nothing forgiven */
  raw: RateSample;
  p1: number;
  excess: number;
  improved: boolean;
}

/** The checkpoints (minutes) and their α weights for an after-window of `windowMinutes`. */
function checkpointsFor(settings: JudgeSettings, windowMinutes: number) {
  const out: { minutes: number; weight: number }[] = [];
  let spent = 0;
  settings.checkpointMinutes.forEach((minutes, i) => {
    if (minutes < windowMinutes) {
      const weight = settings.alphaWeights[i]!;
      out.push({ minutes, weight });
      spent += weight;
    }
  });
  // The last look is at the end of the window; it gets whatever α the dropped checkpoints left.
  if (windowMinutes > 0) out.push({ minutes: windowMinutes, weight: 1 - spent });
  return out;
}

export function judgeDeploy(input: JudgeInput): Verdict {
  if (!Number.isFinite(input.deployAt) || !Number.isFinite(input.now)) {
    throw new RangeError(`deployAt and now must be finite epoch ms, got ${input.deployAt}, ${input.now}`);
  }
  const settings = settingsFor(input.sensitivity);
  const { bucketMs } = settings;
  const { now } = input;
  const win = deployWindow(input.deployAt, settings, input.afterEndsAt);
  const series = indexBuckets(input.buckets, bucketMs);

  const base = tally(series, win.baselineStart, win.deployAt, bucketMs);
  const baseline = { count: base.count, minutes: (base.buckets * bucketMs) / MINUTE };
  const phi = dispersionOf(series, win.baselineStart, win.deployAt, settings);
  const beforeSample: RateSample = { count: base.count / phi, time: baseline.minutes };

  const windowMinutes = (win.afterEnd - win.deployAt) / MINUTE;
  const whole = tally(series, win.deployAt, win.afterEnd, bucketMs);
  const afterComplete = whole.buckets === whole.total;
  const final = now >= win.finalAt && (afterComplete || now >= win.afterEnd + settings.giveUpMs);

  const newIssueCount = input.newIssues.length;
  const recurring = input.newIssues
    .filter((i) => i.count >= settings.recurringIssueEvents)
    .sort((a, b) => b.count - a.count || a.shortId.localeCompare(b.shortId));

  // Test the after-data at every reached checkpoint.
  const looks: Look[] = [];
  for (const cp of checkpointsFor(settings, windowMinutes)) {
    const end = win.deployAt + cp.minutes * MINUTE;
    const part = tally(series, win.deployAt, end, bucketMs);
    const reached = now >= end && (part.buckets === part.total || now >= end + settings.giveUpMs);
    if (!reached) break;
    if (part.buckets === 0 || base.buckets === 0) continue; // nothing to compare at this look
    const after = { count: part.count, minutes: (part.buckets * bucketMs) / MINUTE };
    const expected = (base.count / baseline.minutes) * after.minutes;
    // The regression tests forgive one burst: the busiest after-minute counts for at most the
    // busiest baseline minute. Σc − max(0, max c − m) never decreases when any c grows.
    const forgiven = settings.forgiveLoneBurst ? Math.max(0, part.busiest - base.busiest) : 0;
    const level = (tested: number) => {
      const sample: RateSample = { count: tested / phi, time: after.minutes };
      // Excesses are compared after rounding, so that the card never shows "+3.0 errors" under a
      // rule "excess ≥ 3" that was not met.
      const testedExcess = round1(tested - expected);
      const p1 = rateRiseP(sample, beforeSample, 1);
      const { ailing, unhealthy } = settings;
      const pAiling = ailing.rho0 === 1 ? p1 : rateRiseP(sample, beforeSample, ailing.rho0);
      const pUnhealthy = rateRiseP(sample, beforeSample, unhealthy.rho0);
      let health: JudgedHealth = "healthy";
      if (pUnhealthy < unhealthy.alpha * cp.weight && testedExcess >= unhealthy.minExcess) {
        health = "unhealthy";
      } else if (pAiling < ailing.alpha * cp.weight && testedExcess >= ailing.minExcess) {
        health = "ailing";
      }
      return { health, p1, sample };
    };
    const { health, p1, sample: afterSample } = level(after.count - forgiven);
    // Said in the explanation only when forgiving the burst changed the health.
    const burstForgiven = forgiven > 0 && level(after.count).health !== health;
    const excess = round1(after.count - expected);
    const rawSample: RateSample = { count: after.count / phi, time: after.minutes };
    const pDrop = rateDropP(rawSample, beforeSample, settings.improved.rho0);
    looks.push({
      minutes: cp.minutes,
      health,
      after,
      burst: burstForgiven ? part.busiest : null,
      ratio: rateRatio(
        { count: after.count, time: after.minutes },
        { count: base.count, time: baseline.minutes },
      ),
      tested: afterSample,
      raw: rawSample,
      p1,
      excess,
      improved: pDrop < settings.improved.alpha && -excess >= settings.improved.minDrop,
    });
  }

  const common = {
    final,
    baseline,
    dispersion: phi,
    newIssueCount,
    finalAt: win.finalAt,
  };
  const issuesText = newIssueCount > 0 ? `, ${plural(newIssueCount, "new issue")}` : "";

  if (looks.length === 0) {
    // Nothing judged yet: describe the data so far.
    const after = { count: whole.count, minutes: (whole.buckets * bucketMs) / MINUTE };
    const ratio =
      after.minutes > 0 && baseline.minutes > 0
        ? finiteOrNull(
            rateRatio(
              { count: after.count, time: after.minutes },
              { count: base.count, time: baseline.minutes },
            ),
          )
        : null;
    const excess =
      baseline.minutes > 0
        ? round1(after.count - (base.count / baseline.minutes) * after.minutes)
        : round1(after.count);
    const closed = now >= win.afterEnd;
    const noData = closed && (base.buckets === 0 || whole.buckets === 0);
    let explanation: string;
    if (noData) {
      if (whole.total === 0) {
        explanation = `no data: a later deploy followed within the same minute, so there is no after-window${issuesText}`;
      } else if (base.buckets === 0 && whole.buckets === 0) {
        explanation = `no data: Sentry answered for no minute of the baseline nor of the after-window${issuesText}`;
      } else if (base.buckets === 0) {
        explanation = `no data: Sentry answered for no minute of the ${settings.baselineMs / 3_600_000} h baseline${issuesText}`;
      } else {
        explanation = `no data: Sentry answered for no minute after the deploy${issuesText}`;
      }
    } else {
      // (An empty window is no_data as soon as its deploy minute starts, so only a clock before
      // the deploy gets here without a checkpoint.)
      const first = checkpointsFor(settings, windowMinutes)[0] ?? { minutes: 0 };
      const firstEnd = win.deployAt + first.minutes * MINUTE;
      let why: string;
      if (first.minutes === 0) {
        why = "waiting for the deploy time";
      } else if (now < firstEnd) {
        why = `waiting for the first ${first.minutes} min after the deploy`;
      } else if (base.buckets === 0) {
        why = "Sentry has answered for no minute of the baseline yet";
      } else if (whole.buckets === 0) {
        why = "Sentry has answered for no minute after the deploy yet";
      } else {
        why = `waiting for Sentry to answer for the first ${first.minutes} min`;
      }
      explanation = `pending: ${why} (${after.minutes} of ${whole.total} min known, ${after.count} errors)${issuesText}`;
    }
    return {
      ...common,
      health: noData ? "no_data" : "pending",
      after,
      ratio,
      ratioInterval: null,
      pValue: null,
      excess,
      checkpointMinutes: null,
      explanation,
    };
  }

  // The worst health over the reached checkpoints; the latest look with it is what it rests on.
  let restsOn = looks[looks.length - 1]!;
  for (const look of looks) {
    if (SEVERITY[look.health] >= SEVERITY[restsOn.health]) restsOn = look;
  }
  let health: JudgedHealth = restsOn.health;
  const longest = looks[looks.length - 1]!;
  if (health === "healthy" && longest.improved) {
    health = "improved";
    restsOn = longest;
  }
  let lift = "";
  if (SEVERITY[health] < SEVERITY.ailing && recurring.length > 0) {
    const top = recurring[0]!;
    lift = `; new issue ${top.shortId} recurred (${top.count} events): at least ailing`;
    health = "ailing";
  }

  const before = { count: base.count, time: baseline.minutes };
  const ratio = finiteOrNull(restsOn.ratio);
  // The p-value and the interval go with the test the health rests on: the rise tests (on the
  // tested counts) or, for `improved`, the drop test (on the raw counts). `pValue` is the ρ0 = 1
  // test in that direction, whatever ρ0 the decision itself used.
  const sample = health === "improved" ? restsOn.raw : restsOn.tested;
  const pValue = health === "improved" ? rateDropP(sample, beforeSample, 1) : restsOn.p1;
  const [lo, hi] = rateRatioInterval(sample, beforeSample, settings.intervalConfidence);
  const ratioInterval: [number, number] | null =
    Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : null;
  const rateText = `errors ${fmtRate(before.count / before.time)}/min → ${fmtRate(
    restsOn.after.count / restsOn.after.minutes,
  )}/min`;
  const ratioText = ratio === null ? "" : `, ×${fmtRatio(ratio)}`;
  const phiText = phi > 1 ? `, dispersion ${phi.toFixed(1)}` : "";
  const burstText =
    restsOn.burst !== null
      ? `, a lone burst of ${restsOn.burst} errors in one minute counted as ${base.busiest}`
      : "";
  const explanation =
    `${health} at ${restsOn.minutes} min: ${rateText}${ratioText}, ${fmtP(pValue)}, ` +
    `${fmtExcess(restsOn.excess)}${phiText}${burstText}${issuesText}${lift}`;

  return {
    ...common,
    health,
    after: restsOn.after,
    ratio,
    ratioInterval,
    pValue,
    excess: restsOn.excess,
    checkpointMinutes: restsOn.minutes,
    explanation,
  };
}
