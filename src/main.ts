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
import { DeployImpactsReader } from "./impact/deploy-impacts-reader.js";
import { ImpactEngine, type ImpactSourceForImpact, type ProjectsPort } from "./impact/impact-engine.js";
import { ImpactStore } from "./impact/impact-store.js";
import { Scheduler } from "./impact/scheduler.js";
import { SeriesStore } from "./impact/series-store.js";
import type { ImpactSourceView } from "./projects/projects-service.js";
import { attachLiveServer, type LiveServer } from "./live/live-server.js";
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
  impact: { engine: ImpactEngine; reader: DeployImpactsReader };
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
  // The impact engine reads projects through a port, so impact/ depends on the shape it needs only.
  const toSource = (s: ImpactSourceView): ImpactSourceForImpact => ({
    id: s.id,
    name: s.name,
    sentryProjectId: s.sentryProjectId,
    sentryProjectSlug: s.sentryProjectSlug,
    sentryEnvironment: s.sentryEnvironment,
    sensitivity: s.sensitivity,
    enabled: s.enabled,
  });
  const projectsPort: ProjectsPort = {
    impactSourcesForDeploy: async (organizationId, projectId, environment) =>
      (await projects.impactSourcesForDeploy(organizationId, projectId, environment)).map(toSource),
    getImpactSource: (organizationId, id) =>
      projects.getImpactSource(organizationId, id).then(toSource, (error) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      }),
  };
  const seriesStore = new SeriesStore(db.dataSource);
  const impactStore = new ImpactStore(db.dataSource);
  const impactReader = new DeployImpactsReader(impactStore, projectsPort);
  const deploys = new DeploysService({ dataSource: db.dataSource, projects, events, secretKey: deps.secretKey, now: overrides.now, impacts: impactReader });
  const engine = new ImpactEngine({
    series: seriesStore,
    impacts: impactStore,
    deploys,
    projects: projectsPort,
    sentry,
    events,
    logger,
    now: overrides.now,
  });
  // Disconnecting Sentry removes everything derived from it, in the connection's one transaction.
  sentry.onDisconnect("Deploy impacts", (tx, organizationId) => impactStore.deleteForOrganization(tx, organizationId));
  sentry.onDisconnect("Error series and new issues", (tx, organizationId) => seriesStore.deleteForOrganization(tx, organizationId));
  return {
    accounts: new AccountsService(db.dataSource),
    sentry,
    events,
    projects,
    deploys,
    impact: { engine, reader: impactReader },
  };
}

export interface StartOptions {
  config: Config;
  /** An already open database (tests share one per run); otherwise opened from config. */
  db?: Database;
  logger?: Logger;
  loginLimit?: { windowMs: number; limit: number };
  overrides?: ServiceOverrides;
  /** Run the periodic jobs (default true). Tests drive the engine's ticks themselves. */
  scheduler?: boolean;
}

export interface RunningAftershock {
  readonly app: Express;
  readonly server: http.Server;
  readonly url: string;
  readonly services: Services;
  readonly db: Database;
  readonly metrics: Metrics;
  /** The socket.io server (/live); tests reach its sockets through it. */
  readonly live: LiveServer;
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

  // Every periodic job, in one place.
  const scheduler = new Scheduler(
    [
      { name: "impact-poll", schedule: config.pollCron, run: () => services.impact.engine.tick() },
      { name: "sentry-token-refresh", schedule: "17 * * * *", run: () => services.sentry.refreshExpiringTokens() },
      { name: "impact-prune", schedule: "23 3 * * *", run: () => services.impact.engine.prune() },
    ],
    { logger, metrics },
  );
  const runScheduler = options.scheduler !== false;
  // A new deploy gets its pending impact rows at once, then (with the scheduler on) a poll within a
  // second, so a deploy registered with a past timestamp is judged from history without waiting for
  // the cron; a burst of deploys shares that one poll.
  const deployWork = new Set<Promise<void>>();
  services.events.on("deploy.created", ({ organizationId, deployId }) => {
    const work = services.impact.engine
      .onDeployCreated(organizationId, deployId)
      .then(() => (runScheduler ? scheduler.runSoon("impact-poll") : undefined))
      .catch((error) => logger.error({ err: error, deployId }, "starting the impact of a deploy failed"))
      .finally(() => deployWork.delete(work));
    deployWork.add(work);
  });
  if (runScheduler) scheduler.start();

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
      await scheduler.stop();
      await Promise.all(deployWork);
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
  return { app, server, url, services, db, metrics, live, close };
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
