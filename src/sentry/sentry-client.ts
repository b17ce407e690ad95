import { readFileSync } from "node:fs";
import { parseEventsStats, parseEventsTimeseries, fillBuckets, sentryDate, SeriesShapeError, type CountBucket, type RawPoint } from "./count-series.js";
import { nextCursor } from "./link-header.js";
import { GateWaitTooLongError, RequestGate } from "./rate-limiter.js";
import { interpretBody, summarise } from "./response-body.js";
import {
  SentryAuthError,
  SentryError,
  SentryNotFoundError,
  SentryPermissionError,
  SentryRateLimitedError,
  SentryRequestError,
  SentryUnavailableError,
} from "./sentry-errors.js";

export type { CountBucket } from "./count-series.js";

/**
 * The one place Aftershock talks to Sentry's Web API (NOTES.md). It knows Sentry, nothing else:
 * no projects, no database, no HTTP server. Every call is retried, rate limited and bounded in
 * time here so that callers only see typed results or typed `SentryError`s.
 */

/** The read scopes Aftershock needs, and never more. */
export const SENTRY_SCOPES = ["org:read", "project:read", "event:read"] as const;
export type SentryScope = (typeof SENTRY_SCOPES)[number];

export type SentryEndpoint = "organizations" | "projects" | "environments" | "events-stats" | "events-timeseries" | "issues";

export type SentryRequestOutcome =
  | "ok"
  | "client_error" // 4xx other than below: not retried
  | "auth_error" // 401, or 403
  | "rate_limited" // 429: waited and retried
  | "server_error" // 5xx or an unreadable success: retried
  | "timeout" // no answer within timeoutMs: retried
  | "network_error"; // refused, reset, DNS…: retried

/** One attempt, for metrics (`onRequest`). Carries no token and no URL query. */
export interface SentryRequestEvent {
  endpoint: SentryEndpoint;
  status: number | undefined;
  outcome: SentryRequestOutcome;
  attempt: number;
  durationMs: number;
}

export interface SentryClientOptions {
  /** `https://sentry.io`, a region, or a self-hosted URL (a trailing `/` or `/api/0` is tolerated). */
  baseUrl: string;
  /** The token, or a function giving the current one (so a connection can swap in a refreshed token). */
  token: string | (() => string | Promise<string>);
  /** Default organization for `checkAccess()`. */
  organizationSlug?: string;
  fetch?: typeof fetch;
  /** Per attempt, headers and body together. Default 15 000. */
  timeoutMs?: number;
  /** Retries after the first try, for 5xx/timeouts/network errors and, separately, for 429s. Default 4. */
  maxRetries?: number;
  userAgent?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Called after every attempt (metrics). Must not throw; if it does, the error is ignored. */
  onRequest?: (event: SentryRequestEvent) => void;
  /**
   * Called on a 401 before giving up; resolve `true` after refreshing the token to retry once
   * (the OAuth connection refreshes here). Default: no retry.
   */
  onUnauthorized?: () => Promise<boolean>;
  /** Own cap on concurrent requests; Sentry's `ConcurrentLimit` lowers it further. Default 5. */
  maxConcurrent?: number;
  /** Longest the client blocks for a rate limit before throwing `SentryRateLimitedError`. Default 60 000. */
  maxRateLimitWaitMs?: number;
  /** First backoff delay; doubles per retry with jitter, capped at 10 s. Default 500. */
  retryBaseDelayMs?: number;
  /** Buckets per `events-stats` request. Default 5 000 (see `DEFAULT_MAX_BUCKETS_PER_REQUEST`). */
  maxBucketsPerRequest?: number;
  /** Jitter source, injectable for tests. Default Math.random. */
  random?: () => number;
}

export interface SentryOrganization {
  id: string;
  slug: string;
  name: string;
  /** `links.regionUrl`, or null (self-hosted). */
  regionUrl: string | null;
}

export interface SentryProject {
  id: string;
  slug: string;
  name: string;
  platform: string | null;
  environments: string[];
}

export interface SentryIssue {
  id: string;
  shortId: string;
  permalink: string;
  /** ISO 8601, UTC. */
  firstSeen: string;
  /** Events in the issue (Sentry sends it as a string). */
  count: number;
}

export interface ErrorCountsQuery {
  org: string;
  projectId: string | number;
  environment: string;
  start: Date;
  end: Date;
  intervalSeconds?: number;
}

export interface IssuesQuery {
  org: string;
  projectId: string | number;
  environment: string;
  since: Date;
}

export interface SentryAccess {
  /** The needed scopes the token was shown to have. */
  scopes: string[];
  /** The needed scopes a probe was refused (or could not be tried for want of an organization). */
  missing: string[];
}

/**
 * Sentry refuses more than 10 000 buckets per request (NOTES.md). We ask for half that: Sentry
 * widens the range to whole intervals and adds a bucket past `end`, self-hosted versions have had
 * lower limits, and 5 000 one-minute buckets (3.5 days) already answer in one moderately sized
 * response, so the margin costs nothing in practice.
 */
export const DEFAULT_MAX_BUCKETS_PER_REQUEST = 5_000;
const SENTRY_BUCKET_LIMIT = 10_000;
const MAX_PAGES = 1_000;
/** New issues after one deploy: more than this many pages means something else is going on. */
const MAX_ISSUE_PAGES = 20;
const MAX_BACKOFF_MS = 10_000;
const RELATIVE_QUERY_SLACK_MINUTES = 5;
const MAX_REDIRECTS = 3;

type Query = Array<[string, string]>;

interface RequestSpec {
  endpoint: SentryEndpoint;
  /** Path under `/api/0`, starting and ending with `/`, segments already encoded. */
  path: string;
  query: Query;
  /** Organization whose region serves the call; none for `/organizations/`. */
  org?: string;
  /** Scope the endpoint needs, for the 403 message. */
  scope: SentryScope;
  /** A 403 here means the token cannot use the organization at all (→ reconnect). */
  orgLevel?: boolean;
}

interface Answer {
  json: unknown;
  headers: Headers;
  status: number;
}

function packageVersion(): string {
  try {
    let dir = new URL(".", import.meta.url);
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
        if (pkg.name === "aftershock" && pkg.version) return pkg.version;
      } catch {
        // not here; look one folder up
      }
      dir = new URL("..", dir);
    }
  } catch {
    // fall through
  }
  return "0.0.0";
}

export const DEFAULT_USER_AGENT = `Aftershock/${packageVersion()} (+self-hosted deploy impact)`;

/** `https://sentry.io/` or `https://sentry.io/api/0` → `https://sentry.io`. Throws on a non-http URL. */
export function normalizeSentryBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    throw new SentryRequestError(`The Sentry URL "${baseUrl}" is not a valid URL.`, undefined);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SentryRequestError(`The Sentry URL "${baseUrl}" must start with https:// (or http://).`, undefined);
  }
  const path = url.pathname.replace(/\/+$/, "").replace(/\/api\/0$/, "");
  return `${url.origin}${path}`;
}

/** Passport's OAuth2 endpoints for a Sentry base URL. */
export function sentryOAuthUrls(baseUrl: string): { authorizationURL: string; tokenURL: string } {
  const base = normalizeSentryBaseUrl(baseUrl);
  return { authorizationURL: `${base}/oauth/authorize/`, tokenURL: `${base}/oauth/token/` };
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(1))} s`;
}

function tries(n: number): string {
  return n === 1 ? "1 try" : `${n} tries`;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (error as { code?: string } | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
    case "EPIPE":
      return "the connection was closed before an answer";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connection timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    default:
      if (code && /CERT|SSL|TLS/i.test(code)) return `TLS certificate problem (${code})`;
      return code ? `network error (${code})` : "network error";
  }
}

/** Retry-After: seconds, or an HTTP date. Returns epoch ms or undefined. */
function retryAfterAt(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? date : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

export class SentryClient {
  readonly baseUrl: string;
  readonly organizationSlug: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly userAgent: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxRateLimitWaitMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxBucketsPerRequest: number;
  private readonly gate: RequestGate;
  private readonly regionBases = new Map<string, string>();
  private regionLookup: Promise<void> | undefined;
  private lastToken = "";
  /** Set once `events-stats` answered 404 where `events-timeseries` answered with data. */
  private eventsStatsMissing = false;
  /** How `events-timeseries` reads `interval` on this server: found out on first use (NOTES: verify). */
  private timeseriesIntervalUnit: "s" | "ms" = "s";
  /** Whether `firstSeen:>=<ISO>` works here (NOTES: verify); a 400 switches to `firstSeen:-<N>m`. */
  private issueQueryForm: "absolute" | "relative" = "absolute";

  constructor(private readonly options: SentryClientOptions) {
    this.baseUrl = normalizeSentryBaseUrl(options.baseUrl);
    this.organizationSlug = options.organizationSlug;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxRetries = Math.max(0, options.maxRetries ?? 4);
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 60_000;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.maxBucketsPerRequest = Math.min(
      SENTRY_BUCKET_LIMIT - 2,
      Math.max(1, options.maxBucketsPerRequest ?? DEFAULT_MAX_BUCKETS_PER_REQUEST),
    );
    this.gate = new RequestGate({ maxConcurrent: Math.max(1, options.maxConcurrent ?? 5), now: this.now, sleep: this.sleep });
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  /** Every organization the token can see (all pages); remembers each one's region URL. */
  async listOrganizations(): Promise<SentryOrganization[]> {
    const organizations: SentryOrganization[] = [];
    for await (const page of this.pages({ endpoint: "organizations", path: "/organizations/", query: [["per_page", "100"]], scope: "org:read", orgLevel: true })) {
      for (const item of page) {
        if (!item || typeof item !== "object") continue;
        const o = item as Record<string, unknown>;
        const slug = str(o.slug);
        if (!slug) continue;
        const links = (o.links ?? {}) as Record<string, unknown>;
        const regionUrl = str(links.regionUrl) ?? null;
        organizations.push({ id: str(o.id) ?? slug, slug, name: str(o.name) ?? slug, regionUrl });
        this.regionBases.set(slug, this.acceptedRegionBase(regionUrl));
      }
    }
    return organizations;
  }

  /** Every project of the organization (100 per page, following `Link` rel="next"). */
  async listProjects(org: string): Promise<SentryProject[]> {
    const projects: SentryProject[] = [];
    const path = `/organizations/${encodeURIComponent(org)}/projects/`;
    for await (const page of this.pages({ endpoint: "projects", path, query: [["per_page", "100"]], org, scope: "project:read" })) {
      for (const item of page) {
        if (!item || typeof item !== "object") continue;
        const p = item as Record<string, unknown>;
        const id = str(p.id);
        const slug = str(p.slug);
        if (!id || !slug) continue;
        const environments = Array.isArray(p.environments) ? p.environments.filter((e): e is string => typeof e === "string") : [];
        projects.push({ id, slug, name: str(p.name) ?? slug, platform: str(p.platform) ?? null, environments });
      }
    }
    return projects;
  }

  /**
   * Names of the project's visible environments, as Sentry spells them. Often empty or incomplete
   * (environments appear only once events carry them): offer them as suggestions only.
   */
  async listEnvironments(org: string, projectSlug: string | number, visibility: "visible" | "all" = "visible"): Promise<string[]> {
    const path = `/projects/${encodeURIComponent(org)}/${encodeURIComponent(String(projectSlug))}/environments/`;
    const { json } = await this.request({ endpoint: "environments", path, query: [["visibility", visibility]], org, scope: "project:read" });
    if (!Array.isArray(json)) return [];
    const names = new Set<string>();
    for (const item of json) {
      const name = item && typeof item === "object" ? str((item as Record<string, unknown>).name) : str(item);
      if (name !== undefined) names.add(name);
    }
    return [...names];
  }

  /**
   * Error counts for every bucket in [start, end), zero-filled. Bucket edges are aligned to the
   * interval from the epoch (as Sentry aligns them): `start` is rounded down and `end` up, so a
   * range that is not aligned is widened to whole buckets.
   */
  async errorCounts(query: ErrorCountsQuery): Promise<CountBucket[]> {
    const intervalSeconds = query.intervalSeconds ?? 60;
    if (!Number.isInteger(intervalSeconds) || intervalSeconds <= 0) {
      throw new RangeError(`intervalSeconds must be a positive whole number, not ${intervalSeconds}`);
    }
    const intervalMs = intervalSeconds * 1000;
    const first = Math.floor(query.start.getTime() / intervalMs) * intervalMs;
    const last = Math.ceil(query.end.getTime() / intervalMs) * intervalMs;
    if (!(last > first)) return [];
    const chunkMs = this.maxBucketsPerRequest * intervalMs;
    const points: RawPoint[] = [];
    // Sequential on purpose: one impact source at a time is plenty, and it keeps the rate-limit
    // budget for the other sources polled in the same tick.
    for (let chunkStart = first; chunkStart < last; chunkStart += chunkMs) {
      const chunkEnd = Math.min(last, chunkStart + chunkMs);
      const chunk = await this.countsChunk(query, chunkStart, chunkEnd, intervalSeconds);
      // Clip per chunk: Sentry adds the bucket at `end`, which belongs to the next chunk.
      for (const point of chunk) if (point.at >= chunkStart && point.at < chunkEnd) points.push(point);
    }
    return fillBuckets(first, last, intervalMs, points);
  }

  /**
   * Issues of the project and environment first seen at or after `since`, newest first. Only ids,
   * short ids, links, first-seen times and counts: no titles or messages are kept.
   */
  async issuesFirstSeenSince(query: IssuesQuery): Promise<SentryIssue[]> {
    const since = query.since.getTime();
    const path = `/organizations/${encodeURIComponent(query.org)}/issues/`;
    const run = async (form: "absolute" | "relative"): Promise<SentryIssue[]> => {
      const filter =
        form === "absolute"
          ? `firstSeen:>=${new Date(since).toISOString().slice(0, 19)}Z`
          : // Relative to Sentry's clock, not ours: a few minutes of slack absorb clock skew.
            `firstSeen:-${Math.max(1, Math.ceil((this.now() - since) / 60_000) + RELATIVE_QUERY_SLACK_MINUTES)}m`;
      const params: Query = [
        ["project", String(query.projectId)],
        ["environment", query.environment],
        ["query", filter],
        ["sort", "new"],
        ["limit", "100"],
        ["collapse", "stats"],
      ];
      // The issue list searches the last 14 days unless told otherwise.
      const days = Math.ceil((this.now() - since) / 86_400_000) + 1;
      if (days > 14) params.push(["statsPeriod", `${Math.min(days, 90)}d`]);
      const found = new Map<string, SentryIssue>();
      for await (const page of this.pages({ endpoint: "issues", path, query: params, org: query.org, scope: "event:read" }, MAX_ISSUE_PAGES)) {
        for (const item of page) {
          const issue = this.toIssue(item, query.org);
          // Always filtered here too: the relative form is wider, and the absolute one unverified.
          if (issue && Date.parse(issue.firstSeen) >= since && !found.has(issue.id)) found.set(issue.id, issue);
        }
      }
      return [...found.values()].sort((a, b) => Date.parse(b.firstSeen) - Date.parse(a.firstSeen));
    };
    try {
      if (this.issueQueryForm === "absolute") {
        try {
          return await run("absolute");
        } catch (error) {
          if (!(error instanceof SentryRequestError && error.status === 400)) throw error;
          this.issueQueryForm = "relative";
        }
      }
      return await run("relative");
    } catch (error) {
      if (error instanceof SentryNotFoundError && !(await this.environmentExists(query.org, query.projectId, query.environment, error))) {
        return [];
      }
      throw error;
    }
  }

  /**
   * Which of the three needed scopes the token has, found by trying one cheap call per scope (a
   * pasted token does not tell its scopes). A refused probe means the scope is missing; a 401
   * throws `SentryAuthError` (the token itself is bad); a wrong organization throws
   * `SentryNotFoundError`.
   */
  async checkAccess(org?: string): Promise<SentryAccess> {
    const scopes: string[] = [];
    const missing: string[] = [];
    const probe = async (scope: SentryScope, call: () => Promise<unknown>): Promise<void> => {
      try {
        await call();
        scopes.push(scope);
      } catch (error) {
        const refused = error instanceof SentryPermissionError || (error instanceof SentryAuthError && error.status === 403);
        if (!refused) throw error;
        missing.push(scope);
      }
    };
    let organizations: SentryOrganization[] = [];
    await probe("org:read", async () => {
      organizations = await this.listOrganizations();
    });
    const target = org ?? this.organizationSlug ?? organizations[0]?.slug;
    if (!target) {
      missing.push("project:read", "event:read");
      return { scopes, missing };
    }
    const orgPath = `/organizations/${encodeURIComponent(target)}`;
    await probe("project:read", () =>
      this.request({ endpoint: "projects", path: `${orgPath}/projects/`, query: [["per_page", "1"]], org: target, scope: "project:read" }),
    );
    await probe("event:read", () =>
      this.request({
        endpoint: "issues",
        path: `${orgPath}/issues/`,
        query: [["limit", "1"], ["statsPeriod", "1h"], ["query", ""], ["collapse", "stats"]],
        org: target,
        scope: "event:read",
      }),
    );
    return { scopes, missing };
  }

  /** The base URL org-scoped calls for `org` go to (its region on SaaS, else the base URL). */
  async regionBaseUrl(org: string): Promise<string> {
    const known = this.regionBases.get(org);
    if (known) return known;
    this.regionLookup ??= this.listOrganizations()
      .then(() => undefined)
      .catch((error: unknown) => {
        // Without org:read (403) the region cannot be learnt; the base URL still serves every
        // call on SaaS (it forwards to the region) and is the only host on self-hosted.
        if (!(error instanceof SentryError && error.status === 403)) throw error;
      })
      .finally(() => {
        this.regionLookup = undefined;
      });
    await this.regionLookup;
    const found = this.regionBases.get(org) ?? this.baseUrl;
    this.regionBases.set(org, found);
    return found;
  }

  // ---------------------------------------------------------------------------------------------
  // Counts

  private async countsChunk(query: ErrorCountsQuery, start: number, end: number, intervalSeconds: number): Promise<RawPoint[]> {
    let statsNotFound: SentryNotFoundError | undefined;
    if (!this.eventsStatsMissing) {
      try {
        return await this.eventsStats(query, start, end, intervalSeconds);
      } catch (error) {
        if (!(error instanceof SentryNotFoundError)) throw error;
        statsNotFound = error;
      }
    }
    try {
      const points = await this.eventsTimeseries(query, start, end, intervalSeconds);
      // Remember only when the fallback clearly works for this environment: a 404 of both can
      // also mean "no such environment yet" on servers that answer that way.
      if (statsNotFound && points.length > 0) this.eventsStatsMissing = true;
      return points;
    } catch (error) {
      if (error instanceof SentryNotFoundError) {
        const original = statsNotFound ?? error;
        if (!(await this.environmentExists(query.org, query.projectId, query.environment, original))) return [];
        throw original;
      }
      throw error;
    }
  }

  private countsQuery(query: ErrorCountsQuery, start: number, end: number, interval: string): Query {
    return [
      ["dataset", "errors"],
      ["project", String(query.projectId)],
      ["environment", query.environment],
      ["start", sentryDate(start)],
      ["end", sentryDate(end)],
      ["interval", interval],
      ["yAxis", "count()"],
    ];
  }

  private async eventsStats(query: ErrorCountsQuery, start: number, end: number, intervalSeconds: number): Promise<RawPoint[]> {
    const interval = intervalSeconds % 60 === 0 ? `${intervalSeconds / 60}m` : `${intervalSeconds}s`;
    const { json } = await this.request({
      endpoint: "events-stats",
      path: `/organizations/${encodeURIComponent(query.org)}/events-stats/`,
      query: this.countsQuery(query, start, end, interval),
      org: query.org,
      scope: "event:read",
    });
    try {
      return parseEventsStats(json);
    } catch (error) {
      if (error instanceof SeriesShapeError) throw new SentryRequestError(`Sentry's error counts had an unexpected shape: ${error.message}.`, 200);
      throw error;
    }
  }

  /**
   * `events-timeseries` takes `interval` as a number whose unit NOTES.md leaves open. Seconds are
   * tried first; when the answer's buckets are not the width asked for (an unusable interval
   * makes Sentry pick its own), the same call is made once in milliseconds and the working unit
   * is remembered.
   */
  private async eventsTimeseries(query: ErrorCountsQuery, start: number, end: number, intervalSeconds: number): Promise<RawPoint[]> {
    const intervalMs = intervalSeconds * 1000;
    const units: Array<"s" | "ms"> = this.timeseriesIntervalUnit === "s" ? ["s", "ms"] : ["ms", "s"];
    let widthSeen: string | undefined;
    for (const unit of units) {
      const { json } = await this.request({
        endpoint: "events-timeseries",
        path: `/organizations/${encodeURIComponent(query.org)}/events-timeseries/`,
        query: this.countsQuery(query, start, end, String(unit === "s" ? intervalSeconds : intervalMs)),
        org: query.org,
        scope: "event:read",
      });
      let parsed;
      try {
        parsed = parseEventsTimeseries(json);
      } catch (error) {
        if (error instanceof SeriesShapeError) throw new SentryRequestError(`Sentry's error counts had an unexpected shape: ${error.message}.`, 200);
        throw error;
      }
      const width = parsed.intervalMs;
      const meta = parsed.metaInterval;
      const fits =
        width !== undefined ? width === intervalMs : meta === undefined || meta === intervalSeconds || meta === intervalMs;
      if (fits) {
        this.timeseriesIntervalUnit = unit;
        return parsed.points;
      }
      widthSeen = width !== undefined ? seconds(width) : `${meta} (unit unknown)`;
    }
    throw new SentryRequestError(
      `Sentry answered error counts in buckets of ${widthSeen} where ${seconds(intervalMs)} buckets were asked for.`,
      200,
    );
  }

  /**
   * After a 404 on an environment-filtered call: false when the project exists but has never seen
   * the environment (Sentry may answer 404 for an environment it does not know yet; that simply
   * means no errors). Rethrows `notFound` when the project itself is not there.
   */
  private async environmentExists(org: string, projectId: string | number, environment: string, notFound: SentryNotFoundError): Promise<boolean> {
    let names: string[];
    try {
      names = await this.listEnvironments(org, projectId, "all");
    } catch (error) {
      if (error instanceof SentryNotFoundError) throw notFound;
      throw error;
    }
    return names.includes(environment);
  }

  private toIssue(item: unknown, org: string): SentryIssue | undefined {
    if (!item || typeof item !== "object") return undefined;
    const i = item as Record<string, unknown>;
    const id = str(i.id);
    const firstSeenRaw = str(i.firstSeen);
    if (!id || !firstSeenRaw) return undefined;
    const firstSeenMs = Date.parse(firstSeenRaw);
    if (!Number.isFinite(firstSeenMs)) return undefined;
    const count = Number(i.count);
    return {
      id,
      shortId: str(i.shortId) ?? id,
      permalink: str(i.permalink) ?? `${this.baseUrl}/organizations/${encodeURIComponent(org)}/issues/${encodeURIComponent(id)}/`,
      firstSeen: new Date(firstSeenMs).toISOString(),
      count: Number.isFinite(count) ? count : 0,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Transport

  /**
   * A region URL is used only when it cannot send the token somewhere the user did not choose:
   * the same origin as the base URL, or an https subdomain of it (us.sentry.io under sentry.io).
   * Self-hosted servers sometimes advertise an internal or misconfigured URL; the base URL,
   * which is known to work, wins then.
   */
  private acceptedRegionBase(regionUrl: string | null): string {
    if (!regionUrl) return this.baseUrl;
    try {
      const region = new URL(normalizeSentryBaseUrl(regionUrl));
      const base = new URL(this.baseUrl);
      const sentryHost = (host: string) => host === "sentry.io" || host.endsWith(".sentry.io");
      const trusted =
        region.origin === base.origin ||
        (region.protocol === "https:" &&
          (region.hostname.endsWith(`.${base.hostname}`) || (sentryHost(region.hostname) && sentryHost(base.hostname))));
      return trusted ? normalizeSentryBaseUrl(regionUrl) : this.baseUrl;
    } catch {
      return this.baseUrl;
    }
  }

  private async *pages(spec: RequestSpec, maxPages = MAX_PAGES): AsyncGenerator<unknown[]> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < maxPages; page++) {
      const { json, headers } = await this.request(cursor ? { ...spec, query: [...spec.query, ["cursor", cursor]] } : spec);
      if (!Array.isArray(json)) {
        throw new SentryRequestError(`Sentry answered the ${spec.endpoint} list with something other than a list.`, 200);
      }
      yield json;
      const next = nextCursor(headers.get("link"));
      // A repeated cursor or an empty page would loop forever on a misbehaving proxy or server.
      if (!next || seen.has(next) || json.length === 0) return;
      seen.add(next);
      cursor = next;
    }
  }

  private async token(): Promise<string> {
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    this.lastToken = token;
    return token;
  }

  /** Never let the token reach a message, even if a proxy or Sentry echoes it. */
  private redact(text: string | undefined): string | undefined {
    if (text === undefined || this.lastToken.length < 6) return text;
    return text.split(this.lastToken).join("[redacted]");
  }

  private report(event: SentryRequestEvent): void {
    try {
      this.options.onRequest?.(event);
    } catch {
      // metrics must never break a call
    }
  }

  private backoff(failures: number): number {
    const exponential = Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** (failures - 1));
    return Math.round(exponential * (0.5 + this.random() / 2));
  }

  private async request(spec: RequestSpec): Promise<Answer> {
    const base = spec.org ? await this.regionBaseUrl(spec.org) : this.baseUrl;
    const search = new URLSearchParams(spec.query).toString();
    let url = `${base}/api/0${spec.path}${search ? `?${search}` : ""}`;
    const where = new URL(base).origin;
    // The rate-limit key: Sentry limits per caller and endpoint.
    const key = `${where}${spec.path}`;
    let attempts = 0;
    let failures = 0;
    let rateLimited = 0;
    let redirects = 0;
    let reauthorized = false;

    const unavailable = (what: string, status?: number, detail?: string) =>
      new SentryUnavailableError(`Sentry at ${where} ${what} (${tries(attempts)}).`, status, attempts, this.redact(detail));

    for (;;) {
      // Read before taking a slot: a failing token source is the caller's error, not a network one.
      const token = await this.token();
      let release: () => void;
      try {
        release = await this.gate.acquire(key, this.maxRateLimitWaitMs);
      } catch (error) {
        if (error instanceof GateWaitTooLongError) {
          throw new SentryRateLimitedError(
            `Sentry at ${where} asks to wait until ${new Date(error.retryAt).toISOString()} before the next ${spec.endpoint} request.`,
            attempts,
            error.retryAt,
          );
        }
        throw error;
      }
      attempts += 1;
      const started = this.now();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.timeoutMs);
      let response: Response | undefined;
      let text = "";
      let failure: unknown;
      try {
        response = await this.fetchImpl(url, {
          method: "GET",
          headers: { Authorization: `Bearer ${token}`, "User-Agent": this.userAgent, Accept: "application/json" },
          signal: controller.signal,
          // Followed by hand below, so the token never follows a redirect to another host.
          redirect: "manual",
        });
        text = await response.text();
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
        if (response) this.gate.observe(key, response.headers);
        release();
      }
      const durationMs = this.now() - started;

      if (!response || failure !== undefined) {
        const outcome = timedOut ? "timeout" : "network_error";
        this.report({ endpoint: spec.endpoint, status: response?.status, outcome, attempt: attempts, durationMs });
        failures += 1;
        if (failures > this.maxRetries) {
          throw timedOut ? unavailable(`did not answer within ${seconds(this.timeoutMs)}`) : unavailable(`could not be reached: ${networkReason(failure)}`);
        }
        await this.sleep(this.backoff(failures));
        continue;
      }

      const status = response.status;
      const body = interpretBody(text, response.headers.get("content-type"));
      const detail = this.redact(body.detail);

      if (status >= 200 && status < 300) {
        if (body.json !== undefined || body.isEmpty) {
          this.report({ endpoint: spec.endpoint, status, outcome: "ok", attempt: attempts, durationMs });
          return { json: body.json, headers: response.headers, status };
        }
        if (body.isHtml) {
          // A login wall or a web page: retrying will not help; the URL is probably wrong.
          this.report({ endpoint: spec.endpoint, status, outcome: "client_error", attempt: attempts, durationMs });
          throw new SentryRequestError(
            `Sentry at ${where} answered with an HTML page instead of JSON: is the Sentry URL right, and not behind a login page?`,
            status,
          );
        }
        // Half a JSON document: a cut-off transfer; worth another try.
        this.report({ endpoint: spec.endpoint, status, outcome: "server_error", attempt: attempts, durationMs });
        failures += 1;
        if (failures > this.maxRetries) throw unavailable("answered with a body that is not JSON", status, detail);
        await this.sleep(this.backoff(failures));
        continue;
      }

      if (status >= 300 && status < 400) {
        const location = response.headers.get("location");
        const target = location ? new URL(location, url) : undefined;
        const current = new URL(url);
        const sameHost = target && target.host === current.host && (target.protocol === current.protocol || target.protocol === "https:");
        if (target && sameHost && redirects < MAX_REDIRECTS) {
          redirects += 1;
          attempts -= 1;
          url = target.toString();
          continue;
        }
        this.report({ endpoint: spec.endpoint, status, outcome: "client_error", attempt: attempts, durationMs });
        throw new SentryRequestError(
          `Sentry at ${where} redirected the request${target ? ` to ${target.origin}` : ""}; set the Sentry URL to the address it redirects to.`,
          status,
        );
      }

      if (status === 401) {
        this.report({ endpoint: spec.endpoint, status, outcome: "auth_error", attempt: attempts, durationMs });
        if (!reauthorized && this.options.onUnauthorized) {
          reauthorized = true;
          if (await this.options.onUnauthorized()) continue;
        }
        throw new SentryAuthError(
          `Sentry at ${where} rejected the token${detail ? ` (${detail})` : ""}: it was revoked, expired or mistyped. Reconnect Sentry.`,
          status,
          detail,
        );
      }

      if (status === 403) {
        this.report({ endpoint: spec.endpoint, status, outcome: "auth_error", attempt: attempts, durationMs });
        if (spec.orgLevel) {
          throw new SentryAuthError(
            `Sentry at ${where} refused access to the organization${detail ? ` (${detail})` : ""}: the token needs ${spec.scope} and membership. Reconnect Sentry with the right access.`,
            status,
            detail,
          );
        }
        throw new SentryPermissionError(
          `Sentry at ${where} refused the ${spec.endpoint} request${detail ? ` (${detail})` : ""}: the token needs the ${spec.scope} scope and access to the project.`,
          spec.scope,
          detail,
        );
      }

      if (status === 404) {
        this.report({ endpoint: spec.endpoint, status, outcome: "client_error", attempt: attempts, durationMs });
        throw new SentryNotFoundError(
          `Sentry at ${where} has no ${spec.endpoint} at ${spec.path}${detail ? ` (${detail})` : ""}: check the organization and project.`,
          detail,
        );
      }

      if (status === 429) {
        this.report({ endpoint: spec.endpoint, status, outcome: "rate_limited", attempt: attempts, durationMs });
        rateLimited += 1;
        const now = this.now();
        const reset = Number(response.headers.get("x-sentry-rate-limit-reset") ?? NaN);
        const until = Math.max(
          Number.isFinite(reset) && reset > 0 ? reset * 1000 : 0,
          retryAfterAt(response.headers.get("retry-after"), now) ?? 0,
        );
        // Without any hint (a proxy's 429), back off as for a server error.
        const retryAt = until > now ? until : now + this.backoff(rateLimited);
        if (rateLimited > this.maxRetries || retryAt - now > this.maxRateLimitWaitMs) {
          throw new SentryRateLimitedError(
            `Sentry at ${where} is rate limiting ${spec.endpoint} requests${detail ? ` (${detail})` : ""} (${tries(attempts)}).`,
            attempts,
            retryAt,
            detail,
          );
        }
        this.gate.blockUntil(key, retryAt);
        continue;
      }

      if (status >= 500) {
        this.report({ endpoint: spec.endpoint, status, outcome: "server_error", attempt: attempts, durationMs });
        failures += 1;
        if (failures > this.maxRetries) throw unavailable(`answered ${summarise(status, { ...body, detail })}`, status, detail);
        const hinted = retryAfterAt(response.headers.get("retry-after"), this.now());
        const delay = Math.max(this.backoff(failures), hinted ? Math.min(hinted - this.now(), this.maxRateLimitWaitMs) : 0);
        await this.sleep(delay);
        continue;
      }

      this.report({ endpoint: spec.endpoint, status, outcome: "client_error", attempt: attempts, durationMs });
      throw new SentryRequestError(
        `Sentry at ${where} refused the ${spec.endpoint} request: ${summarise(status, { ...body, detail })}.`,
        status,
        detail,
      );
    }
  }
}
