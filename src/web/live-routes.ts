import { Router, type Request, type RequestHandler } from "express";
import type { DeploysService } from "../deploys/deploys-service.js";
import { AuthenticationError } from "../errors.js";
import { queryText } from "./deploy-api-routes.js";
import { requireLogin } from "./authentication.js";
import { principalOf } from "./request-context.js";

/** What a card page needs of the Sentry connection: whether to show the "reconnect" banner. */
export type IntegrationStatusLoader = (organizationId: string) => Promise<{ status: string; lastError?: string | null }>;

export interface LiveRoutesDeps {
  deploys: Pick<DeploysService, "listProjectDeploys" | "listRecentDeploys">;
  integrationStatus: IntegrationStatusLoader;
}

/** JSON for the live script; signed-in people only, and 401 JSON (not a login redirect) otherwise. */
function requireSessionJson(): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) throw new AuthenticationError("Sign in again to see live deploys.");
    next();
  };
}

/**
 * Sets `integration` (the banner's status) for the card pages, so a refresh shows the truth
 * without JavaScript; mounted ahead of the page routes, it renders nothing itself.
 */
function integrationLocals(deps: LiveRoutesDeps): RequestHandler {
  return async (req, res, next) => {
    if (req.principal) res.locals.integration = await deps.integrationStatus(req.principal.organizationId);
    next();
  };
}

function cursorOf(req: Request): string | null {
  return queryText(req, "cursor", 200);
}

/**
 * Session-side companions of the socket.io live cards:
 * - `GET /projects/:slug/cards.json` and `GET /deploys/cards.json`: the newest deploy objects (the
 *   first page, environment filter honoured) and the integration status, which public/live.js
 *   fetches on every (re)connect to catch up on what it missed, replacing cards by id so nothing
 *   appears twice. The bearer-token API cannot serve the browser, which holds only a cookie.
 * - `GET /deploys`: the organization-wide recent deploys page.
 * - the banner status for `/projects/:slug` (the project page's route lives in deploy-page-routes).
 */
export function liveRoutes(deps: LiveRoutesDeps): Router {
  const { deploys } = deps;
  const router = Router();

  router.get("/projects/:slug", integrationLocals(deps));

  router.get("/projects/:slug/cards.json", requireSessionJson(), async (req, res) => {
    const organizationId = principalOf(req).organizationId;
    const page = await deploys.listProjectDeploys(organizationId, String(req.params.slug), { environment: queryText(req, "environment", 200) });
    res.set("Cache-Control", "no-store");
    res.json({ deploys: page.deploys, integration: await deps.integrationStatus(organizationId) });
  });

  router.get("/deploys/cards.json", requireSessionJson(), async (req, res) => {
    const organizationId = principalOf(req).organizationId;
    const page = await deploys.listRecentDeploys(organizationId, { environment: queryText(req, "environment", 200) });
    res.set("Cache-Control", "no-store");
    res.json({ deploys: page.deploys, integration: await deps.integrationStatus(organizationId) });
  });

  router.get("/deploys", requireLogin(), integrationLocals(deps), async (req, res) => {
    const organizationId = principalOf(req).organizationId;
    const cursor = cursorOf(req);
    const page = await deploys.listRecentDeploys(organizationId, { cursor });
    res.render("pages/recent-deploys", {
      title: "Recent deploys",
      deploys: page.deploys,
      // Later pages are history: new deploys belong on the first page only.
      liveInsert: !cursor,
      olderHref: page.nextCursor ? `/deploys?cursor=${encodeURIComponent(page.nextCursor)}` : null,
      newestHref: cursor ? "/deploys" : null,
    });
  });

  return router;
}
