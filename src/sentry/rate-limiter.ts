/**
 * Keeps one client polite towards Sentry, in the two ways SaaS Sentry limits a caller
 * (NOTES.md, "Rate limits"): a fixed window of requests per endpoint, and a cap on concurrent
 * requests. Self-hosted Sentry sends no rate-limit headers; the gate then only applies its own
 * default concurrency.
 *
 * - Concurrency: a semaphore whose size is `min(maxConcurrent, X-Sentry-Rate-Limit-ConcurrentLimit)`.
 * - Slow start: until an endpoint key has answered once, only one request to it is in flight, so
 *   the first burst of a fresh client cannot overrun limits it has not learnt yet.
 * - Window: per endpoint key, the last `-Remaining`/`-Reset` seen, decremented locally for every
 *   request sent, so a burst of queued calls does not overrun a window that is nearly spent.
 *   At 0 remaining, nothing is sent for that endpoint before the reset time. When the window
 *   has passed, a new one with `-Limit` requests is assumed (for at most a second, until an
 *   answer tells its real end), so a long queue does not rush out all at once either.
 * - 429: `blockUntil(key, time)` holds every request to that endpoint until then.
 */
export interface RequestGateOptions {
  maxConcurrent: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Thrown by `acquire` when the wait Sentry asks for is longer than the caller allows. */
export class GateWaitTooLongError extends Error {
  constructor(readonly retryAt: number) {
    super(`rate limited until ${new Date(retryAt).toISOString()}`);
    this.name = "GateWaitTooLongError";
  }
}

interface WindowBudget {
  remaining: number;
  resetAt: number; // epoch ms
  limit: number | undefined;
  /** A window assumed after the last known one ended; any answer's headers replace it. */
  assumed: boolean;
}

/** How long an assumed window lasts before another is assumed (Sentry's windows are ≥ 1 s). */
const ASSUMED_WINDOW_MS = 1_000;

export const RATE_LIMIT_HEADERS = {
  limit: "x-sentry-rate-limit-limit",
  remaining: "x-sentry-rate-limit-remaining",
  reset: "x-sentry-rate-limit-reset",
  concurrentLimit: "x-sentry-rate-limit-concurrentlimit",
  concurrentRemaining: "x-sentry-rate-limit-concurrentremaining",
} as const;

function headerNumber(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

export class RequestGate {
  private inFlight = 0;
  private limit = 1; // slow start: see the class comment
  private readonly waiters: Array<() => void> = [];
  private readonly budgets = new Map<string, WindowBudget>();
  private readonly blocked = new Map<string, number>();
  /** Keys that have answered at least once. */
  private readonly learned = new Set<string>();
  /** Per unlearned key, settles when its one probing request is done. */
  private readonly probes = new Map<string, Promise<void>>();

  constructor(private readonly options: RequestGateOptions) {}

  /** The concurrency currently allowed (for tests and metrics). */
  get concurrencyLimit(): number {
    return this.limit;
  }

  /**
   * Waits until a request to `key` may be sent, then holds a concurrency slot until the returned
   * release function is called (exactly once; further calls are ignored).
   */
  async acquire(key: string, maxWaitMs: number): Promise<() => void> {
    for (;;) {
      const until = this.sendableAt(key);
      const now = this.options.now();
      if (until > now) {
        if (until - now > maxWaitMs) throw new GateWaitTooLongError(until);
        await this.options.sleep(until - now);
        continue;
      }
      const probe = this.probes.get(key);
      if (probe && !this.learned.has(key)) {
        await probe;
        continue;
      }
      await this.takeSlot();
      // The window may have been spent, a 429 seen, or another call become the probe, while
      // this one waited for a slot.
      if (this.sendableAt(key) > this.options.now() || (!this.learned.has(key) && this.probes.has(key))) {
        this.releaseSlot();
        continue;
      }
      let finishProbe: (() => void) | undefined;
      if (!this.learned.has(key)) {
        let settle!: () => void;
        this.probes.set(key, new Promise<void>((resolve) => (settle = resolve)));
        finishProbe = () => {
          this.probes.delete(key);
          settle();
        };
      }
      this.spend(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.releaseSlot();
        finishProbe?.();
      };
    }
  }

  /** Learns limits from an answer's headers (any status). */
  observe(key: string, headers: Headers): void {
    this.learned.add(key);
    const concurrent = headerNumber(headers, RATE_LIMIT_HEADERS.concurrentLimit);
    this.limit = Math.max(1, Math.min(this.options.maxConcurrent, concurrent ?? this.options.maxConcurrent));
    const remaining = headerNumber(headers, RATE_LIMIT_HEADERS.remaining);
    const reset = headerNumber(headers, RATE_LIMIT_HEADERS.reset);
    if (remaining !== undefined && reset !== undefined) {
      const resetAt = reset * 1000;
      const limit = headerNumber(headers, RATE_LIMIT_HEADERS.limit);
      const known = this.budgets.get(key);
      if (!known || known.assumed || resetAt > known.resetAt) {
        this.budgets.set(key, { remaining, resetAt, limit, assumed: false });
      } else if (resetAt === known.resetAt) {
        // Answers arrive out of order; the smaller count is the more recent truth.
        known.remaining = Math.min(known.remaining, remaining);
      } // an answer from an older window says nothing about the current one
    }
    this.pump();
  }

  /** Holds every request to `key` until `epochMs` (after a 429). */
  blockUntil(key: string, epochMs: number): void {
    this.blocked.set(key, Math.max(this.blocked.get(key) ?? 0, epochMs));
  }

  /** Epoch ms from which a request to `key` may be sent (≤ now when it may go at once). */
  sendableAt(key: string): number {
    const now = this.options.now();
    let until = this.blocked.get(key) ?? 0;
    if (until <= now) this.blocked.delete(key);
    const budget = this.budgets.get(key);
    if (budget && budget.resetAt <= now) {
      if (budget.limit === undefined) {
        this.budgets.delete(key);
      } else {
        budget.remaining = budget.limit;
        budget.resetAt = now + ASSUMED_WINDOW_MS;
        budget.assumed = true;
      }
    }
    if (budget && budget.remaining <= 0 && budget.resetAt > now) until = Math.max(until, budget.resetAt);
    return until;
  }

  private spend(key: string): void {
    const budget = this.budgets.get(key);
    if (budget && budget.resetAt > this.options.now()) budget.remaining -= 1;
  }

  private takeSlot(): Promise<void> {
    if (this.inFlight < this.limit) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private releaseSlot(): void {
    this.inFlight -= 1;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.waiters.length > 0) {
      this.inFlight += 1;
      this.waiters.shift()!();
    }
  }
}
