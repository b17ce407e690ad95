/**
 * Deterministic error counts per minute for one project + environment. Every minute's count is
 * drawn from a PRNG seeded by hash(seed, project, environment, minute index), so the count of a
 * minute never depends on which range a query asks for: any two queries agree, whatever their
 * start, end or interval.
 */
export type TimeInput = Date | number | string;

export interface ErrorStreamConfig {
  seed: string | number;
  /** Poisson rate before any step. */
  baseRatePerMinute: number;
  /** From `at` on, the rate is `ratePerMinute` (the latest step at or before a minute wins). */
  steps?: Array<{ at: TimeInput; ratePerMinute: number }>;
  /** `count` extra errors in the minute containing `at`. */
  spikes?: Array<{ at: TimeInput; count: number }>;
  /** Minutes in [from, to) have their rate and bursts multiplied by `factor` (default 0: an outage of traffic or ingestion). */
  drops?: Array<{ from: TimeInput; to: TimeInput; factor?: number }>;
  /** Random bursts (one retry loop logging a lot): on average `perHour` per hour, each adding min–max errors in one minute. */
  bursts?: { perHour: number; min: number; max: number };
}

export const MINUTE_MS = 60_000;

export function toEpochMs(value: TimeInput): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  return parseSentryTime(value);
}

/** ISO 8601 as Sentry accepts it; a time without a zone is UTC (Sentry's UI sends it that way). */
export function parseSentryTime(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    return n >= 1e11 ? n : n * 1000;
  }
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(trimmed) || !trimmed.includes("T") ? trimmed : `${trimmed}Z`;
  const withTime = /^\d{4}-\d\d-\d\d$/.test(zoned) ? `${zoned}T00:00:00Z` : zoned;
  return Date.parse(withTime);
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for simulated traffic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Knuth's method below 30; a rounded normal approximation above (plenty for a simulator). */
export function poisson(rate: number, random: () => number): number {
  if (!(rate > 0)) return 0;
  if (rate < 30) {
    const limit = Math.exp(-rate);
    let k = 0;
    let p = 1;
    do {
      k += 1;
      p *= random();
    } while (p > limit);
    return k - 1;
  }
  const u1 = Math.max(random(), Number.EPSILON);
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.max(0, Math.round(rate + Math.sqrt(rate) * z));
}

export class ErrorStream {
  private readonly steps: Array<{ at: number; rate: number }>;
  private readonly spikes = new Map<number, number>();
  private readonly drops: Array<{ from: number; to: number; factor: number }>;
  private readonly memo = new Map<number, number>();

  constructor(
    readonly config: ErrorStreamConfig,
    private readonly key: string,
  ) {
    this.steps = (config.steps ?? []).map((s) => ({ at: toEpochMs(s.at), rate: s.ratePerMinute })).sort((a, b) => a.at - b.at);
    for (const spike of config.spikes ?? []) {
      const minute = Math.floor(toEpochMs(spike.at) / MINUTE_MS);
      this.spikes.set(minute, (this.spikes.get(minute) ?? 0) + spike.count);
    }
    this.drops = (config.drops ?? []).map((d) => ({ from: toEpochMs(d.from), to: toEpochMs(d.to), factor: d.factor ?? 0 }));
  }

  rateAt(epochMs: number): number {
    let rate = this.config.baseRatePerMinute;
    for (const step of this.steps) {
      if (step.at <= epochMs) rate = step.rate;
      else break;
    }
    return rate;
  }

  /** Every error of the minute `minuteIndex` (epoch ms ÷ 60 000), as if fully ingested. */
  countForMinute(minuteIndex: number): number {
    const cached = this.memo.get(minuteIndex);
    if (cached !== undefined) return cached;
    const start = minuteIndex * MINUTE_MS;
    const factor = this.drops.reduce((f, d) => (start >= d.from && start < d.to ? f * d.factor : f), 1);
    const random = seededRandom(hash(`${this.config.seed}|${this.key}|${minuteIndex}`));
    let count = poisson(this.rateAt(start) * factor, random);
    const bursts = this.config.bursts;
    if (bursts && bursts.perHour > 0) {
      const burstRandom = seededRandom(hash(`${this.config.seed}|${this.key}|${minuteIndex}|burst`));
      if (burstRandom() < bursts.perHour / 60) {
        const size = bursts.min + Math.floor(burstRandom() * (bursts.max - bursts.min + 1));
        count += Math.round(size * factor);
      }
    }
    count += this.spikes.get(minuteIndex) ?? 0;
    this.memo.set(minuteIndex, count);
    return count;
  }
}
