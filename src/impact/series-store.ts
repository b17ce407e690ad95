import type { DataSource, EntityManager } from "typeorm";
import { affectedRows, returnedRows } from "../db/query-result.js";
import type { BucketCount, NewIssueSeen } from "./judge.js";
import type { Interval } from "./window-plan.js";

export interface SeriesKey {
  organizationId: string;
  sentryProjectId: string;
  sentryEnvironment: string;
}

export interface SeriesRow extends SeriesKey {
  id: string;
  lastPolledAt: number | null;
  issuesPolledAt: number | null;
}

/** Error series (per Sentry project + environment), their buckets, new issues, and polling leases. */
export class SeriesStore {
  constructor(private readonly dataSource: DataSource) {}

  async ensureSeries(key: SeriesKey): Promise<SeriesRow> {
    await this.dataSource.query(
      `INSERT INTO error_series (organization_id, sentry_project_id, sentry_environment) VALUES ($1, $2, $3)
       ON CONFLICT (organization_id, sentry_project_id, sentry_environment) DO NOTHING`,
      [key.organizationId, key.sentryProjectId, key.sentryEnvironment],
    );
    const rows: Array<{ id: string; last_polled_at: Date | null; issues_polled_at: Date | null }> = await this.dataSource.query(
      `SELECT id, last_polled_at, issues_polled_at FROM error_series
        WHERE organization_id = $1 AND sentry_project_id = $2 AND sentry_environment = $3`,
      [key.organizationId, key.sentryProjectId, key.sentryEnvironment],
    );
    const row = rows[0]!;
    return { ...key, id: row.id, lastPolledAt: row.last_polled_at?.getTime() ?? null, issuesPolledAt: row.issues_polled_at?.getTime() ?? null };
  }

  /**
   * Takes the polling lease on a series unless another instance holds a live one or polled it less
   * than `minIntervalMs` ago. A row lease with an expiry (not an advisory lock) because the embedded
   * PostgreSQL shares one session among connections, where advisory locks exclude nothing; a
   * crashed instance's lease simply expires.
   */
  async tryLease(seriesId: string, owner: string, now: number, leaseMs: number, minIntervalMs: number): Promise<boolean> {
    const rows = await this.dataSource.query(
      `UPDATE error_series SET lease_owner = $2, lease_expires_at = $3
        WHERE id = $1
          AND (lease_expires_at IS NULL OR lease_expires_at < $4 OR lease_owner = $2)
          AND (last_polled_at IS NULL OR last_polled_at <= $5)
        RETURNING id`,
      [seriesId, owner, new Date(now + leaseMs), new Date(now), new Date(now - minIntervalMs)],
    );
    return returnedRows(rows).length > 0;
  }

  async releaseLease(seriesId: string, owner: string, polledAt: number, outcome: { issuesPolled: boolean; error: string | null }): Promise<void> {
    await this.dataSource.query(
      `UPDATE error_series SET lease_owner = NULL, lease_expires_at = NULL, last_polled_at = $3, last_error = $4,
              issues_polled_at = CASE WHEN $5 THEN $3 ELSE issues_polled_at END
        WHERE id = $1 AND lease_owner = $2`,
      [seriesId, owner, new Date(polledAt), outcome.error, outcome.issuesPolled],
    );
  }

  async upsertBuckets(seriesId: string, buckets: readonly BucketCount[], fetchedAt: number): Promise<void> {
    // Chunked so one statement stays far below PostgreSQL's parameter limit.
    for (let i = 0; i < buckets.length; i += 2000) {
      const chunk = buckets.slice(i, i + 2000);
      await this.dataSource.query(
        `INSERT INTO error_series_buckets (series_id, bucket_start, count, fetched_at)
         SELECT $1, to_timestamp(s / 1000.0), c, $4 FROM unnest($2::bigint[], $3::int[]) AS u(s, c)
         ON CONFLICT (series_id, bucket_start) DO UPDATE SET count = EXCLUDED.count, fetched_at = EXCLUDED.fetched_at`,
        [seriesId, chunk.map((b) => b.start), chunk.map((b) => b.count), new Date(fetchedAt)],
      );
    }
  }

  async buckets(seriesId: string, range: Interval): Promise<BucketCount[]> {
    const rows: Array<{ s: string; count: number }> = await this.dataSource.query(
      `SELECT (extract(epoch FROM bucket_start) * 1000)::bigint AS s, count FROM error_series_buckets
        WHERE series_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ORDER BY bucket_start`,
      [seriesId, new Date(range.start), new Date(range.end)],
    );
    return rows.map((r) => ({ start: Number(r.s), count: r.count }));
  }

  /** Buckets fetched at least `settleMs` after they ended: Sentry will not change them any more. */
  async settledIntervals(seriesId: string, range: Interval, bucketMs: number, settleMs: number): Promise<Interval[]> {
    const rows: Array<{ s: string }> = await this.dataSource.query(
      `SELECT (extract(epoch FROM bucket_start) * 1000)::bigint AS s FROM error_series_buckets
        WHERE series_id = $1 AND bucket_start >= $2 AND bucket_start < $3
          AND fetched_at >= bucket_start + make_interval(secs => $4)
        ORDER BY bucket_start`,
      [seriesId, new Date(range.start), new Date(range.end), (bucketMs + settleMs) / 1000],
    );
    const out: Interval[] = [];
    for (const r of rows) {
      const s = Number(r.s);
      const last = out[out.length - 1];
      if (last && last.end === s) last.end = s + bucketMs;
      else out.push({ start: s, end: s + bucketMs });
    }
    return out;
  }

  async upsertIssues(seriesId: string, issues: ReadonlyArray<{ id: string; shortId: string; permalink: string; firstSeen: string; count: number }>): Promise<void> {
    for (const issue of issues) {
      await this.dataSource.query(
        `INSERT INTO sentry_new_issues (series_id, issue_id, short_id, permalink, first_seen, event_count)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (series_id, issue_id) DO UPDATE SET event_count = EXCLUDED.event_count, short_id = EXCLUDED.short_id, permalink = EXCLUDED.permalink`,
        [seriesId, issue.id, issue.shortId, issue.permalink, new Date(issue.firstSeen), issue.count],
      );
    }
  }

  async issuesFirstSeenIn(seriesId: string, range: Interval): Promise<NewIssueSeen[]> {
    const rows: Array<{ short_id: string; permalink: string; first_seen: Date; event_count: number }> = await this.dataSource.query(
      `SELECT short_id, permalink, first_seen, event_count FROM sentry_new_issues
        WHERE series_id = $1 AND first_seen >= $2 AND first_seen < $3 ORDER BY first_seen`,
      [seriesId, new Date(range.start), new Date(range.end)],
    );
    return rows.map((r) => ({ shortId: r.short_id, permalink: r.permalink, firstSeen: r.first_seen.toISOString(), count: r.event_count }));
  }

  async issuesPolledAt(seriesId: string): Promise<number | null> {
    const rows: Array<{ issues_polled_at: Date | null }> = await this.dataSource.query(`SELECT issues_polled_at FROM error_series WHERE id = $1`, [seriesId]);
    return rows[0]?.issues_polled_at?.getTime() ?? null;
  }

  /** Bounded storage: raw buckets and issues older than any open window or sparkline needs. */
  async prune(olderThan: number): Promise<{ buckets: number; issues: number }> {
    const b = await this.dataSource.query(`DELETE FROM error_series_buckets WHERE bucket_start < $1`, [new Date(olderThan)]);
    const i = await this.dataSource.query(`DELETE FROM sentry_new_issues WHERE first_seen < $1`, [new Date(olderThan)]);
    return { buckets: affectedRows(b), issues: affectedRows(i) };
  }

  /** Sentry disconnect: every series of the organization, with its buckets and issues (cascade). */
  async deleteForOrganization(tx: EntityManager, organizationId: string): Promise<number> {
    return affectedRows(await tx.query(`DELETE FROM error_series WHERE organization_id = $1`, [organizationId]));
  }
}
