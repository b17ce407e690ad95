/**
 * Test helpers for the impact engine: exact binomial probabilities summed term by term with
 * whole-number arithmetic (BigInt), independent of the incomplete beta function the code under
 * test uses, and a small seeded PRNG for the simulations.
 */

function choose(n: number, k: number): bigint {
  let c = 1n;
  for (let i = 1; i <= k; i++) c = (c * BigInt(n - k + i)) / BigInt(i);
  return c;
}

/**
 * P[lo ≤ X ≤ hi] for X ~ Binomial(n, a / (a + b)), a and b positive whole numbers:
 * Σ C(n, k) · a^k · b^(n−k) / (a + b)^n, summed exactly, then divided once.
 */
export function exactBinomialRange(n: number, a: number, b: number, lo: number, hi: number): number {
  const A = BigInt(a);
  const B = BigInt(b);
  let numerator = 0n;
  for (let k = Math.max(0, lo); k <= Math.min(n, hi); k++) {
    numerator += choose(n, k) * A ** BigInt(k) * B ** BigInt(n - k);
  }
  const denominator = (A + B) ** BigInt(n);
  const scale = 10n ** 60n;
  return Number((numerator * scale) / denominator) / 1e60;
}

/** P[X ≥ k] for X ~ Binomial(n, a / (a + b)). */
export function exactUpperTail(n: number, a: number, b: number, k: number): number {
  return exactBinomialRange(n, a, b, k, n);
}

/** P[X ≤ k] for X ~ Binomial(n, a / (a + b)). */
export function exactLowerTail(n: number, a: number, b: number, k: number): number {
  return exactBinomialRange(n, a, b, 0, k);
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson draw (Knuth's method; fine for the small means the tests use). */
export function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}
