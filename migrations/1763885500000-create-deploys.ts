import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Deploys (one row per registered deploy, from any of the four webhook shapes) and the per-project
 * GitHub webhook secret nonces.
 */
export class CreateDeploys1763885500000 implements MigrationInterface {
  name = "CreateDeploys1763885500000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE deploys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        environment text NOT NULL,
        version text NOT NULL CHECK (char_length(version) BETWEEN 1 AND 200),
        -- When the deploy finished (the moment its impact is measured from). Written from JS Dates,
        -- so it holds whole milliseconds: the keyset cursor carries it losslessly.
        deployed_at timestamptz NOT NULL,
        -- Sentry's dateStarted, when given; informational.
        started_at timestamptz,
        author text,
        name text,
        url text,
        tags text[] NOT NULL DEFAULT '{}',
        links jsonb NOT NULL DEFAULT '{}'::jsonb,
        source text NOT NULL CHECK (source IN ('native', 'sleuth', 'github', 'sentry')),
        idempotency_key text,
        rollback boolean NOT NULL DEFAULT false,
        -- Set on the deploys a later rollback went back past: the rollback that undid them.
        rolled_back_by uuid REFERENCES deploys(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Idempotency: one deploy per key and project. NULL keys never collide, so no partial index is
    // needed and INSERT … ON CONFLICT (project_id, idempotency_key) DO NOTHING can name it.
    await q.query(`ALTER TABLE deploys ADD CONSTRAINT deploys_idempotency_key UNIQUE (project_id, idempotency_key)`);
    // Keyset pagination, newest first: per project, per project + environment, per organization.
    await q.query(`CREATE INDEX deploys_project_time_idx ON deploys (project_id, deployed_at DESC, id DESC)`);
    await q.query(`CREATE INDEX deploys_project_env_time_idx ON deploys (project_id, environment, deployed_at DESC, id DESC)`);
    await q.query(`CREATE INDEX deploys_org_time_idx ON deploys (organization_id, deployed_at DESC, id DESC)`);
    // The impact engine reconciles recently registered deploys, across organizations.
    await q.query(`CREATE INDEX deploys_created_idx ON deploys (created_at)`);
    // Rollback detection: "did this environment already have this version?"
    await q.query(`CREATE INDEX deploys_project_env_version_idx ON deploys (project_id, environment, version)`);
    await q.query(`CREATE INDEX deploys_rolled_back_by_idx ON deploys (rolled_back_by) WHERE rolled_back_by IS NOT NULL`);

    await q.query(`
      CREATE TABLE github_webhook_secrets (
        project_id uuid PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        -- Not the secret: a random nonce the secret is derived from with a key only SECRET_KEY
        -- gives (see src/deploys/github-webhook-secret.ts). The database alone cannot verify or
        -- forge a delivery.
        nonce text NOT NULL,
        last_four text NOT NULL,
        created_by_email text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE github_webhook_secrets`);
    await q.query(`DROP TABLE deploys`);
  }
}
