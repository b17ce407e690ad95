import { Router, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import type { AccountsService } from "../accounts/accounts-service.js";
import { AppError, ValidationError } from "../errors.js";
import { requireLogin, requireRole } from "./authentication.js";
import { flash, principalOf } from "./request-context.js";

function safeNext(next: unknown): string {
  // Only same-site paths: never redirect a person off-site after login.
  return typeof next === "string" && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function fieldErrors(error: unknown): Record<string, string> | null {
  if (!(error instanceof ValidationError) && !(error instanceof AppError && error.statusCode === 409)) return null;
  const out: Record<string, string> = {};
  for (const d of (error as AppError).details as Array<{ field?: string; message?: string }>) {
    if (d?.field && d.message) out[d.field] = d.message;
  }
  return out;
}

async function signIn(req: Request, userId: string, organizationId: string): Promise<void> {
  // A new session id at sign-in: a session fixed by someone else before login opens nothing.
  await new Promise<void>((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
  req.session.userId = userId;
  req.session.organizationId = organizationId;
}

export interface LoginLimit {
  windowMs: number;
  limit: number;
}

/** Sign-in, sign-out, the first-run page, and the admin's settings for API tokens and members. */
export function accountPageRoutes(deps: { accounts: AccountsService; loginLimit: LoginLimit }): Router {
  const { accounts } = deps;
  const router = Router();

  const loginLimiter = rateLimit({
    windowMs: deps.loginLimit.windowMs,
    limit: deps.loginLimit.limit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    handler: (req, res) => {
      res.status(429).render("pages/login", {
        title: "Sign in",
        email: req.body?.email ?? "",
        next: safeNext(req.body?.next),
        error: "Too many sign-in attempts. Wait a few minutes and try again.",
      });
    },
  });

  router.get("/", async (req, res) => {
    if (!(await accounts.hasAnyOrganization())) return res.redirect(303, "/setup");
    if (!req.principal) return res.redirect(303, "/login");
    res.redirect(303, "/projects");
  });

  router.get("/login", async (req, res) => {
    if (!(await accounts.hasAnyOrganization())) return res.redirect(303, "/setup");
    if (req.principal) return res.redirect(303, safeNext(req.query.next));
    res.render("pages/login", { title: "Sign in", next: safeNext(req.query.next) });
  });

  router.post("/login", loginLimiter, async (req, res) => {
    const email = String(req.body?.email ?? "");
    const password = String(req.body?.password ?? "");
    const next = safeNext(req.body?.next);
    const result = email && password ? await accounts.verifyLogin(email, password) : null;
    if (!result || result.organizationIds.length === 0) {
      res.status(401).render("pages/login", {
        title: "Sign in",
        email,
        next,
        error: result ? "Your account is not a member of any organization." : "Email or password is not right.",
      });
      return;
    }
    await signIn(req, result.userId, result.organizationIds[0]!);
    res.redirect(303, next);
  });

  router.post("/logout", async (req, res) => {
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie("aftershock.sid");
    res.redirect(303, "/login");
  });

  router.get("/setup", async (req, res) => {
    if (await accounts.hasAnyOrganization()) return res.redirect(303, "/login");
    res.render("pages/setup", { title: "Set up Aftershock" });
  });

  router.post("/setup", async (req, res) => {
    if (await accounts.hasAnyOrganization()) {
      flash(req, "info", "Aftershock is already set up; sign in instead.");
      return res.redirect(303, "/login");
    }
    const form = { orgName: String(req.body?.orgName ?? ""), email: String(req.body?.email ?? "") };
    try {
      const { organization, userId } = await accounts.createOrganizationWithAdmin({
        orgName: form.orgName,
        email: form.email,
        password: String(req.body?.password ?? ""),
      });
      await signIn(req, userId, organization.id);
      flash(req, "success", `Welcome! ${organization.name} is ready. Next: connect Sentry and add a project.`);
      res.redirect(303, "/");
    } catch (error) {
      const errors = fieldErrors(error);
      if (!errors) throw error;
      res.status(400).render("pages/setup", { title: "Set up Aftershock", form, errors, error: (error as Error).message });
    }
  });

  router.get("/settings/tokens", requireLogin(), requireRole("admin"), async (req, res) => {
    await renderTokens(req, res, accounts, {});
  });

  router.post("/settings/tokens", requireLogin(), requireRole("admin"), async (req, res) => {
    const name = String(req.body?.name ?? "");
    const role = String(req.body?.role ?? "member") as "admin" | "member";
    try {
      const { token, record } = await accounts.createApiToken(principalOf(req), { name, role });
      // Shown once, on this response only; the page says so. Never stored in the session or flash.
      res.status(201);
      await renderTokens(req, res, accounts, { createdToken: token, createdRecord: record });
    } catch (error) {
      const errors = fieldErrors(error);
      if (!errors) throw error;
      res.status(400);
      await renderTokens(req, res, accounts, { form: { name, role }, errors });
    }
  });

  router.post("/settings/tokens/:id/revoke", requireLogin(), requireRole("admin"), async (req, res) => {
    await accounts.revokeApiToken(principalOf(req), String(req.params.id));
    flash(req, "success", "Token revoked. Anything using it is refused from now on.");
    res.redirect(303, "/settings/tokens");
  });

  router.get("/settings/members", requireLogin(), async (req, res) => {
    res.render("pages/members", { title: "Members", members: await accounts.listMembers(principalOf(req)) });
  });

  router.post("/settings/members", requireLogin(), requireRole("admin"), async (req, res) => {
    const form = { email: String(req.body?.email ?? ""), role: String(req.body?.role ?? "member") };
    try {
      await accounts.addMember(principalOf(req), {
        email: form.email,
        password: String(req.body?.password ?? ""),
        role: form.role as "admin" | "member",
      });
      flash(req, "success", `${form.email.trim().toLowerCase()} added as ${form.role}.`);
      res.redirect(303, "/settings/members");
    } catch (error) {
      const errors = fieldErrors(error);
      if (!errors) throw error;
      res.status(400).render("pages/members", {
        title: "Members",
        members: await accounts.listMembers(principalOf(req)),
        form,
        errors,
        error: (error as Error).message,
      });
    }
  });

  router.post("/settings/members/:userId/remove", requireLogin(), requireRole("admin"), async (req, res) => {
    await accounts.removeMember(principalOf(req), String(req.params.userId));
    flash(req, "success", "Member removed.");
    res.redirect(303, "/settings/members");
  });

  return router;
}

async function renderTokens(req: Request, res: Response, accounts: AccountsService, extra: Record<string, unknown>): Promise<void> {
  res.render("pages/tokens", { title: "API tokens", tokens: await accounts.listApiTokens(principalOf(req)), ...extra });
}

/** JSON API of accounts: GET /api/v1/organization. */
export function accountApiRoutes(deps: { accounts: AccountsService }): Router {
  const router = Router();
  router.get("/v1/organization", async (req, res) => {
    const org = await deps.accounts.getOrganization(principalOf(req).organizationId);
    res.json({ slug: org.slug, name: org.name });
  });
  return router;
}
