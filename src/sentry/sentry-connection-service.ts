import type { DataSource, EntityManager } from "typeorm";
import type { DomainEvents } from "../domain-events.js";
import type { Logger } from "../logger.js";
import type { SecretBox } from "../secret-box.js";
import { SentryConnectionEntity } from "./sentry-connection-entity.js";
import type { SentryDirectory, SentryProjectOption } from "./sentry-directory.js";
import { SentryNotConnectedError } from "./sentry-directory.js";
import { SentryAuthError, SentryError, SentryUnavailableError } from "./sentry-errors.js";
import type { SentryClient, SentryClientOptions } from "./sentry-client.js";
import { normalizeSentryBaseUrl, SENTRY_SCOPES, sentryOAuthUrls } from "./sentry-client.js";

/** The read-only scopes Aftershock needs; it never asks for a write scope. */
export const REQUIRED_SCOPES = SENTRY_SCOPES;
/** Sentry failing this long in a row turns the connection from `connected` to `error`. */
export const ERROR_AFTER_MS = 15 * 60_000;
/** OAuth access tokens are refreshed this long before they expire (they live ~30 days). */
export const REFRESH_MARGIN_MS = 3 * 24 * 3600_000;

export type IntegrationState = "connected" | "needs_reconnect" | "error" | "not_connected";

/** DESIGN.md's integration status object (plus a few display fields); never the token. */
export interface IntegrationStatus {
  status: IntegrationState;
  baseUrl: string | null;
  organization: string | null;
  scopes: string[];
  connectedAt: string | null;
  lastError: string | null;
  method: "token" | "oauth" | null;
  connectedBy: string | null;
  tokenLastFour: string | null;
  /** Tokens are stored but the person still has to choose the Sentry organization. */
  needsOrganizationChoice: boolean;
}

export interface ConnectInput {
  token: string;
  baseUrl?: string | null;
  organization?: string | null;
}

export interface OAuthGrant {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
  scopes: string[];
}

/** Thrown for input problems the person can fix; carries field-level details for the form. */
export class SentryConnectError extends Error {
  constructor(
    message: string,
    readonly field: "token" | "baseUrl" | "organization",
    readonly status: 400 | 422 = 422,
    readonly choices: string[] = [],
  ) {
    super(message);
    this.name = "SentryConnectError";
  }
}

export type DisconnectHook = (tx: EntityManager, organizationId: string) => Promise<number>;

export interface SentryConnectionDeps {
  dataSource: DataSource;
  secretBox: SecretBox;
  defaultBaseUrl: string;
  oauth: { clientId: string; clientSecret: string } | null;
  createClient: (options: SentryClientOptions) => SentryClient;
  events: DomainEvents;
  logger: Logger;
  now?: () => number;
  fetch?: typeof fetch;
}

/**
 * The client's own normalisation (it keeps a path prefix, for a self-hosted Sentry served under
 * one), with its complaint turned into a message for the form's address field.
 */
export function normalizeBaseUrl(input: string): string {
  try {
    return normalizeSentryBaseUrl(input);
  } catch {
    throw new SentryConnectError("Enter the Sentry address as an http(s) URL, like https://sentry.io or https://sentry.example.com.", "baseUrl", 400);
  }
}

function describe(error: unknown): string {
  if (error instanceof SentryError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The organization's Sentry connection: connect by token or OAuth grant, status, token refresh,
 * disconnect, and the one way the rest of the app reaches Sentry (`withClient`), which keeps the
 * connection's state honest: a rejected token → `needs_reconnect`; Sentry failing for long → `error`.
 */
export class SentryConnectionService implements SentryDirectory {
  private readonly disconnectHooks: Array<{ label: string; hook: DisconnectHook }> = [];
  private readonly clients = new Map<string, { key: string; client: SentryClient }>();
  private readonly now: () => number;

  constructor(private readonly deps: SentryConnectionDeps) {
    this.now = deps.now ?? Date.now;
  }

  get oauthEnabled(): boolean {
    return this.deps.oauth !== null;
  }

  get defaultBaseUrl(): string {
    return this.deps.defaultBaseUrl;
  }

  /** Other capabilities register how to delete what they derived from Sentry (main.ts wires them). */
  onDisconnect(label: string, hook: DisconnectHook): void {
    this.disconnectHooks.push({ label, hook });
  }

  private repo(manager: EntityManager = this.deps.dataSource.manager) {
    return manager.getRepository(SentryConnectionEntity);
  }

  async status(organizationId: string): Promise<IntegrationStatus> {
    const row = await this.repo().findOneBy({ organizationId });
    if (!row) {
      return {
        status: "not_connected",
        baseUrl: null,
        organization: null,
        scopes: [],
        connectedAt: null,
        lastError: null,
        method: null,
        connectedBy: null,
        tokenLastFour: null,
        needsOrganizationChoice: false,
      };
    }
    return {
      status: row.sentryOrganization ? row.status : "not_connected",
      baseUrl: row.baseUrl,
      organization: row.sentryOrganization,
      scopes: row.scopes,
      connectedAt: row.connectedAt.toISOString(),
      lastError: row.lastError,
      method: row.method,
      connectedBy: row.connectedByEmail,
      tokenLastFour: row.tokenLastFour,
      needsOrganizationChoice: !row.sentryOrganization,
    };
  }

  /**
   * Connect with a pasted auth token. The token is checked against Sentry before anything is saved:
   * it must open the organization and carry the three read scopes. With no organization given and
   * several visible, the tokens are kept (sealed) and the person picks one next.
   */
  async connectWithToken(organizationId: string, connectedBy: string | null, input: ConnectInput): Promise<IntegrationStatus> {
    const token = (input.token ?? "").trim();
    if (!token) throw new SentryConnectError("Paste a Sentry auth token.", "token", 400);
    if (token.length > 500 || /\s/.test(token)) throw new SentryConnectError("That does not look like a Sentry auth token.", "token", 400);
    const baseUrl = normalizeBaseUrl(input.baseUrl || this.deps.defaultBaseUrl);
    const client = this.deps.createClient({ baseUrl, token });
    const organizations = await this.listOrganizationsWith(client, baseUrl);
    const chosen = this.chooseOrganization(organizations, input.organization);
    const access = await client.checkAccess(chosen ?? organizations[0]?.slug);
    if (access.missing.length) {
      throw new SentryConnectError(
        `The token is missing the ${access.missing.join(", ")} scope${access.missing.length > 1 ? "s" : ""}. Create a token with ${REQUIRED_SCOPES.join(", ")}.`,
        "token",
      );
    }
    await this.save(organizationId, {
      method: "token",
      baseUrl,
      sentryOrganization: chosen,
      accessToken: token,
      refreshToken: null,
      expiresAt: null,
      scopes: [...REQUIRED_SCOPES],
      connectedBy,
    });
    return this.status(organizationId);
  }

  /** After the OAuth round trip: keep the grant, and pick the organization when only one is visible. */
  async connectWithOAuth(organizationId: string, connectedBy: string | null, grant: OAuthGrant): Promise<IntegrationStatus> {
    const baseUrl = normalizeBaseUrl(this.deps.defaultBaseUrl);
    const missing = REQUIRED_SCOPES.filter((s) => !grant.scopes.includes(s));
    if (missing.length) {
      throw new SentryConnectError(`Sentry granted no ${missing.join(", ")} scope; approve all requested scopes.`, "token");
    }
    const client = this.deps.createClient({ baseUrl, token: grant.accessToken });
    const organizations = await this.listOrganizationsWith(client, baseUrl);
    const chosen = organizations.length === 1 ? organizations[0]!.slug : null;
    await this.save(organizationId, {
      method: "oauth",
      baseUrl,
      sentryOrganization: chosen,
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAt: grant.expiresAt,
      scopes: grant.scopes,
      connectedBy,
    });
    return this.status(organizationId);
  }

  /** The Sentry organizations the stored (possibly still pending) connection can see. */
  async visibleOrganizations(organizationId: string): Promise<Array<{ slug: string; name: string }>> {
    const row = await this.repo().findOneBy({ organizationId });
    if (!row) throw new SentryNotConnectedError("not_connected");
    const client = this.deps.createClient({ baseUrl: row.baseUrl, token: this.deps.secretBox.open(row.accessTokenSealed) });
    return (await this.listOrganizationsWith(client, row.baseUrl)).map((o) => ({ slug: o.slug, name: o.name }));
  }

  async chooseOrganizationForPending(organizationId: string, sentryOrganization: string): Promise<IntegrationStatus> {
    const organizations = await this.visibleOrganizations(organizationId);
    const chosen = this.chooseOrganization(organizations, sentryOrganization);
    if (!chosen) throw new SentryConnectError("Choose a Sentry organization.", "organization", 400, organizations.map((o) => o.slug));
    await this.repo().update({ organizationId }, { sentryOrganization: chosen, status: "connected", lastError: null, failingSince: null, updatedAt: new Date(this.now()) });
    this.clients.delete(organizationId);
    this.deps.events.emit("integration.status", { organizationId });
    return this.status(organizationId);
  }

  /**
   * Deletes the tokens and every row derived from Sentry (series, impacts, new issues, impact
   * sources' mappings) in one transaction; answers what was removed, for the page to say.
   */
  async disconnect(organizationId: string): Promise<Array<{ label: string; count: number }>> {
    const removed = await this.deps.dataSource.transaction(async (tx) => {
      const out: Array<{ label: string; count: number }> = [];
      for (const { label, hook } of this.disconnectHooks) out.push({ label, count: await hook(tx, organizationId) });
      const result = await this.repo(tx).delete({ organizationId });
      out.unshift({ label: "Sentry connection and its tokens", count: result.affected ?? 0 });
      return out;
    });
    this.clients.delete(organizationId);
    this.deps.events.emit("integration.status", { organizationId });
    return removed;
  }

  // ---- the way the rest of the app reaches Sentry ----

  /**
   * Runs `work` with a client for the organization's connection and records the outcome: a token
   * Sentry rejects marks the connection `needs_reconnect` (people must act; polling stops), Sentry
   * failing for ERROR_AFTER_MS marks it `error`, and the next success clears both.
   */
  async withClient<T>(organizationId: string, work: (client: SentryClient, sentryOrganization: string) => Promise<T>): Promise<T> {
    let row = await this.repo().findOneBy({ organizationId });
    if (!row || !row.sentryOrganization) throw new SentryNotConnectedError("not_connected");
    if (row.status === "needs_reconnect") throw new SentryNotConnectedError("needs_reconnect");
    row = await this.refreshIfDue(row);
    const client = this.clientFor(row);
    try {
      const result = await work(client, row.sentryOrganization!);
      if (row.status !== "connected" || row.failingSince) {
        await this.repo().update({ organizationId }, { status: "connected", lastError: null, failingSince: null, updatedAt: new Date(this.now()) });
        this.deps.events.emit("integration.status", { organizationId });
      }
      return result;
    } catch (error) {
      if (error instanceof SentryAuthError) {
        await this.markNeedsReconnect(organizationId, error.message);
      } else if (error instanceof SentryUnavailableError) {
        await this.recordFailure(row, describe(error));
      }
      throw error;
    }
  }

  /** The connection's state for callers that skip work when Sentry is not usable (the poller). */
  async isUsable(organizationId: string): Promise<boolean> {
    const row = await this.repo().findOneBy({ organizationId });
    return Boolean(row?.sentryOrganization && row.status !== "needs_reconnect");
  }

  async listProjects(organizationId: string): Promise<SentryProjectOption[]> {
    return this.withClient(organizationId, async (client, org) =>
      (await client.listProjects(org)).map((p) => ({ id: p.id, slug: p.slug, name: p.name, environments: p.environments ?? [] })),
    );
  }

  async listEnvironments(organizationId: string, sentryProjectSlug: string): Promise<string[]> {
    return this.withClient(organizationId, (client, org) => client.listEnvironments(org, sentryProjectSlug));
  }

  /** Refreshes every OAuth token that expires within the margin (a scheduled job calls this). */
  async refreshExpiringTokens(): Promise<number> {
    const due: SentryConnectionEntity[] = await this.repo()
      .createQueryBuilder("c")
      .where("c.method = 'oauth' AND c.status <> 'needs_reconnect' AND c.expires_at IS NOT NULL AND c.expires_at < :limit", {
        limit: new Date(this.now() + REFRESH_MARGIN_MS),
      })
      .getMany();
    let refreshed = 0;
    for (const row of due) {
      const after = await this.refreshIfDue(row);
      if (after.accessTokenSealed !== row.accessTokenSealed) refreshed++;
    }
    return refreshed;
  }

  // ---- internals ----

  private async listOrganizationsWith(client: SentryClient, baseUrl: string) {
    try {
      return await client.listOrganizations();
    } catch (error) {
      if (error instanceof SentryAuthError) {
        throw new SentryConnectError("Sentry rejected the token (it is wrong, revoked or expired).", "token");
      }
      if (error instanceof SentryError && (error.kind === "not_found" || error.kind === "bad_request")) {
        throw new SentryConnectError(`${baseUrl} does not answer like a Sentry server (no /api/0/organizations/). Check the address.`, "baseUrl");
      }
      if (error instanceof SentryUnavailableError) {
        throw new SentryConnectError(`Could not reach Sentry at ${baseUrl}: ${error.message}`, "baseUrl");
      }
      throw error;
    }
  }

  private chooseOrganization(organizations: Array<{ slug: string; name: string }>, wanted: string | null | undefined): string | null {
    const slugs = organizations.map((o) => o.slug);
    if (wanted && wanted.trim()) {
      const w = wanted.trim();
      const match = organizations.find((o) => o.slug === w) ?? organizations.find((o) => o.slug.toLowerCase() === w.toLowerCase());
      if (!match) {
        throw new SentryConnectError(
          `The token cannot see a Sentry organization "${w}". It sees: ${slugs.join(", ") || "none"}.`,
          "organization",
          422,
          slugs,
        );
      }
      return match.slug;
    }
    if (organizations.length === 0) throw new SentryConnectError("The token cannot see any Sentry organization.", "organization", 422);
    return organizations.length === 1 ? organizations[0]!.slug : null;
  }

  private async save(
    organizationId: string,
    c: {
      method: "token" | "oauth";
      baseUrl: string;
      sentryOrganization: string | null;
      accessToken: string;
      refreshToken: string | null;
      expiresAt: Date | null;
      scopes: string[];
      connectedBy: string | null;
    },
  ): Promise<void> {
    const now = new Date(this.now());
    await this.repo().upsert(
      {
        organizationId,
        method: c.method,
        baseUrl: c.baseUrl,
        sentryOrganization: c.sentryOrganization,
        accessTokenSealed: this.deps.secretBox.seal(c.accessToken),
        refreshTokenSealed: c.refreshToken ? this.deps.secretBox.seal(c.refreshToken) : null,
        tokenLastFour: c.accessToken.slice(-4),
        expiresAt: c.expiresAt,
        scopes: c.scopes,
        status: "connected",
        lastError: null,
        failingSince: null,
        connectedByEmail: c.connectedBy,
        connectedAt: now,
        updatedAt: now,
      },
      ["organizationId"],
    );
    this.clients.delete(organizationId);
    this.deps.events.emit("integration.status", { organizationId });
  }

  private clientFor(row: SentryConnectionEntity): SentryClient {
    const cached = this.clients.get(row.organizationId);
    // Keyed by the sealed token so a refreshed or replaced token gets a new client.
    if (cached && cached.key === row.accessTokenSealed) return cached.client;
    const client = this.deps.createClient({
      baseUrl: row.baseUrl,
      token: this.deps.secretBox.open(row.accessTokenSealed),
      organizationSlug: row.sentryOrganization ?? undefined,
    });
    this.clients.set(row.organizationId, { key: row.accessTokenSealed, client });
    return client;
  }

  private async markNeedsReconnect(organizationId: string, reason: string): Promise<void> {
    await this.repo().update({ organizationId }, { status: "needs_reconnect", lastError: reason, updatedAt: new Date(this.now()) });
    this.clients.delete(organizationId);
    this.deps.logger.warn({ organizationId }, "Sentry connection needs reconnecting");
    this.deps.events.emit("integration.status", { organizationId });
  }

  private async recordFailure(row: SentryConnectionEntity, reason: string): Promise<void> {
    const now = this.now();
    const failingSince = row.failingSince ?? new Date(now);
    const status = now - failingSince.getTime() >= ERROR_AFTER_MS ? "error" : row.status;
    await this.repo().update({ organizationId: row.organizationId }, { failingSince, lastError: reason, status, updatedAt: new Date(now) });
    if (status !== row.status) this.deps.events.emit("integration.status", { organizationId: row.organizationId });
  }

  /**
   * Refreshes an OAuth token that expires within the margin. Several instances may try at once and
   * Sentry rotates refresh tokens, so a failed refresh first re-reads the row: if another instance
   * already stored a new token, that one is used instead of giving up.
   */
  private async refreshIfDue(row: SentryConnectionEntity): Promise<SentryConnectionEntity> {
    if (row.method !== "oauth" || !row.expiresAt || !this.deps.oauth) return row;
    if (row.expiresAt.getTime() - this.now() > REFRESH_MARGIN_MS) return row;
    if (!row.refreshTokenSealed) {
      await this.markNeedsReconnect(row.organizationId, "The Sentry token expired and cannot be refreshed; reconnect.");
      throw new SentryNotConnectedError("needs_reconnect");
    }
    const { tokenURL } = sentryOAuthUrls(row.baseUrl);
    const body = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: this.deps.secretBox.open(row.refreshTokenSealed),
      client_id: this.deps.oauth.clientId,
      client_secret: this.deps.oauth.clientSecret,
    });
    type TokenAnswer = { access_token?: string; refresh_token?: string; expires_in?: number; expires_at?: string; scope?: string };
    let answer = null as TokenAnswer | null;
    let failure = "";
    try {
      const res = await (this.deps.fetch ?? fetch)(tokenURL, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      if (res.ok) answer = (await res.json()) as TokenAnswer;
      else failure = `Sentry refused to refresh the token (HTTP ${res.status}).`;
    } catch (error) {
      failure = `Could not reach Sentry to refresh the token: ${describe(error)}`;
    }
    if (!answer?.access_token) {
      const current = await this.repo().findOneBy({ organizationId: row.organizationId });
      if (current && current.accessTokenSealed !== row.accessTokenSealed) return current;
      if (row.expiresAt.getTime() > this.now()) {
        // Not expired yet: keep using it and try again next time.
        this.deps.logger.warn({ organizationId: row.organizationId }, failure || "token refresh failed");
        return row;
      }
      await this.markNeedsReconnect(row.organizationId, failure || "The Sentry token expired and could not be refreshed; reconnect.");
      throw new SentryNotConnectedError("needs_reconnect");
    }
    const expiresAt = answer.expires_at
      ? new Date(answer.expires_at)
      : answer.expires_in
        ? new Date(this.now() + answer.expires_in * 1000)
        : null;
    const update = {
      accessTokenSealed: this.deps.secretBox.seal(answer.access_token),
      refreshTokenSealed: answer.refresh_token ? this.deps.secretBox.seal(answer.refresh_token) : row.refreshTokenSealed,
      tokenLastFour: answer.access_token.slice(-4),
      expiresAt,
      scopes: answer.scope ? answer.scope.split(/[\s,]+/).filter(Boolean) : row.scopes,
      updatedAt: new Date(this.now()),
    };
    await this.repo().update({ organizationId: row.organizationId }, update);
    this.deps.logger.info({ organizationId: row.organizationId }, "Sentry OAuth token refreshed");
    return Object.assign(new SentryConnectionEntity(), row, update);
  }
}
