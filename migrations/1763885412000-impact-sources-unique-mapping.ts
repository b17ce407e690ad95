import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * One impact source per (project, Sentry project, Sentry environment): two would count the same
 * errors twice. Partial, because a disconnect nulls the Sentry mapping of every source and those
 * unmapped rows must not collide with each other. The service checks first for a clear message;
 * this index settles races between two admins saving at once.
 */
export class ImpactSourcesUniqueMapping1763885412000 implements MigrationInterface {
  name = "ImpactSourcesUniqueMapping1763885412000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNIQUE INDEX impact_sources_mapping_key
        ON impact_sources (project_id, sentry_project_id, sentry_environment)
        WHERE sentry_project_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX impact_sources_mapping_key`);
  }
}
