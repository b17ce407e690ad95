import { hkdfSync } from "node:crypto";
import connectPgSimple from "connect-pg-simple";
import session from "express-session";
import type { RequestHandler } from "express";
import type { Pool } from "pg";

export const SESSION_COOKIE = "aftershock.sid";
const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

/**
 * Server-side sessions stored in PostgreSQL (connect-pg-simple), in the table the accounts
 * migration creates. The same middleware authenticates socket.io connections in live/.
 */
export interface Sessions {
  middleware: RequestHandler;
  /** Stops the store's pruning timer (graceful shutdown). */
  close(): void;
}

export function createSessions(options: { pool: Pool; secretKey: string; secureCookies: boolean }): Sessions {
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool: options.pool,
    tableName: "sessions",
    createTableIfMissing: false,
    pruneSessionInterval: 15 * 60,
    errorLog: () => {
      /* errors surface through the request that hit them; the pruning timer must not spam logs */
    },
  });
  const secret = Buffer.from(hkdfSync("sha256", options.secretKey, "aftershock", "session cookies", 32)).toString("base64url");
  const middleware = session({
    name: SESSION_COOKIE,
    store,
    secret,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: "lax",
      secure: options.secureCookies,
      maxAge: SESSION_TTL_MS,
    },
  });
  return { middleware, close: () => store.close() };
}
