import type { Request, RequestHandler } from "express";
import type { AccountsService } from "../accounts/accounts-service.js";
import type { Role } from "../accounts/principal.js";
import { AuthenticationError, ForbiddenError } from "../errors.js";

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(req: Request): string | null {
  const header = req.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * API routes: the bearer token decides the principal (and so the organization). A missing, wrong
 * or revoked token is the same 401, so a caller learns nothing about which tokens exist.
 */
export function requireApiToken(accounts: AccountsService): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (!token) throw new AuthenticationError("Missing API token: send `Authorization: Bearer <api token>`.");
    const principal = await accounts.principalForApiToken(token);
    if (!principal) throw new AuthenticationError("The API token is not valid (unknown or revoked).");
    req.principal = principal;
    next();
  };
}

/** Pages: a signed-in person's principal from the session, if any; nothing is required here. */
export function loadSessionPrincipal(accounts: AccountsService): RequestHandler {
  return async (req, res, next) => {
    const { userId, organizationId } = req.session ?? {};
    if (userId && organizationId) {
      const principal = await accounts.principalForUser(userId, organizationId);
      if (principal) {
        req.principal = principal;
        res.locals.principal = principal;
        res.locals.isAdmin = principal.role === "admin";
      } else {
        // Membership removed since sign-in: the session no longer opens anything.
        delete req.session.userId;
        delete req.session.organizationId;
      }
    }
    next();
  };
}

/** Pages that need a person: send others to the login page and come back afterwards. */
export function requireLogin(): RequestHandler {
  return (req, res, next) => {
    if (req.principal) return next();
    if (req.method === "GET") {
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    throw new AuthenticationError("Please sign in again.");
  };
}

export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) throw new AuthenticationError();
    if (role === "admin" && req.principal.role !== "admin") {
      throw new ForbiddenError("Only admins of your organization can do this.");
    }
    next();
  };
}
