import { randomUUID } from "node:crypto";
import express, { type Express, type Request, type RequestHandler } from "express";
import { engine } from "express-handlebars";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import path from "node:path";
import { csrfSync } from "csrf-sync";
import type { AccountsService } from "../accounts/accounts-service.js";
import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { PUBLIC_DIR, VIEWS_DIR } from "../paths.js";
import { accountApiRoutes, accountPageRoutes, type LoginLimit } from "./account-routes.js";
import { loadSessionPrincipal, requireApiToken } from "./authentication.js";
import { errorHandler, notFoundHandler } from "./error-handler.js";
import { healthRoutes } from "./health-routes.js";
import { helpers } from "./helpers/index.js";
import { takeFlash } from "./request-context.js";
import type { SentryConnectionService } from "../sentry/sentry-connection-service.js";
import { publicStatus, sentryApiRoutes, sentryPageRoutes } from "./sentry-routes.js";
import type { ProjectsService } from "../projects/projects-service.js";
import { projectApiRoutes } from "./project-api-routes.js";
import { projectPageRoutes } from "./project-routes.js";
import type { DeploysService } from "../deploys/deploys-service.js";
import { deployApiRoutes } from "./deploy-api-routes.js";
import { deployPageRoutes } from "./deploy-page-routes.js";
import { liveRoutes } from "./live-routes.js";
import { SLEUTH_PATH_PREFIX, deployWebhookRoutes, sentryShapedDeployRoutes, sleuthPlainTextErrors } from "./deploy-webhook-routes.js";

export interface WebDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  sessionMiddleware: RequestHandler;
  accounts: AccountsService;
  sentry: SentryConnectionService;
  projects: ProjectsService;
  deploys: DeploysService;
  isShuttingDown: () => boolean;
  /** Tests lower or raise it; the default slows password guessing to a crawl. */
  loginLimit?: LoginLimit;
  apiLimit?: { windowMs: number; limit: number };
}

export const BODY_LIMIT = "64kb";

declare module "express-serve-static-core" {
  interface Request {
    /** The exact bytes received, for signature checks (GitHub webhooks). */
    rawBody?: Buffer;
  }
}

const keepRawBody = (req: Request, _res: unknown, buf: Buffer) => {
  req.rawBody = buf;
};

/**
 * Builds the Express app without listening, so tests drive it directly. The middleware order is
 * fixed and each step says why it sits where it does.
 */
export function createApp(deps: WebDeps): Express {
  const { config, logger, metrics } = deps;
  const app = express();

  // 1. Behind a TLS proxy, believe X-Forwarded-* so secure cookies and client IPs are right.
  app.set("trust proxy", config.trustProxy);
  app.disable("x-powered-by");

  // 2. Views: server-rendered Handlebars pages.
  app.engine(
    ".hbs",
    engine({
      extname: ".hbs",
      defaultLayout: "main",
      layoutsDir: path.join(VIEWS_DIR, "layouts"),
      partialsDir: path.join(VIEWS_DIR, "partials"),
      helpers,
    }),
  );
  app.set("view engine", ".hbs");
  app.set("views", VIEWS_DIR);

  // 3. Request id and structured access log first, so every later line and error carries the id.
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const incoming = req.headers["x-request-id"];
        const id = typeof incoming === "string" && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // Only what finding a request needs: never headers (tokens, cookies) or bodies.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split("?")[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/metrics" },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
    }),
  );

  // 4. Metrics: time every request, labelled by route pattern (not raw path, to bound cardinality).
  app.use((req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      stop({ method: req.method, route });
    });
    next();
  });

  // 5. Security headers. No upgrade-insecure-requests on plain-HTTP installs (localhost), where it
  //    would send the browser to an https port nobody serves.
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          "upgrade-insecure-requests": config.publicUrl.startsWith("https:") ? [] : null,
          "connect-src": ["'self'", "ws:", "wss:"],
        },
      },
      strictTransportSecurity: config.publicUrl.startsWith("https:"),
    }),
  );

  // 6. Static assets and health endpoints need no session: cheap and always available.
  app.use("/assets", express.static(PUBLIC_DIR, { maxAge: "1h", fallthrough: true }));
  app.use(healthRoutes({ db: deps.db, metrics, isShuttingDown: deps.isShuttingDown }));

  // 7. The JSON API: bearer tokens, no cookies, so no CSRF. Body limit 64 KiB (413 beyond).
  const apiLimiter = rateLimit({
    windowMs: deps.apiLimit?.windowMs ?? 60_000,
    limit: deps.apiLimit?.limit ?? 1200,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    handler: (_req, res) => {
      res.status(429).json({ error: { code: "rate_limited", message: "Too many requests; slow down and retry shortly.", details: [] } });
    },
  });
  app.use("/api", apiLimiter);
  // Sleuth's clients read plain text, errors included: marked before the parsers can refuse a body.
  app.use(SLEUTH_PATH_PREFIX, sleuthPlainTextErrors);
  app.use("/api", express.json({ limit: BODY_LIMIT, verify: keepRawBody, type: ["application/json", "application/*+json"] }));
  app.use("/api", express.urlencoded({ extended: true, limit: BODY_LIMIT, verify: keepRawBody }));
  // Webhooks with their own authentication (Sleuth API key, GitHub signature), before the bearer router.
  app.use("/api", deployWebhookRoutes({ deploys: deps.deploys, accounts: deps.accounts }));
  const tokenApi = express.Router();
  tokenApi.use(requireApiToken(deps.accounts));
  tokenApi.use(accountApiRoutes({ accounts: deps.accounts }));
  tokenApi.use(sentryApiRoutes({ sentry: deps.sentry }));
  tokenApi.use(projectApiRoutes({ projects: deps.projects }));
  tokenApi.use(deployApiRoutes({ deploys: deps.deploys }));
  tokenApi.use(sentryShapedDeployRoutes({ deploys: deps.deploys }));
  app.use("/api", tokenApi);
  app.use("/api", notFoundHandler());

  // 8. Pages: form bodies, the session, CSRF on every unsafe method, then what templates need.
  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  app.use(deps.sessionMiddleware);
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body?._csrf as string | undefined) ?? req.get("x-csrf-token"),
  });
  app.use(csrfSynchronisedProtection);
  app.use(loadSessionPrincipal(deps.accounts));
  app.use((req, res, next) => {
    res.locals.csrfToken = generateToken(req);
    res.locals.flash = takeFlash(req);
    res.locals.currentPath = req.path;
    next();
  });
  app.use(accountPageRoutes({ accounts: deps.accounts, loginLimit: deps.loginLimit ?? { windowMs: 15 * 60_000, limit: 20 } }));
  app.use(sentryPageRoutes({ sentry: deps.sentry, config }));
  app.use(projectPageRoutes({ projects: deps.projects }));
  // Before the project page: it sets the Sentry banner's status for the card pages.
  app.use(liveRoutes({ deploys: deps.deploys, integrationStatus: async (organizationId) => publicStatus(await deps.sentry.status(organizationId)) }));
  app.use(deployPageRoutes({ deploys: deps.deploys, publicUrl: config.publicUrl }));

  // 9. Nothing matched: 404 page; then the one error handler.
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
