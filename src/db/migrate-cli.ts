import "reflect-metadata";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "./database.js";

/**
 * `npm run migrate` and the Procfile's release phase: apply pending migrations and exit. The server
 * also applies them at start, so this exists for deploy pipelines that migrate before rolling out.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, entities: [] });
  try {
    const ran = await db.runMigrations();
    console.log(ran.length ? `Applied ${ran.length} migration(s): ${ran.join(", ")}` : "Schema is up to date.");
  } finally {
    await db.close();
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    for (const line of error.problems) console.error(`Configuration error: ${line}`);
  } else {
    console.error(`Migration failed: ${(error as Error).message}`);
  }
  process.exit(1);
});
