/**
 * The exact conditional test for a ratio of two Poisson rates (DESIGN.md, "Judging a deploy").
 *
 * With `kb` errors over `tb` minutes before a deploy and `ka` over `ta` after, conditioning on the
 * total `n = ka + kb` makes `ka ~ Binomial(n, π)` with `π = ρ·ta / (ρ·ta + tb)` where ρ is the true
 * rate ratio (after ÷ before). So a hypothesis about ρ is a hypothesis about a binomial proportion,
 * and its tails are regularized incomplete beta functions:
 *
 *   P[X ≥ k] = I_π(k, n − k + 1)        (k > 0; 1 for k = 0)
 *   P[X ≤ k] = 1 − I_π(k + 1, n − k)    (k < n; 1 for k = n)
 *
 * Written with the beta function rather than a sum of binomial terms, the same formulas accept
 * non-integer counts. The judge needs that: it runs the test on counts divided by the dispersion φ
 * (quasi-Poisson), which are rarely whole numbers. For whole numbers they are exactly the binomial
 * tails (the tests check this against sums of binomial terms).
 *
 * Pure functions, no I/O. Counts must be finite and ≥ 0, times finite and > 0 (any unit, the same
 * for both), ρ0 finite and > 0; anything else throws a RangeError, because a NaN p-value would
 * quietly read as "not significant".
 *
 * Non-finite results: a ratio or an interval bound can be Infinity (no errors before, some after)
 * or NaN (no errors at all: 0/0). These functions return them as such, since that is the
 * mathematics; the judge turns every non-finite number into `null` before it leaves the process
 * (JSON has no Infinity; `JSON.stringify(Infinity)` is `null` anyway, but silently).
 */
import betainc from "@stdlib/math-base-special-betainc";
import betaincinv from "@stdlib/math-base-special-betaincinv";

/** Errors counted over a duration, on one side of the deploy. */
export interface RateSample {
  /** error count; may be non-integer (divided by the dispersion) */
  count: number;
  /** exposure: known minutes (or any unit, the same for both samples) */
  time: number;
}

function checkSample(s: RateSample, name: string): void {
  if (!Number.isFinite(s.count) || s.count < 0) {
    throw new RangeError(`${name}.count must be a finite number ≥ 0, got ${s.count}`);
  }
  if (!Number.isFinite(s.time) || s.time <= 0) {
    throw new RangeError(`${name}.time must be a finite number > 0, got ${s.time}`);
  }
}

function checkRho(rho0: number): void {
  if (!Number.isFinite(rho0) || rho0 <= 0) {
    throw new RangeError(`rho0 must be a finite number > 0, got ${rho0}`);
  }
}

/** The binomial success probability of "an error falls after the deploy" when the true ratio is ρ. */
export function nullProportion(after: RateSample, before: RateSample, rho: number): number {
  return (rho * after.time) / (rho * after.time + before.time);
}

/** Clamps a probability computed in floating point into [0, 1]. */
function prob(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/**
 * One-sided p-value for a rise: H0 "rate ratio ≤ ρ0" against "it rose by more than ρ0".
 * P[X ≥ ka] with X ~ Bin(ka + kb, ρ0·ta / (ρ0·ta + tb)) = I_π(ka, kb + 1); 1 when ka = 0
 * (no error after the deploy is never evidence of a rise). With kb = 0 it is π^ka.
 */
export function rateRiseP(after: RateSample, before: RateSample, rho0 = 1): number {
  checkSample(after, "after");
  checkSample(before, "before");
  checkRho(rho0);
  if (after.count === 0) return 1;
  const pi = nullProportion(after, before, rho0);
  return prob(betainc(pi, after.count, before.count + 1));
}

/**
 * One-sided p-value for a drop: H0 "rate ratio ≥ ρ0" against "it fell below ρ0".
 * P[X ≤ ka] = 1 − I_π(ka + 1, kb), computed as the upper regularized function to keep precision
 * when the p-value is tiny; 1 when kb = 0 (no error before the deploy is never evidence of a drop).
 */
export function rateDropP(after: RateSample, before: RateSample, rho0 = 1): number {
  checkSample(after, "after");
  checkSample(before, "before");
  checkRho(rho0);
  if (before.count === 0) return 1;
  const pi = nullProportion(after, before, rho0);
  return prob(betainc(pi, after.count + 1, before.count, true, true));
}

/**
 * Clopper-Pearson ("exact") two-sided interval for a binomial proportion with k successes out of n
 * (k and n may be non-integer, 0 ≤ k ≤ n): lower = B⁻¹(α/2; k, n−k+1), upper = B⁻¹(1−α/2; k+1, n−k),
 * with lower 0 when k = 0 and upper 1 when k = n. With n = 0 nothing is known: [0, 1].
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): [number, number] {
  if (!Number.isFinite(k) || !Number.isFinite(n) || k < 0 || n < k) {
    throw new RangeError(`need finite 0 ≤ k ≤ n, got k=${k}, n=${n}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  }
  const alpha = 1 - confidence;
  const lower = k === 0 ? 0 : prob(betaincinv(alpha / 2, k, n - k + 1));
  const upper = k === n ? 1 : prob(betaincinv(1 - alpha / 2, k + 1, n - k));
  return [lower, upper];
}

/** Turns a proportion π (of errors falling after) into a rate ratio: (π / (1 − π)) · (tb / ta). */
export function proportionToRatio(pi: number, after: RateSample, before: RateSample): number {
  if (pi >= 1) return Infinity;
  return (pi / (1 - pi)) * (before.time / after.time);
}

/**
 * Point estimate of the rate ratio, (ka/ta) ÷ (kb/tb). Infinity when kb = 0 < ka, NaN when both are 0.
 * Dividing both counts by the same φ leaves it unchanged.
 */
export function rateRatio(after: RateSample, before: RateSample): number {
  checkSample(after, "after");
  checkSample(before, "before");
  if (before.count === 0) return after.count === 0 ? NaN : Infinity;
  return after.count / after.time / (before.count / before.time);
}

/**
 * Confidence interval for the rate ratio: the Clopper-Pearson interval on π = ka / (ka + kb),
 * mapped through π ↦ (π / (1 − π)) · (tb / ta), which is increasing, so the bounds map to bounds.
 * The upper bound is Infinity when kb = 0 (and the interval is [0, Infinity] when ka = kb = 0).
 */
export function rateRatioInterval(
  after: RateSample,
  before: RateSample,
  confidence = 0.95,
): [number, number] {
  checkSample(after, "after");
  checkSample(before, "before");
  const [lo, hi] = clopperPearson(after.count, after.count + before.count, confidence);
  return [proportionToRatio(lo, after, before), proportionToRatio(hi, after, before)];
}
