/**
 * Pure helpers that turn Sentry's two count-series shapes into `{ start, count }` buckets.
 * Kept apart from the HTTP client so the shape handling is tested without a server.
 */
export interface CountBucket {
  /** Bucket start, epoch ms. */
  start: number;
  count: number;
}

export interface RawPoint {
  /** epoch ms */
  at: number;
  value: number;
}

/**
 * Epoch seconds or milliseconds → ms, decided by magnitude: 1e11 s is the year 5138 and 1e11 ms is
 * March 1973, so no real timestamp of either unit is ambiguous.
 */
export function toEpochMs(value: number): number {
  return Math.abs(value) >= 1e11 ? value : value * 1000;
}

/** `2024-05-01T12:00:00` in UTC: the form Sentry's own UI sends for `start`/`end`. */
export function sentryDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

export class SeriesShapeError extends Error {}

function finiteOrZero(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}

/**
 * `events-stats`: `{"data": [[<unix s>, [{"count": N}]], …]}`. Also accepted: the same keyed by
 * y-axis or series name (`{"count()": {"data": […]}}`, top-events answers), where every series is
 * summed, and several entries in one bucket's list, also summed.
 */
export function parseEventsStats(body: unknown): RawPoint[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new SeriesShapeError("events-stats answered something other than an object");
  }
  const record = body as Record<string, unknown>;
  const rows: unknown[] = [];
  if (Array.isArray(record.data)) {
    rows.push(...record.data);
  } else if (!("data" in record)) {
    for (const value of Object.values(record)) {
      if (value && typeof value === "object" && Array.isArray((value as Record<string, unknown>).data)) {
        rows.push(...((value as Record<string, unknown>).data as unknown[]));
      }
    }
  } else if (record.data !== null) {
    throw new SeriesShapeError("events-stats `data` is not a list");
  }
  const points: RawPoint[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || typeof row[0] !== "number") continue;
    const entries: unknown = row[1];
    let value = 0;
    if (Array.isArray(entries)) {
      for (const entry of entries) {
        if (entry && typeof entry === "object") {
          const e = entry as Record<string, unknown>;
          value += finiteOrZero("count" in e ? e.count : Object.values(e)[0]);
        } else {
          value += finiteOrZero(entry);
        }
      }
    } else {
      value += finiteOrZero(entries);
    }
    points.push({ at: toEpochMs(row[0]), value });
  }
  return points;
}

export interface TimeseriesParse {
  points: RawPoint[];
  /**
   * Bucket width the answer used, in ms, when it can be told (from the spacing of timestamps,
   * else from `meta.interval` when it is unambiguous); undefined when it cannot.
   */
  intervalMs: number | undefined;
  /** `meta.interval` as sent (unit unknown: seconds or ms). */
  metaInterval: number | undefined;
}

/**
 * `events-timeseries`: `{"timeSeries": [{"yAxis": "count()", "values": [{"timestamp", "value",
 * "incomplete"}], "meta": {"interval"}}]}`. Timestamps are ms per the schema; seconds tolerated.
 */
export function parseEventsTimeseries(body: unknown): TimeseriesParse {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new SeriesShapeError("events-timeseries answered something other than an object");
  }
  const series = (body as Record<string, unknown>).timeSeries;
  if (series === undefined || series === null) return { points: [], intervalMs: undefined, metaInterval: undefined };
  if (!Array.isArray(series)) throw new SeriesShapeError("events-timeseries `timeSeries` is not a list");
  const points: RawPoint[] = [];
  let spacing: number | undefined;
  let metaInterval: number | undefined;
  for (const one of series) {
    if (!one || typeof one !== "object") continue;
    const s = one as Record<string, unknown>;
    const meta = s.meta as Record<string, unknown> | undefined;
    if (meta && typeof meta.interval === "number") metaInterval = meta.interval;
    if (!Array.isArray(s.values)) continue;
    const times: number[] = [];
    for (const v of s.values) {
      if (!v || typeof v !== "object") continue;
      const value = v as Record<string, unknown>;
      if (typeof value.timestamp !== "number") continue;
      const at = toEpochMs(value.timestamp);
      times.push(at);
      points.push({ at, value: finiteOrZero(value.value) });
    }
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      if (gap > 0 && (spacing === undefined || gap < spacing)) spacing = gap;
    }
  }
  return { points, intervalMs: spacing, metaInterval };
}

/**
 * Zero-filled buckets of `intervalMs` covering [first, last) (both aligned), with every point
 * outside that range dropped (Sentry adds a bucket past `end`) and points inside summed into the
 * bucket that contains them.
 */
export function fillBuckets(first: number, last: number, intervalMs: number, points: Iterable<RawPoint>): CountBucket[] {
  const n = Math.max(0, Math.round((last - first) / intervalMs));
  const counts = new Array<number>(n).fill(0);
  for (const point of points) {
    if (point.at < first || point.at >= last) continue;
    counts[Math.floor((point.at - first) / intervalMs)]! += point.value;
  }
  return counts.map((count, i) => ({ start: first + i * intervalMs, count }));
}
