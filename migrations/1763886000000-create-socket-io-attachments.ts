import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The table @socket.io/postgres-adapter keeps broadcasts over NOTIFY's 8000-byte limit in (a deploy
 * object with several impacts and their sparklines is larger). Only used with a real PostgreSQL
 * server and several instances; the adapter deletes rows older than 30 s itself.
 */
export class CreateSocketIoAttachments1763886000000 implements MigrationInterface {
  name = "CreateSocketIoAttachments1763886000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE socket_io_attachments (
        id bigserial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        payload bytea NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE socket_io_attachments`);
  }
}
