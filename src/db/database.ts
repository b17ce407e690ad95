import "reflect-metadata";
import type { Pool } from "pg";
import { DataSource, type EntitySchema, type MixedList } from "typeorm";
import { allMigrations } from "../../migrations/index.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.js";

export type DatabaseMode = "embedded" | "server";

export interface Database {
  readonly mode: DatabaseMode;
  readonly dataSource: DataSource;
  /** The pg pool under TypeORM, shared with the session store so both modes need one pool. */
  readonly pool: Pool;
  /** Names of migrations not yet applied (empty when the schema is current). */
  pendingMigrations(): Promise<string[]>;
  runMigrations(): Promise<string[]>;
  isReachable(): Promise<boolean>;
  close(): Promise<void>;
}

const POOL_SIZE = 10;

export interface OpenDatabaseOptions {
  /** A real PostgreSQL server; null starts the embedded one. */
  databaseUrl: string | null;
  /** Where the embedded database keeps its files; null keeps it in memory. */
  dataDir: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entities: MixedList<Function | string | EntitySchema<any>>;
  poolSize?: number;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const poolSize = options.poolSize ?? POOL_SIZE;
  let embedded: EmbeddedPostgres | null = null;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, maxConnections: poolSize + 30 });
    url = embedded.url;
  }
  const dataSource = new DataSource({
    type: "postgres",
    url,
    entities: options.entities,
    migrations: allMigrations,
    migrationsTableName: "migrations",
    // Hand-written migrations only: the schema never changes behind a reviewer's back.
    synchronize: false,
    migrationsRun: false,
    poolSize,
    extra: { connectionTimeoutMillis: 10_000 },
  });
  try {
    await dataSource.initialize();
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pool = (dataSource.driver as any).master as Pool;
  return {
    mode: embedded ? "embedded" : "server",
    dataSource,
    pool,
    async pendingMigrations() {
      const applied = new Set<string>(
        (await dataSource.query(`SELECT name FROM migrations`).catch(() => [])).map((r: { name: string }) => r.name),
      );
      return dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !applied.has(n));
    },
    async runMigrations() {
      const ran = await dataSource.runMigrations({ transaction: "each" });
      return ran.map((m) => m.name);
    },
    async isReachable() {
      try {
        await dataSource.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
