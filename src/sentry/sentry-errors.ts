/**
 * What can go wrong when Aftershock asks Sentry, as types the callers can branch on. The connection
 * maps `kind` onto its state (`needs_reconnect` → "reconnect Sentry", `unavailable` → "Sentry is
 * unreachable"); the poller retries later on `unavailable` and stops on the others.
 *
 * Messages are written for a person reading the integration page and never contain the token.
 * These errors do not extend the app's HTTP error hierarchy on purpose: a 401 from Sentry is not a
 * 401 of Aftershock's API, so the caller decides what to answer.
 */
export type SentryErrorKind =
  | "needs_reconnect" // token rejected, revoked or expired: a person must reconnect
  | "permission" // the token works but lacks a scope or project access
  | "not_found" // organization, project or endpoint does not exist
  | "bad_request" // Sentry refused the query (400, other 4xx)
  | "unavailable"; // Sentry did not answer usefully after retries (5xx, timeouts, network, rate limit)

export class SentryError extends Error {
  constructor(
    readonly kind: SentryErrorKind,
    message: string,
    /** HTTP status of the last answer, when there was one. */
    readonly status?: number,
    /** Sentry's own `detail`, or a summary of the body when it was not JSON. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 401, or 403 on organization-level access: the token no longer opens this Sentry organization. */
export class SentryAuthError extends SentryError {
  constructor(message: string, status: number, detail?: string) {
    super("needs_reconnect", message, status, detail);
  }
}

/** 403 on a specific endpoint: the token lacks a scope (when known, `missingScope`) or project access. */
export class SentryPermissionError extends SentryError {
  constructor(
    message: string,
    readonly missingScope: string | undefined,
    detail?: string,
  ) {
    super("permission", message, 403, detail);
  }
}

export class SentryNotFoundError extends SentryError {
  constructor(message: string, detail?: string) {
    super("not_found", message, 404, detail);
  }
}

/** A 4xx other than 401/403/404/429: Sentry's `detail` says what it did not like. */
export class SentryRequestError extends SentryError {
  constructor(message: string, status: number | undefined, detail?: string) {
    super("bad_request", message, status, detail);
  }
}

/** Sentry did not answer usefully after all retries: 5xx, timeouts, dropped connections. */
export class SentryUnavailableError extends SentryError {
  constructor(
    message: string,
    status: number | undefined,
    /** How many times the request was sent. */
    readonly attempts: number,
    detail?: string,
  ) {
    super("unavailable", message, status, detail);
  }
}

/**
 * Still rate limited after the bounded retries, or told to wait longer than the client is allowed
 * to block. `retryAt` (epoch ms) says when Sentry will accept the call again, when it said so.
 */
export class SentryRateLimitedError extends SentryUnavailableError {
  constructor(
    message: string,
    attempts: number,
    readonly retryAt: number | undefined,
    detail?: string,
  ) {
    super(message, 429, attempts, detail);
  }
}
