import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type { Express } from "express";
import { accountEntities } from "./accounts/account-entities.js";
import { AccountsService } from "./accounts/accounts-service.js";
import { ConfigError, loadConfig, resolveSecretKey, type Config } from "./config.js";
import { openDatabase, type Database } from "./db/database.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { DomainEvents } from "./domain-events.js";
import { SecretBox } from "./secret-box.js";
import { SentryClient, type SentryClientOptions } from "./sentry/sentry-client.js";
import { SentryConnectionEntity } from "./sentry/sentry-connection-entity.js";
import { SentryConnectionService } from "./sentry/sentry-connection-service.js";
import { projectEntities } from "./projects/project-entities.js";
import { ProjectsService } from "./projects/projects-service.js";
import { deployEntities } from "./deploys/deploy-entities.js";
import { DeploysService } from "./deploys/deploys-service.js";
import { attachLiveServer } from "./live/live-server.js";
import { NotFoundError } from "./errors.js";
import { createApp } from "./web/app.js";
import { publicStatus } from "./web/sentry-routes.js";
import { createSessions } from "./web/session.js";

/**
 * The composition root: config → database → services → HTTP + socket.io + scheduler. It is the only
 * module that knows every capability; nothing else constructs its own dependencies, so tests swap
 * the clock, the Sentry client or the database here.
 */

export const allEntities = [...accountEntities, SentryConnectionEntity, ...projectEntities, ...deployEntities];

export interface Services {
  accounts: AccountsService;
  sentry: SentryConnectionService;
  events: DomainEvents;
  projects: ProjectsService;
  deploys: DeploysService;
}

export interface ServiceOverrides {
  /** Tests point the Sentry client at their simulator with short timeouts and retries. */
  sentryClientOptions?: Partial<SentryClientOptions>;
  now?: () => number;
}

export function createServices(deps: {
  db: Database;
  config: Config;
  secretKey: string;
  logger: Logger;
  metrics: Metrics;
  overrides?: ServiceOverrides;
}): Services {
  const { db, config, logger, metrics, overrides = {} } = deps;
  const events = new DomainEvents();
  const sentry = new SentryConnectionService({
    dataSource: db.dataSource,
    secretBox: new SecretBox(deps.secretKey),
    defaultBaseUrl: config.sentryUrl,
    oauth: config.sentryOAuth,
    events,
    logger,
    now: overrides.now,
    createClient: (options) =>
      new SentryClient({
        ...options,
        onRequest: (event) => metrics.sentryRequests.inc({ endpoint: event.endpoint, outcome: event.outcome }),
        ...overrides.sentryClientOptions,
      }),
  });
  // The Add impact dropdown reads the organization's Sentry through the connection (a SentryDirectory).
  const projects = new ProjectsService(db.dataSource, sentry);
  sentry.onDisconnect("Impact sources' Sentry mappings", (tx, organizationId) => projects.clearSentryMappings(tx, organizationId));
  // Impacts start as "no impact sources yet" (pending); the impact engine plugs its reader in.
  const deploys = new DeploysService({ dataSource: db.dataSource, projects, events, secretKey: deps.secretKey, now: overrides.now });
  return {
    accounts: new AccountsService(db.dataSource),
    sentry,
    events,
    projects,
    deploys,
  };
}

export interface StartOptions {
  config: Config;
  /** An already open database (tests share one per run); otherwise opened from config. */
  db?: Database;
  logger?: Logger;
  loginLimit?: { windowMs: number; limit: number };
  overrides?: ServiceOverrides;
}

export interface RunningAftershock {
  readonly app: Express;
  readonly server: http.Server;
  readonly url: string;
  readonly services: Services;
  readonly db: Database;
  readonly metrics: Metrics;
  /** Graceful: stop taking requests, let in-flight ones finish, stop jobs, close the database if we opened it. */
  close(): Promise<void>;
}

export async function startAftershock(options: StartOptions): Promise<RunningAftershock> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const secretKey = await resolveSecretKey(config);
  const ownsDb = !options.db;
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, entities: allEntities }));
  try {
    const applied = await db.runMigrations();
    if (applied.length) logger.info({ applied }, "migrations applied");
  } catch (error) {
    if (ownsDb) await db.close();
    throw error;
  }
  const metrics = createMetrics();
  const services = createServices({ db, config, secretKey, logger, metrics, overrides: options.overrides });
  if (config.init) {
    const { created } = await services.accounts.bootstrap(config.init);
    if (created) logger.info({ organization: config.init.orgName }, "bootstrap organization created");
  }

  let shuttingDown = false;
  const sessions = createSessions({
    pool: db.pool,
    secretKey,
    secureCookies: config.publicUrl.startsWith("https:") && config.trustProxy !== false,
  });
  const app = createApp({
    config,
    logger,
    metrics,
    db,
    sessionMiddleware: sessions.middleware,
    accounts: services.accounts,
    sentry: services.sentry,
    projects: services.projects,
    deploys: services.deploys,
    isShuttingDown: () => shuttingDown,
    loginLimit: options.loginLimit,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // socket.io (/live) on the same server: deploy and integration events pushed to the browser.
  const live = attachLiveServer({
    httpServer: server,
    sessionMiddleware: sessions.middleware,
    accounts: services.accounts,
    events: services.events,
    loadDeploy: (organizationId, deployId) =>
      services.deploys.getDeploy(organizationId, deployId).catch((error) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      }),
    loadIntegrationStatus: async (organizationId) => publicStatus(await services.sentry.status(organizationId)),
    projectVisible: (organizationId, slug) => services.projects.findProjectBySlug(organizationId, slug),
    logger,
    // Instances share broadcasts through LISTEN/NOTIFY, which only a real server has (STACK.md).
    pgPool: db.mode === "server" ? db.pool : undefined,
    allowedOrigins: [new URL(config.publicUrl).origin],
  });

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      shuttingDown = true;
      // Open websockets would hold server.close() forever: they go first.
      await live.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      sessions.close();
      if (ownsDb) await db.close();
    })();
    return closing;
  };
  return { app, server, url, services, db, metrics, close };
}

async function runFromCommandLine(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`Configuration error: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const running = await startAftershock({ config, logger });
  logger.info(
    { url: config.publicUrl, port: config.port, database: running.db.mode },
    `Aftershock is listening on ${config.publicUrl} (${running.db.mode} PostgreSQL)`,
  );
  const shutdown = (signal: string) => {
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 25_000).unref();
    running
      .close()
      .then(() => {
        clearTimeout(force);
        process.exit(0);
      })
      .catch((error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled promise rejection"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runFromCommandLine().catch((error) => {
    console.error(`Aftershock failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
