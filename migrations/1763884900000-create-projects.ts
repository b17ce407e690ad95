import type { MigrationInterface, QueryRunner } from "typeorm";

/** Projects (deployable things) with hand-typed environments, and their impact sources ("Add impact"). */
export class CreateProjects1763884900000 implements MigrationInterface {
  name = "CreateProjects1763884900000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projects (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        slug text NOT NULL,
        name text NOT NULL,
        -- Ordered: the first is the default environment (Sleuth deploys without one land there).
        environments text[] NOT NULL DEFAULT '{}',
        archived_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, slug)
      )`);
    await q.query(`
      CREATE TABLE impact_sources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name text NOT NULL,
        -- Null once Sentry is disconnected: the source stays, its mapping is gone until reconnected.
        sentry_project_id text,
        sentry_project_slug text,
        sentry_environment text NOT NULL,
        -- Null: applies to every environment of the project.
        environments text[],
        sensitivity text NOT NULL DEFAULT 'medium' CHECK (sensitivity IN ('low', 'medium', 'high')),
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX impact_sources_project_idx ON impact_sources (project_id)`);
    await q.query(`CREATE INDEX impact_sources_org_idx ON impact_sources (organization_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE impact_sources`);
    await q.query(`DROP TABLE projects`);
  }
}
