import { Router, type ErrorRequestHandler, type Request, type RequestHandler } from "express";
import type { AccountsService } from "../accounts/accounts-service.js";
import type { Principal } from "../accounts/principal.js";
import type { DeploysService } from "../deploys/deploys-service.js";
import { githubPayload, parseGithubDeploymentStatus } from "../deploys/github-deploy-shape.js";
import { parseSentryDeploy } from "../deploys/sentry-deploy-shape.js";
import { parseSleuthDeploy } from "../deploys/sleuth-deploy-shape.js";
import { AppError, AuthenticationError, NotFoundError, ValidationError } from "../errors.js";
import { SLUG_PATTERN } from "../slug.js";
import { queryText } from "./deploy-api-routes.js";
import { toAppError } from "./error-handler.js";
import { principalOf } from "./request-context.js";

export const SLEUTH_PATH_PREFIX = "/api/1/deployments";

/**
 * Sleuth's clients read plain-text answers, errors included. Mounted on SLEUTH_PATH_PREFIX before
 * the body parsers, so a malformed or oversized body is answered in plain text too.
 */
export const sleuthPlainTextErrors: RequestHandler = (_req, res, next) => {
  res.locals.plainTextErrors = true;
  next();
};

/** Sleuth answers only 400, 401 and 404 (and 413 for a huge body); our 409/422 refusals become 400. */
const sleuthStatuses: ErrorRequestHandler = (error, _req, _res, next) => {
  const appError = toAppError(error);
  if (appError.statusCode === 409 || appError.statusCode === 422) {
    next(new AppError(400, appError.code, appError.message, appError.details));
    return;
  }
  next(error);
};

/** Sleuth's key spellings: `Authorization: Bearer <key>`, the legacy `Authorization: apikey <key>`, or `api_key` in the body. */
function sleuthApiKey(req: Request): string | null {
  const header = req.get("authorization");
  if (header) {
    const match = /^(?:Bearer|apikey)\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  const fromBody = (req.body as { api_key?: unknown } | undefined)?.api_key;
  return typeof fromBody === "string" && fromBody ? fromBody : null;
}

/** The URL names an organization; it must be the token's own, and any other reads as "not found". */
function requireOwnOrganization(principal: Principal, orgSlug: string): void {
  if (principal.organizationSlug !== orgSlug) {
    throw new NotFoundError(`No organization ${JSON.stringify(orgSlug.slice(0, 60))} for this API token.`);
  }
}

/**
 * The webhooks that bring their own authentication, mounted on /api before the bearer-token router:
 * Sleuth's `register_deploy` (API key in header or body) and GitHub's `deployment_status` events
 * (HMAC signature with the project's webhook secret).
 */
export function deployWebhookRoutes(deps: { deploys: DeploysService; accounts: AccountsService }): Router {
  const { deploys, accounts } = deps;
  const router = Router();

  router.post("/1/deployments/:orgSlug/:projectSlug/register_deploy", async (req, res) => {
    res.locals.plainTextErrors = true;
    const key = sleuthApiKey(req);
    if (!key) throw new AuthenticationError("Missing API key: send Authorization: Bearer <api token> or api_key.");
    const principal = await accounts.principalForApiToken(key);
    if (!principal) throw new AuthenticationError("Invalid API key.");
    requireOwnOrganization(principal, String(req.params.orgSlug));
    const { request, ignoreIfDuplicate } = parseSleuthDeploy(String(req.params.projectSlug), req.body);
    const result = await deploys.register(principal.organizationId, request);
    if (!result.created && !ignoreIfDuplicate) {
      throw new ValidationError(
        `Duplicate deploy: ${request.version} is already registered for ${result.deploy.environment} (send ignore_if_duplicate=true to accept repeats).`,
      );
    }
    res.status(200).type("text/plain").send("Success");
  });
  router.use("/1/deployments", sleuthStatuses);

  router.post("/v1/webhooks/github", async (req, res) => {
    const orgSlug = queryText(req, "org", 100);
    const projectSlug = queryText(req, "project", 100);
    if (!orgSlug || !projectSlug) {
      throw new ValidationError("Add ?org=<organization slug>&project=<project slug> to the webhook's payload URL.", [
        ...(orgSlug ? [] : [{ field: "org", message: "Required." }]),
        ...(projectSlug ? [] : [{ field: "project", message: "Required." }]),
      ]);
    }
    const event = req.get("x-github-event");
    if (!event) throw new ValidationError("Missing X-GitHub-Event header; only GitHub webhook deliveries are taken here.");
    if (!req.rawBody && Number(req.get("content-length") ?? 0) > 0) {
      throw new AppError(415, "unsupported_media_type", "Set the GitHub webhook's content type to application/json.");
    }
    const organization = SLUG_PATTERN.test(orgSlug) ? await accounts.findOrganizationBySlug(orgSlug) : null;
    if (!organization) throw new NotFoundError(`No organization ${JSON.stringify(orgSlug)}.`);
    // The signature comes first: nothing of the body is believed before it is verified.
    const project = await deploys.verifyGithubDelivery(organization.id, projectSlug, req.rawBody ?? Buffer.alloc(0), req.get("x-hub-signature-256"));
    if (event === "ping") {
      res.status(200).json({ ok: true, message: `Webhook for project "${project.slug}" is set up; deployment_status events register deploys.` });
      return;
    }
    if (event !== "deployment_status") {
      res.status(202).json({ status: "ignored", reason: `The "${event.slice(0, 60)}" event is not used; subscribe to "Deployment statuses" only.` });
      return;
    }
    const delivery = parseGithubDeploymentStatus(project.slug, githubPayload(req.body));
    if (delivery.kind === "ignored") {
      res.status(202).json({ status: "ignored", reason: delivery.reason });
      return;
    }
    const result = await deploys.register(organization.id, delivery.request);
    const [object] = await deploys.deployObjects(organization.id, [result.deploy], [result.project]);
    res.status(result.created ? 201 : 200).json(object);
  });

  return router;
}

/**
 * Sentry's own deploy API shape, behind the bearer token (`sentry-cli releases deploys new` sends
 * `Authorization: Bearer <token>`): `POST /api/0/organizations/:orgSlug/releases/:version/deploys/`.
 */
export function sentryShapedDeployRoutes(deps: { deploys: DeploysService }): Router {
  const { deploys } = deps;
  const router = Router();

  router.post("/0/organizations/:orgSlug/releases/:version/deploys", async (req, res) => {
    const principal = principalOf(req);
    requireOwnOrganization(principal, String(req.params.orgSlug));
    const { projects, template } = parseSentryDeploy(String(req.params.version), req.body);
    const slugs = projects ?? [(await deploys.soleProject(principal.organizationId)).slug];
    const results = await deploys.registerAll(
      principal.organizationId,
      slugs.map((project) => ({ ...template, project })),
    );
    const first = results[0]!.deploy;
    res.status(results.some((r) => r.created) ? 201 : 200).json({
      id: first.id,
      environment: first.environment,
      dateStarted: first.startedAt?.toISOString() ?? null,
      dateFinished: first.timestamp.toISOString(),
      name: first.name,
      url: first.url,
    });
  });

  return router;
}
