import { Router, type Request, type Response } from "express";
import passport from "passport";
import { Strategy as OAuth2Strategy } from "passport-oauth2";
import type { Config } from "../config.js";
import { REQUIRED_SCOPES, SentryConnectError, type SentryConnectionService } from "../sentry/sentry-connection-service.js";
import { sentryOAuthUrls } from "../sentry/sentry-client.js";
import { requireLogin, requireRole } from "./authentication.js";
import { flash, principalOf } from "./request-context.js";

interface OAuthResult {
  accessToken: string;
  refreshToken: string | null;
  params: { expires_in?: number | string; expires_at?: string; scope?: string };
}

/**
 * "Connect with OAuth" through Passport's OAuth 2.0 strategy: authorization-code grant with `state`
 * and PKCE (both kept in the server-side session), read-only scopes. A separate Authenticator
 * instance: signing people in to Aftershock is not Passport's job here, only the Sentry grant.
 */
function createSentryOAuth(config: Config) {
  if (!config.sentryOAuth) return null;
  const authenticator = new passport.Authenticator();
  const urls = sentryOAuthUrls(config.sentryUrl);
  authenticator.use(
    "sentry",
    new OAuth2Strategy(
      {
        authorizationURL: urls.authorizationURL,
        tokenURL: urls.tokenURL,
        clientID: config.sentryOAuth.clientId,
        clientSecret: config.sentryOAuth.clientSecret,
        callbackURL: `${config.publicUrl}/integrations/sentry/oauth/callback`,
        scope: REQUIRED_SCOPES.join(" "),
        scopeSeparator: " ",
        state: true,
        pkce: true,
      },
      (accessToken: string, refreshToken: string, params: OAuthResult["params"], _profile: unknown, done: (e: unknown, user?: OAuthResult) => void) =>
        done(null, { accessToken, refreshToken: refreshToken || null, params }),
    ),
  );
  return authenticator;
}

async function renderIntegrations(req: Request, res: Response, sentry: SentryConnectionService, extra: Record<string, unknown> = {}) {
  const principal = principalOf(req);
  const status = await sentry.status(principal.organizationId);
  let organizationChoices: Array<{ slug: string; name: string }> = [];
  if (status.needsOrganizationChoice && principal.role === "admin") {
    organizationChoices = await sentry.visibleOrganizations(principal.organizationId).catch(() => []);
  }
  res.render("pages/integrations", {
    title: "Integrations",
    sentry: status,
    organizationChoices,
    oauthEnabled: sentry.oauthEnabled,
    defaultBaseUrl: sentry.defaultBaseUrl,
    requiredScopes: REQUIRED_SCOPES.join(", "),
    ...extra,
  });
}

export function sentryPageRoutes(deps: { sentry: SentryConnectionService; config: Config }): Router {
  const { sentry } = deps;
  const router = Router();
  const oauth = createSentryOAuth(deps.config);

  router.get("/integrations", requireLogin(), async (req, res) => {
    await renderIntegrations(req, res, sentry);
  });

  router.post("/integrations/sentry/token", requireLogin(), requireRole("admin"), async (req, res) => {
    const principal = principalOf(req);
    // The token is never echoed back into the form: only the base URL and organization are.
    const form = { baseUrl: String(req.body?.baseUrl ?? ""), organization: String(req.body?.organization ?? "") };
    try {
      const status = await sentry.connectWithToken(principal.organizationId, principal.userEmail, {
        token: String(req.body?.token ?? ""),
        baseUrl: form.baseUrl || null,
        organization: form.organization || null,
      });
      flash(
        req,
        "success",
        status.needsOrganizationChoice ? "Token accepted. Choose which Sentry organization to use." : `Connected to Sentry organization ${status.organization}.`,
      );
      res.redirect(303, "/integrations");
    } catch (error) {
      if (!(error instanceof SentryConnectError)) throw error;
      res.status(error.status);
      await renderIntegrations(req, res, sentry, { form, errors: { [error.field]: error.message }, error: error.message, organizationHints: error.choices });
    }
  });

  router.post("/integrations/sentry/organization", requireLogin(), requireRole("admin"), async (req, res) => {
    try {
      const status = await sentry.chooseOrganizationForPending(principalOf(req).organizationId, String(req.body?.organization ?? ""));
      flash(req, "success", `Connected to Sentry organization ${status.organization}.`);
      res.redirect(303, "/integrations");
    } catch (error) {
      if (!(error instanceof SentryConnectError)) throw error;
      res.status(error.status);
      await renderIntegrations(req, res, sentry, { errors: { organization: error.message }, error: error.message });
    }
  });

  router.post("/integrations/sentry/disconnect", requireLogin(), requireRole("admin"), async (req, res) => {
    const removed = await sentry.disconnect(principalOf(req).organizationId);
    const summary = removed.map((r) => `${r.label}: ${r.count}`).join("; ");
    flash(req, "success", `Sentry disconnected. Removed — ${summary}.`);
    res.redirect(303, "/integrations");
  });

  if (oauth) {
    router.get("/integrations/sentry/oauth/start", requireLogin(), requireRole("admin"), oauth.initialize(), oauth.authenticate("sentry", { session: false }));

    router.get("/integrations/sentry/oauth/callback", requireLogin(), requireRole("admin"), oauth.initialize(), (req, res, next) => {
      oauth.authenticate("sentry", { session: false }, async (error: unknown, result: OAuthResult | false, info: { message?: string } | undefined) => {
        try {
          if (error || !result) {
            const reason = typeof req.query.error === "string" ? `Sentry said: ${req.query.error}` : (info?.message ?? (error as Error)?.message ?? "unknown error");
            flash(req, "error", `Connecting Sentry failed (${reason}). Nothing was saved; try again.`);
            res.redirect(303, "/integrations");
            return;
          }
          const principal = principalOf(req);
          const { params } = result;
          const expiresAt = params.expires_at
            ? new Date(params.expires_at)
            : params.expires_in
              ? new Date(Date.now() + Number(params.expires_in) * 1000)
              : null;
          const status = await sentry.connectWithOAuth(principal.organizationId, principal.userEmail, {
            accessToken: result.accessToken,
            refreshToken: result.refreshToken,
            expiresAt,
            scopes: (params.scope ?? "").split(/[\s,]+/).filter(Boolean),
          });
          flash(
            req,
            "success",
            status.needsOrganizationChoice ? "Sentry authorized. Choose which Sentry organization to use." : `Connected to Sentry organization ${status.organization}.`,
          );
          res.redirect(303, "/integrations");
        } catch (caught) {
          if (caught instanceof SentryConnectError) {
            flash(req, "error", caught.message);
            res.redirect(303, "/integrations");
            return;
          }
          next(caught);
        }
      })(req, res, next);
    });
  }
  return router;
}

/** GET/PUT/DELETE /api/v1/integrations/sentry and GET …/projects (inside the token-protected API). */
export function sentryApiRoutes(deps: { sentry: SentryConnectionService }): Router {
  const { sentry } = deps;
  const router = Router();
  router.get("/v1/integrations/sentry", async (req, res) => {
    res.json(publicStatus(await sentry.status(principalOf(req).organizationId)));
  });
  router.put("/v1/integrations/sentry", requireRole("admin"), async (req, res) => {
    const principal = principalOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? null : String(v));
    const status = await sentry.connectWithToken(principal.organizationId, principal.userEmail ?? "API token", {
      token: text(body.token) ?? "",
      baseUrl: text(body.baseUrl),
      organization: text(body.organization),
    });
    res.json(publicStatus(status));
  });
  router.delete("/v1/integrations/sentry", requireRole("admin"), async (req, res) => {
    const organizationId = principalOf(req).organizationId;
    const removed = await sentry.disconnect(organizationId);
    res.json({ ...publicStatus(await sentry.status(organizationId)), removed });
  });
  router.get("/v1/integrations/sentry/projects", async (req, res) => {
    res.json(await sentry.listProjects(principalOf(req).organizationId));
  });
  return router;
}

/** DESIGN.md's status object: {status, baseUrl, organization, scopes, connectedAt, lastError}, plus display extras. */
export function publicStatus(s: Awaited<ReturnType<SentryConnectionService["status"]>>) {
  return {
    status: s.status,
    baseUrl: s.baseUrl,
    organization: s.organization,
    scopes: s.scopes,
    connectedAt: s.connectedAt,
    lastError: s.lastError,
    method: s.method,
    connectedBy: s.connectedBy,
    tokenLastFour: s.tokenLastFour,
  };
}
