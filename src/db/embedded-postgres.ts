import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { keepExtendedQueriesTogether } from "./pglite-query-queue.js";

export interface EmbeddedPostgres {
  /** A postgres:// URL the ordinary `pg` driver connects to, exactly as to a server. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) and serves it over the PostgreSQL wire
 * protocol on a loopback port, so the app reaches it through TypeORM's normal `pg` driver: one code
 * path for the embedded and the server mode. `dataDir` null keeps it in memory (tests).
 *
 * PGlite runs one query at a time and all connections share one backend session (see STACK.md):
 * fine for one process; scale-out needs a real server.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string | null;
  /** Pool size plus every other client (session store...). Extra connections are dropped. */
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  let db: PGlite;
  if (options.dataDir) {
    const dir = path.join(options.dataDir, "pgdata");
    await mkdir(dir, { recursive: true });
    db = await PGlite.create(dir);
  } else {
    db = await PGlite.create();
  }
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: options.maxConnections ?? 40,
  });
  // Without this, concurrent parameterised queries from different connections interleave.
  keepExtendedQueriesTogether(server);
  await server.start();
  const address = server.getServerConn(); // "127.0.0.1:<port>"
  return {
    url: `postgres://postgres:postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
