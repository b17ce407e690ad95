import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * One Sentry connection per organization. Tokens are stored only sealed with AES-256-GCM
 * (src/secret-box.ts); `token_last_four` is what pages may show.
 */
export class CreateSentryConnections1763885100000 implements MigrationInterface {
  name = "CreateSentryConnections1763885100000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sentry_connections (
        organization_id uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
        method text NOT NULL CHECK (method IN ('token', 'oauth')),
        base_url text NOT NULL,
        -- Null while the person still has to pick which Sentry organization (several visible).
        sentry_organization text,
        access_token_sealed text NOT NULL,
        refresh_token_sealed text,
        token_last_four text NOT NULL,
        expires_at timestamptz,
        scopes text[] NOT NULL DEFAULT '{}',
        status text NOT NULL CHECK (status IN ('connected', 'needs_reconnect', 'error')),
        last_error text,
        failing_since timestamptz,
        connected_by_email text,
        connected_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sentry_connections`);
  }
}
