import { openDatabase, type Database } from "../../src/db/database.js";
import { allEntities } from "../../src/main.js";

/**
 * One database per test run (a fresh PGlite takes seconds): the embedded one in memory, or the
 * server named by DATABASE_URL (CI runs the suite both ways). Tests reset it between cases.
 */
let shared: Promise<Database> | null = null;

export function testDatabase(): Promise<Database> {
  shared ??= (async () => {
    const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL || null, dataDir: null, entities: allEntities });
    await db.runMigrations();
    return db;
  })();
  return shared;
}

export async function closeTestDatabase(): Promise<void> {
  if (!shared) return;
  const db = await shared;
  shared = null;
  await db.close();
}

/** Empties every table but the migrations ledger, so each test starts from nothing. */
export async function resetDatabase(): Promise<void> {
  const db = await testDatabase();
  const tables: Array<{ tablename: string }> = await db.dataSource.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'migrations'`,
  );
  if (tables.length) {
    await db.dataSource.query(`TRUNCATE ${tables.map((t) => `"${t.tablename}"`).join(", ")} RESTART IDENTITY CASCADE`);
  }
}
