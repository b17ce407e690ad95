import { expect } from "chai";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openDatabase, type Database } from "../../src/db/database.js";
import { allMigrations } from "../../migrations/index.js";

/** A database of its own (not the shared test one), so migrations can run up and down freely. */
async function freshDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const db = await openDatabase({ databaseUrl: null, dataDir: null, entities: [] });
    return { db, drop: () => db.close() };
  }
  const name = `aftershock_migrations_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: null, entities: [] });
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    },
  };
}

async function tableNames(db: Database): Promise<string[]> {
  const rows: Array<{ tablename: string }> = await db.dataSource.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`,
  );
  return rows.map((r) => r.tablename);
}

describe(`migrations (${process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PostgreSQL"})`, () => {
  it("when applied to an empty database, then every migration runs once, and down then up restores the schema", async () => {
    const { db, drop } = await freshDatabase();
    try {
      expect(await db.pendingMigrations()).to.have.length(allMigrations.length);
      const ran = await db.runMigrations();
      expect(ran).to.have.length(allMigrations.length);
      expect(await db.pendingMigrations()).to.deep.equal([]);
      const tables = await tableNames(db);
      expect(tables).to.include.members(["organizations", "users", "memberships", "api_tokens", "sessions", "migrations"]);
      expect(await db.runMigrations()).to.deep.equal([]);

      for (let i = 0; i < allMigrations.length; i++) await db.dataSource.undoLastMigration({ transaction: "each" });
      expect(await tableNames(db)).to.deep.equal(["migrations"]);
      await db.runMigrations();
      expect(await tableNames(db)).to.deep.equal(tables);
    } finally {
      await drop();
    }
  });
});
