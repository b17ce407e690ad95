import type { IncomingMessage, Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/postgres-adapter";
import type { RequestHandler } from "express";
import type { Pool } from "pg";
import { Server, type Namespace, type Socket } from "socket.io";
import type { AccountsService } from "../accounts/accounts-service.js";
import type { Principal } from "../accounts/principal.js";
import type { DomainEvents } from "../domain-events.js";
import type { Logger } from "../logger.js";
import {
  LIVE_EVENTS,
  LIVE_NAMESPACE,
  organizationDeploysRoom,
  organizationRoom,
  parseWatchRequest,
  projectRoom,
  type LiveDeploy,
  type WatchAck,
} from "./live-contract.js";
import { KeyedQueue } from "./keyed-queue.js";

export interface LiveServerOptions {
  httpServer: HttpServer;
  /** The app's express-session middleware: run on the handshake, it reads the session cookie. */
  sessionMiddleware: RequestHandler;
  accounts: Pick<AccountsService, "principalForUser" | "principalForApiToken">;
  events: DomainEvents;
  /** DESIGN.md's deploy object, scoped to the organization (null when it is not the organization's). */
  loadDeploy: (organizationId: string, deployId: string) => Promise<LiveDeploy | null>;
  /** DESIGN.md's integration status object of the organization's Sentry connection. */
  loadIntegrationStatus: (organizationId: string) => Promise<object>;
  /** The project with that slug in that organization, or null: the only way into a project room. */
  projectVisible: (organizationId: string, slug: string) => Promise<{ id: string } | null>;
  logger: Logger;
  /**
   * Several app instances on one real PostgreSQL server: broadcasts travel between them through
   * LISTEN/NOTIFY (@socket.io/postgres-adapter). Leave unset on the embedded database, which has no
   * LISTEN/NOTIFY between connections (STACK.md) and runs as one process anyway.
   */
  pgPool?: Pool;
  /**
   * Origins whose pages may open a cookie-authenticated socket besides the server's own host
   * (PUBLIC_URL behind a proxy). A page of another site cannot ride a signed-in person's cookie.
   */
  allowedOrigins?: string[];
  /** How often open sockets re-check that their session or token still opens the organization. */
  revalidateMs?: number;
}

export interface LiveServer {
  readonly io: Server;
  readonly namespace: Namespace;
  /** Disconnects the sockets and stops listening to events; leaves the HTTP server to its owner. */
  close(): Promise<void>;
}

/** A client may watch this many projects at once on one socket (a page watches one). */
const MAX_WATCHED_ROOMS = 50;
/** `watch` calls per socket per minute: each costs a database read. */
const WATCH_RATE_PER_MINUTE = 60;
const DEFAULT_REVALIDATE_MS = 2 * 60_000;

interface SessionLike {
  userId?: string;
  organizationId?: string;
  reload(callback: (error?: unknown) => void): void;
}

interface Authenticated {
  principal: Principal;
  /** The principal again from the session store or token table; null once it no longer opens anything. */
  revalidate(): Promise<Principal | null>;
}

class RefusedError extends Error {
  readonly data: { code: string; message: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code, message };
  }
}

/**
 * The socket.io server of DESIGN.md's live contract on the app's HTTP server. Sockets authenticate
 * once at the handshake (API token in `auth.token`, else the session cookie), join their
 * organization's room, and join project rooms only through `watch`, which checks the project
 * belongs to their organization. Domain events are turned into full deploy objects here and pushed
 * to the rooms; per deploy they are loaded and sent in the order they happened.
 */
export function attachLiveServer(options: LiveServerOptions): LiveServer {
  const { accounts, events, logger } = options;
  const log = logger.child({ component: "live" });
  const io = new Server(options.httpServer, {
    serveClient: true,
    // Clients only ever send small `watch` requests.
    maxHttpBufferSize: 16 * 1024,
  });
  const adapterPool = options.pgPool ? guardedPool(options.pgPool) : null;
  if (adapterPool) {
    io.adapter(
      createAdapter(adapterPool.pool, {
        errorHandler: (error) => log.warn({ err: error }, "socket.io PostgreSQL adapter error"),
      }),
    );
  }

  // The session is read only on the handshake request: later polling requests of the same socket
  // carry a `sid` and need nothing more, and a long poll must not re-save the session each time.
  io.engine.use((req: IncomingMessage & { _query?: Record<string, string> }, res: unknown, next: (error?: unknown) => void) => {
    if (req._query?.sid !== undefined) return next();
    (options.sessionMiddleware as unknown as (req: unknown, res: unknown, next: (error?: unknown) => void) => void)(req, res, next);
  });

  const nsp = io.of(LIVE_NAMESPACE);
  const authenticated = new Map<string, Authenticated>();

  nsp.use(async (socket, next) => {
    try {
      const auth = await authenticate(socket);
      authenticated.set(socket.id, auth);
      next();
    } catch (error) {
      if (error instanceof RefusedError) return next(error);
      log.error({ err: error }, "socket authentication failed");
      next(new RefusedError("internal_error", "Could not check your credentials; try again."));
    }
  });

  async function authenticate(socket: Socket): Promise<Authenticated> {
    const token = tokenOf(socket);
    if (token !== null) {
      // An explicit token decides alone: a wrong one is refused even with a valid cookie alongside.
      const principal = await accounts.principalForApiToken(token);
      if (!principal) throw new RefusedError("unauthenticated", "The API token is not valid (unknown or revoked).");
      return { principal, revalidate: () => accounts.principalForApiToken(token) };
    }
    const request = socket.request as IncomingMessage & { session?: SessionLike };
    const session = request.session;
    if (!session?.userId || !session.organizationId) {
      throw new RefusedError("unauthenticated", "Sign in, or pass an API token as auth: { token }.");
    }
    if (!originAllowed(socket)) {
      throw new RefusedError("forbidden_origin", "This page's origin may not open a signed-in connection.");
    }
    const principal = await accounts.principalForUser(session.userId, session.organizationId);
    if (!principal) throw new RefusedError("unauthenticated", "Your membership of this organization has ended; sign in again.");
    return {
      principal,
      revalidate: async () => {
        // Signing out destroys the session in the store; reload sees that, and role changes too.
        const reloaded = await new Promise<boolean>((resolve) => session.reload((error) => resolve(!error)));
        if (!reloaded || session.userId !== principal.userId || session.organizationId !== principal.organizationId) return null;
        return accounts.principalForUser(principal.userId!, principal.organizationId);
      },
    };
  }

  function tokenOf(socket: Socket): string | null {
    const fromAuth = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    if (fromAuth !== undefined && fromAuth !== null) return typeof fromAuth === "string" ? fromAuth : "";
    const header = socket.handshake.headers.authorization;
    const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return match ? match[1]! : null;
  }

  function originAllowed(socket: Socket): boolean {
    const origin = socket.handshake.headers.origin;
    // Programs (and same-origin polling in some browsers) send no Origin; browsers do on WebSocket.
    if (!origin) return true;
    if (options.allowedOrigins?.includes(origin)) return true;
    try {
      return new URL(origin).host === socket.handshake.headers.host;
    } catch {
      return false;
    }
  }

  nsp.on("connection", (socket) => {
    const auth = authenticated.get(socket.id);
    if (!auth) {
      socket.disconnect(true);
      return;
    }
    const organizationId = auth.principal.organizationId;
    // Every socket hears its organization's integration status; deploys only through `watch`.
    void socket.join(organizationRoom(organizationId));
    let watchBudget = WATCH_RATE_PER_MINUTE;
    const refill = setInterval(() => (watchBudget = WATCH_RATE_PER_MINUTE), 60_000);
    refill.unref();

    socket.on("watch", async (payload: unknown, ack?: (answer: WatchAck) => void) => {
      const reply = typeof ack === "function" ? ack : () => undefined;
      try {
        if (watchBudget-- <= 0) return reply({ ok: false, error: "Too many watch requests; wait a minute." });
        const request = parseWatchRequest(payload);
        if (typeof request === "string") return reply({ ok: false, error: request });
        const principal = await auth.revalidate();
        if (!principal || principal.organizationId !== organizationId) {
          reply({ ok: false, error: "Your sign-in has ended; sign in again." });
          socket.disconnect(true);
          return;
        }
        if ("organization" in request) {
          await socket.join(organizationDeploysRoom(organizationId));
          return reply({ ok: true });
        }
        if (socket.rooms.size > MAX_WATCHED_ROOMS) return reply({ ok: false, error: `Watch at most ${MAX_WATCHED_ROOMS} projects per connection.` });
        const project = await options.projectVisible(organizationId, request.project);
        // The same answer whether the project exists elsewhere or nowhere: nothing leaks across organizations.
        if (!project) return reply({ ok: false, error: `No project "${request.project}" in your organization.` });
        await socket.join(projectRoom(organizationId, project.id));
        reply({ ok: true });
      } catch (error) {
        log.error({ err: error, socket: socket.id }, "watch failed");
        reply({ ok: false, error: "Could not watch that project just now; try again." });
      }
    });

    socket.on("unwatch", async (payload: unknown, ack?: (answer: WatchAck) => void) => {
      const reply = typeof ack === "function" ? ack : () => undefined;
      const request = parseWatchRequest(payload);
      if (typeof request === "string") return reply({ ok: false, error: request });
      if ("organization" in request) {
        await socket.leave(organizationDeploysRoom(organizationId));
        return reply({ ok: true });
      }
      const project = await options.projectVisible(organizationId, request.project).catch(() => null);
      if (project) await socket.leave(projectRoom(organizationId, project.id));
      reply({ ok: true });
    });

    socket.on("disconnect", () => {
      clearInterval(refill);
      authenticated.delete(socket.id);
    });
  });

  // Sockets outlive sign-outs, revoked tokens and removed memberships unless someone checks.
  const revalidation = setInterval(() => {
    for (const [id, socket] of nsp.sockets) {
      const auth = authenticated.get(id);
      if (!auth) continue;
      auth
        .revalidate()
        .then((principal) => {
          if (!principal || principal.organizationId !== auth.principal.organizationId) socket.disconnect(true);
        })
        .catch((error) => log.warn({ err: error }, "socket revalidation failed"));
    }
  }, options.revalidateMs ?? DEFAULT_REVALIDATE_MS);
  revalidation.unref();

  // Domain events → full objects → rooms. One queue per deploy keeps `deploy.created` ahead of its
  // `deploy.impact`s, since loading takes a database round trip and a later load may finish first.
  const queue = new KeyedQueue((error, key) => log.error({ err: error, key }, "live push failed"));
  const pushDeploy = (event: "deploy.created" | "deploy.impact") => (payload: { organizationId: string; projectId: string; deployId: string }) =>
    queue.run(`deploy:${payload.deployId}`, async () => {
      const rooms = [projectRoom(payload.organizationId, payload.projectId), organizationDeploysRoom(payload.organizationId)];
      // One process (no adapter) knows every watcher: with none, skip the database read. A tick
      // that re-judges hundreds of deploys then costs nothing for projects nobody has open.
      if (!adapterPool && rooms.every((room) => !nsp.adapter.rooms.get(room)?.size)) return;
      const deploy = await options.loadDeploy(payload.organizationId, payload.deployId);
      if (!deploy) return;
      nsp
        .to(rooms)
        .emit(event === "deploy.created" ? LIVE_EVENTS.deployCreated : LIVE_EVENTS.deployImpact, deploy);
    });
  const unsubscribe = [
    events.on("deploy.created", pushDeploy("deploy.created")),
    events.on("deploy.impact", pushDeploy("deploy.impact")),
    events.on("integration.status", ({ organizationId }) =>
      queue.run(`integration:${organizationId}`, async () => {
        const status = await options.loadIntegrationStatus(organizationId);
        nsp.to(organizationRoom(organizationId)).emit(LIVE_EVENTS.integrationStatus, status);
      }),
    ),
  ];

  let closing: Promise<void> | null = null;
  return {
    io,
    namespace: nsp,
    close() {
      closing ??= (async () => {
        for (const stop of unsubscribe) stop();
        clearInterval(revalidation);
        // Let pushes already loading finish (they read the database, which closes after us).
        await queue.drain();
        for (const socket of nsp.sockets.values()) socket.disconnect(true);
        await Promise.allSettled([...io._nsps.values()].map((namespace) => namespace.adapter.close()));
        adapterPool?.close();
        // Not io.close(): that would also close the HTTP server, whose graceful close main.ts owns.
        io.engine.close();
      })();
      return closing;
    },
  };
}

/**
 * The pool as the PostgreSQL adapter sees it. The adapter takes its LISTEN connection in the
 * background and retries every 2 s on failure; closed before that connection arrived, it would keep
 * it checked out for ever (and the database pool could then never close). Once closed, this hands
 * such a late connection straight back and leaves the adapter waiting on a promise that never
 * settles: no connection held, no retry timer.
 */
function guardedPool(pool: Pool): { pool: Pool; close(): void } {
  let closed = false;
  const never = <T>() => new Promise<T>(() => undefined);
  const guarded = {
    query: (...args: unknown[]) => (closed ? never() : (pool.query as (...a: unknown[]) => Promise<unknown>)(...args)),
    connect: async () => {
      if (closed) return never();
      const client = await pool.connect();
      if (!closed) return client;
      client.release();
      return never();
    },
  };
  return {
    pool: guarded as unknown as Pool,
    close: () => {
      closed = true;
    },
  };
}
