import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The impact engine's tables. Error series are keyed by Sentry project + environment (not by deploy):
 * every deploy and every impact source that maps there shares one series, so Sentry is asked once.
 * Only counts and issue ids / short ids / links are kept from Sentry.
 */
export class CreateImpact1763885200000 implements MigrationInterface {
  name = "CreateImpact1763885200000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE error_series (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        sentry_project_id text NOT NULL,
        sentry_environment text NOT NULL,
        -- Row lease: the instance named here polls this series until the lease expires.
        lease_owner text,
        lease_expires_at timestamptz,
        last_polled_at timestamptz,
        -- New issues are asked for less often than counts, to keep Sentry calls to one per series per tick.
        issues_polled_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, sentry_project_id, sentry_environment)
      )`);
    await q.query(`
      CREATE TABLE error_series_buckets (
        series_id uuid NOT NULL REFERENCES error_series(id) ON DELETE CASCADE,
        bucket_start timestamptz NOT NULL,
        count integer NOT NULL,
        -- A bucket fetched soon after it ended may still grow (ingestion lag): refetched until settled.
        fetched_at timestamptz NOT NULL,
        PRIMARY KEY (series_id, bucket_start)
      )`);
    await q.query(`CREATE INDEX error_series_buckets_start_idx ON error_series_buckets (bucket_start)`);
    await q.query(`
      CREATE TABLE sentry_new_issues (
        series_id uuid NOT NULL REFERENCES error_series(id) ON DELETE CASCADE,
        issue_id text NOT NULL,
        short_id text NOT NULL,
        permalink text NOT NULL,
        first_seen timestamptz NOT NULL,
        event_count integer NOT NULL,
        PRIMARY KEY (series_id, issue_id)
      )`);
    await q.query(`
      CREATE TABLE deploy_impacts (
        deploy_id uuid NOT NULL,
        impact_source_id uuid NOT NULL REFERENCES impact_sources(id) ON DELETE CASCADE,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        project_id uuid NOT NULL,
        project_slug text NOT NULL,
        environment text NOT NULL,
        deploy_at timestamptz NOT NULL,
        after_ends_at timestamptz,
        health text NOT NULL DEFAULT 'pending',
        final boolean NOT NULL DEFAULT false,
        final_at timestamptz,
        baseline_count integer NOT NULL DEFAULT 0,
        baseline_minutes integer NOT NULL DEFAULT 0,
        after_count integer NOT NULL DEFAULT 0,
        after_minutes integer NOT NULL DEFAULT 0,
        ratio double precision,
        ratio_low double precision,
        ratio_high double precision,
        p_value double precision,
        excess double precision NOT NULL DEFAULT 0,
        dispersion double precision NOT NULL DEFAULT 1,
        new_issues jsonb NOT NULL DEFAULT '[]',
        explanation text NOT NULL DEFAULT 'Waiting for the first checkpoint.',
        -- Compact per-5-minute counts around the deploy, kept after the raw buckets are pruned.
        sparkline jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deploy_id, impact_source_id)
      )`);
    await q.query(`CREATE INDEX deploy_impacts_open_idx ON deploy_impacts (impact_source_id) WHERE NOT final`);
    await q.query(`CREATE INDEX deploy_impacts_org_idx ON deploy_impacts (organization_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE deploy_impacts`);
    await q.query(`DROP TABLE sentry_new_issues`);
    await q.query(`DROP TABLE error_series_buckets`);
    await q.query(`DROP TABLE error_series`);
  }
}
