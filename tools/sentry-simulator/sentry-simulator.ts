import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ErrorStream, MINUTE_MS, parseSentryTime, toEpochMs, type ErrorStreamConfig, type TimeInput } from "./error-stream.js";

/**
 * A stand-in for Sentry's Web API (shapes from /work/shared/sentry-api/NOTES.md), served over real
 * HTTP for tests, demos and benchmarks. Never imported by `src/`.
 *
 * Two clocks:
 * - `now` is Sentry's idea of the present: which minutes have errors yet, ingestion lag, token and
 *   OAuth code expiry. Injectable and settable (`setNow`) so tests can move time.
 * - `wallClock` drives what a client really waits on: rate-limit windows and their `Reset`
 *   headers, fault resets and the request log's `at`. Default `Date.now`.
 */
export type SimulatorMode = "saas" | "selfHosted";

export interface TimeseriesUnits {
  /** How a bare number in `interval=` is read (a suffixed one like `1m` always works). Default "s". */
  intervalParamUnit?: "s" | "ms";
  /** Unit of `meta.interval` in answers. Default "ms". */
  metaIntervalUnit?: "s" | "ms";
  /** Unit of `values[].timestamp`. Default "ms" (NOTES). */
  timestampUnit?: "s" | "ms";
}

export interface RateLimitSettings {
  /** Requests per window, per token and endpoint. Default 1000. */
  limit?: number;
  /** Window length. Default 1 s (fixed windows aligned to the epoch). */
  windowSeconds?: number;
  /** Concurrent requests per token and endpoint. Default 25. */
  concurrentLimit?: number;
}

/** Settings that can also be changed while running, with `configure`. */
export interface SimulatorSettings {
  /** Newest minutes within this lag are only partly ingested. Default 0. */
  ingestLagMinutes?: number;
  /** Share of a not-yet-ingested minute already visible. Default 0.5. */
  ingestFillFraction?: number;
  /** Serve `events-stats` (false → 404, like servers that dropped it). Default true. */
  eventsStats?: boolean;
  /** Serve `events-timeseries` (false → 404, like older self-hosted). Default true. */
  eventsTimeseries?: boolean;
  timeseries?: TimeseriesUnits;
  /** Accept `firstSeen:>=<ISO>` in issue queries (false → 400, only the relative form works). Default true. */
  absoluteFirstSeen?: boolean;
  /** What count and issue queries answer for an environment the project never saw. Default "empty". */
  unknownEnvironment?: "empty" | "404";
  rateLimit?: RateLimitSettings;
  /** `links.regionUrl` of organizations in saas mode. Default: the simulator's own URL. */
  regionUrl?: string | null;
  /** Origin written into `Link` headers (a proxy advertising an internal host). Default: own URL. */
  linkOrigin?: string;
  /** Lifetime of OAuth access tokens. Default 2 591 999 s (Sentry's). */
  accessTokenTtlSeconds?: number;
}

export interface SentrySimulatorOptions extends SimulatorSettings {
  mode?: SimulatorMode;
  now?: () => number;
  wallClock?: () => number;
  host?: string;
  port?: number;
  /** The user OAuth grants belong to. */
  oauthUser?: { id: string; name: string; email: string };
}

export interface RequestRecord {
  method: string;
  /** Path as received, without the query. */
  path: string;
  /** Whatever came before `/api/0/` or `/oauth/` (a region prefix), "" normally. */
  prefix: string;
  query: Record<string, string | string[]>;
  /** Wall-clock arrival, epoch ms. */
  at: number;
  token?: string;
  /** Status answered; 0 for a dropped connection; undefined while in flight. */
  status?: number;
  /** Headers of the answer (lower-case names), e.g. the `x-sentry-rate-limit-reset` a 429 carried. */
  responseHeaders?: Record<string, string>;
}

export type RequestFilter = ((record: RequestRecord) => boolean) | { method?: string; pathIncludes?: string; status?: number; token?: string };

export type FaultKind = "rateLimit" | "serverError" | "slow" | "drop" | "htmlError";

export interface FaultSpec {
  kind: FaultKind;
  /** How many matching requests it hits. Default 1; `Infinity` for all. */
  times?: number;
  pathIncludes?: string;
  /** `slow`: delay before answering normally. Default 1000. */
  delayMs?: number;
  /** `rateLimit`: the `Reset` header is at least this far ahead. Default 1. */
  resetInSeconds?: number;
  /** `rateLimit`/`serverError`: also send `Retry-After` with this value (seconds or HTTP date). */
  retryAfter?: number | string;
  /** `serverError`: status. Default 500. */
  status?: number;
}

export interface SimOrganization {
  id: string;
  slug: string;
  name: string;
}

export interface SimProject {
  id: string;
  slug: string;
  name: string;
  platform: string | null;
  environments: string[];
}

export interface AddIssueInput {
  environment?: string;
  environments?: string[];
  id?: string;
  shortId?: string;
  title?: string;
  level?: string;
  status?: "unresolved" | "resolved" | "ignored";
  firstSeen: TimeInput;
  lastSeen?: TimeInput;
  count: number;
  userCount?: number;
}

export interface SimIssue {
  id: string;
  shortId: string;
  permalink: string;
}

export interface SentrySimulator {
  readonly url: string;
  readonly mode: SimulatorMode;
  close(): Promise<void>;
  now(): number;
  setNow(time: TimeInput): void;
  configure(settings: SimulatorSettings): void;
  addOrganization(input: { slug: string; name?: string; id?: string }): SimOrganization;
  addProject(
    org: string,
    input: { slug: string; name?: string; id?: string | number; platform?: string | null; environments?: string[]; hiddenEnvironments?: string[] },
  ): SimProject;
  addToken(input: { token: string; scopes: string[]; orgs?: string[]; expiresAt?: TimeInput }): void;
  revokeToken(token: string): void;
  setErrorStream(org: string, projectSlug: string, environment: string, config: ErrorStreamConfig): void;
  /** What Sentry would report now for the minute containing `at` (ingestion lag applied). */
  countForMinute(org: string, projectSlug: string, environment: string, at: TimeInput): number;
  addIssue(org: string, projectSlug: string, input: AddIssueInput): SimIssue;
  registerOAuthClient(input: { clientId: string; clientSecret: string; redirectUris: string[] }): void;
  /** How `/oauth/authorize/` answers: like a user clicking Allow (default) or Deny. */
  setOAuthDecision(decision: "approve" | "deny"): void;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  readonly requests: readonly RequestRecord[];
  countRequests(filter?: RequestFilter): number;
  resetRequests(): void;
  /** Most requests in flight at once since start or the last `resetRequests()`. */
  readonly maxInFlight: number;
}

// -------------------------------------------------------------------------------------------------

const SCOPES = new Set([
  "org:read", "org:write", "org:admin", "org:integrations", "org:ci",
  "project:read", "project:write", "project:admin", "project:releases",
  "team:read", "team:write", "team:admin",
  "member:read", "member:write", "member:admin",
  "event:read", "event:write", "event:admin",
  "alerts:read", "alerts:write",
  "openid", "profile", "email",
]);
const PERMISSION_DENIED = "You do not have permission to perform this action.";
const DOES_NOT_EXIST = "The requested resource does not exist";
const MAX_BUCKETS = 10_000;
const PROXY_502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`;

interface TokenState {
  token: string;
  scopes: Set<string>;
  orgs?: Set<string>;
  revoked: boolean;
  expiresAt?: number;
  refreshToken?: string;
  clientId?: string;
}

interface IssueState {
  id: string;
  shortId: string;
  title: string;
  level: string;
  status: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  userCount: number;
  environments: string[];
}

interface ProjectState extends SimProject {
  hidden: Set<string>;
  streams: Map<string, ErrorStream>;
  issues: IssueState[];
  issueCounter: number;
  dateCreated: string;
}

interface OrgState extends SimOrganization {
  projects: Map<string, ProjectState>;
  dateCreated: string;
}

interface OAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

interface OAuthCode {
  clientId: string;
  redirectUri?: string;
  scopes: string[];
  challenge?: string;
  challengeMethod?: string;
  expiresAt: number;
  used: boolean;
}

interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

interface Context {
  req: http.IncomingMessage;
  url: URL;
  params: string[];
  token: TokenState;
}

interface Route {
  method: string;
  pattern: RegExp;
  name: string;
  scope: string;
  handle: (ctx: Context) => Reply | Promise<Reply>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body, headers };
}

/** `1m`, `5m`, `1h`, `1d`, `30s`, `60` (bare: `bareUnit`) → ms, or undefined. */
function parseInterval(value: string, bareUnit: "s" | "ms"): number | undefined {
  const match = /^(\d+)([smhdw]?)$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2];
  const ms = { s: 1000, m: MINUTE_MS, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit as "s"];
  if (unit) return n * ms;
  return bareUnit === "s" ? n * 1000 : n;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function queryRecord(url: URL): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    record[key] = all.length === 1 ? all[0]! : all;
  }
  return record;
}

function scopeSatisfied(scopes: Set<string>, needed: string): boolean {
  if (scopes.has(needed)) return true;
  const [resource, level] = needed.split(":");
  if (level === "read") return scopes.has(`${resource}:write`) || scopes.has(`${resource}:admin`);
  if (level === "write") return scopes.has(`${resource}:admin`);
  return false;
}

function base64url(buffer: Buffer): string {
  return buffer.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

class Simulator implements SentrySimulator {
  url = "";
  readonly mode: SimulatorMode;
  readonly requests: RequestRecord[] = [];
  maxInFlight = 0;

  private readonly server: http.Server;
  private readonly settings: Required<Omit<SimulatorSettings, "regionUrl" | "linkOrigin" | "timeseries" | "rateLimit">> & {
    regionUrl: string | null | undefined;
    linkOrigin: string | undefined;
    timeseries: Required<TimeseriesUnits>;
    rateLimit: Required<RateLimitSettings>;
  };
  private clock: () => number;
  private readonly wallClock: () => number;
  private readonly orgs = new Map<string, OrgState>();
  private readonly tokens = new Map<string, TokenState>();
  private readonly oauthClients = new Map<string, OAuthClient>();
  private readonly oauthCodes = new Map<string, OAuthCode>();
  private readonly oauthUser: { id: string; name: string; email: string };
  private oauthDecision: "approve" | "deny" = "approve";
  private faults: Array<FaultSpec & { left: number }> = [];
  private readonly windows = new Map<string, { index: number; used: number }>();
  private readonly inFlightByKey = new Map<string, number>();
  private inFlight = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextOrgId = 1;
  private nextProjectId = 4_500_000_000_001;
  private nextIssueId = 6_000_000_001;
  private readonly routes: Route[];

  constructor(options: SentrySimulatorOptions) {
    this.mode = options.mode ?? "saas";
    this.clock = options.now ?? Date.now;
    this.wallClock = options.wallClock ?? Date.now;
    this.oauthUser = options.oauthUser ?? { id: "1", name: "Demo User", email: "demo@example.com" };
    this.settings = {
      ingestLagMinutes: 0,
      ingestFillFraction: 0.5,
      eventsStats: true,
      eventsTimeseries: true,
      absoluteFirstSeen: true,
      unknownEnvironment: "empty",
      accessTokenTtlSeconds: 2_591_999,
      regionUrl: undefined,
      linkOrigin: undefined,
      timeseries: { intervalParamUnit: "s", metaIntervalUnit: "ms", timestampUnit: "ms" },
      rateLimit: { limit: 1000, windowSeconds: 1, concurrentLimit: 25 },
    };
    this.configure(options);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ detail: "Internal Error" }));
        }
      });
    });
    this.server.keepAliveTimeout = 5_000;
    this.routes = this.buildRoutes();
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  now(): number {
    return this.clock();
  }

  setNow(time: TimeInput): void {
    const fixed = toEpochMs(time);
    this.clock = () => fixed;
  }

  configure(settings: SimulatorSettings): void {
    const s = this.settings;
    if (settings.ingestLagMinutes !== undefined) s.ingestLagMinutes = settings.ingestLagMinutes;
    if (settings.ingestFillFraction !== undefined) s.ingestFillFraction = settings.ingestFillFraction;
    if (settings.eventsStats !== undefined) s.eventsStats = settings.eventsStats;
    if (settings.eventsTimeseries !== undefined) s.eventsTimeseries = settings.eventsTimeseries;
    if (settings.absoluteFirstSeen !== undefined) s.absoluteFirstSeen = settings.absoluteFirstSeen;
    if (settings.unknownEnvironment !== undefined) s.unknownEnvironment = settings.unknownEnvironment;
    if (settings.accessTokenTtlSeconds !== undefined) s.accessTokenTtlSeconds = settings.accessTokenTtlSeconds;
    if (settings.regionUrl !== undefined) s.regionUrl = settings.regionUrl;
    if (settings.linkOrigin !== undefined) s.linkOrigin = settings.linkOrigin;
    if (settings.timeseries) s.timeseries = { ...s.timeseries, ...settings.timeseries };
    if (settings.rateLimit) s.rateLimit = { ...s.rateLimit, ...settings.rateLimit };
  }

  // ---------------------------------------------------------------------------------------------
  // State API

  addOrganization(input: { slug: string; name?: string; id?: string }): SimOrganization {
    if (this.orgs.has(input.slug)) throw new Error(`organization ${input.slug} exists`);
    const org: OrgState = {
      id: input.id ?? String(this.nextOrgId++),
      slug: input.slug,
      name: input.name ?? input.slug,
      projects: new Map(),
      dateCreated: isoSeconds(this.now() - 400 * 86_400_000),
    };
    this.orgs.set(org.slug, org);
    return { id: org.id, slug: org.slug, name: org.name };
  }

  addProject(
    orgSlug: string,
    input: { slug: string; name?: string; id?: string | number; platform?: string | null; environments?: string[]; hiddenEnvironments?: string[] },
  ): SimProject {
    const org = this.org(orgSlug);
    if (org.projects.has(input.slug)) throw new Error(`project ${input.slug} exists in ${orgSlug}`);
    const hidden = input.hiddenEnvironments ?? [];
    const project: ProjectState = {
      id: input.id !== undefined ? String(input.id) : String(this.nextProjectId++),
      slug: input.slug,
      name: input.name ?? input.slug,
      platform: input.platform === undefined ? "python" : input.platform,
      environments: [...new Set([...(input.environments ?? []), ...hidden])],
      hidden: new Set(hidden),
      streams: new Map(),
      issues: [],
      issueCounter: 0,
      dateCreated: isoSeconds(this.now() - 200 * 86_400_000),
    };
    org.projects.set(project.slug, project);
    return this.projectView(project);
  }

  addToken(input: { token: string; scopes: string[]; orgs?: string[]; expiresAt?: TimeInput }): void {
    this.tokens.set(input.token, {
      token: input.token,
      scopes: new Set(input.scopes),
      orgs: input.orgs ? new Set(input.orgs) : undefined,
      revoked: false,
      expiresAt: input.expiresAt !== undefined ? toEpochMs(input.expiresAt) : undefined,
    });
  }

  revokeToken(token: string): void {
    const state = this.tokens.get(token);
    if (state) state.revoked = true;
  }

  setErrorStream(orgSlug: string, projectSlug: string, environment: string, config: ErrorStreamConfig): void {
    const project = this.project(orgSlug, projectSlug);
    project.streams.set(environment, new ErrorStream(config, `${projectSlug}|${environment}`));
    // Sentry creates an environment once events carry it.
    if (!project.environments.includes(environment)) project.environments.push(environment);
  }

  countForMinute(orgSlug: string, projectSlug: string, environment: string, at: TimeInput): number {
    const stream = this.project(orgSlug, projectSlug).streams.get(environment);
    return stream ? this.served(stream, Math.floor(toEpochMs(at) / MINUTE_MS)) : 0;
  }

  addIssue(orgSlug: string, projectSlug: string, input: AddIssueInput): SimIssue {
    const project = this.project(orgSlug, projectSlug);
    project.issueCounter += 1;
    const environments = input.environments ?? (input.environment ? [input.environment] : []);
    for (const env of environments) if (!project.environments.includes(env)) project.environments.push(env);
    const firstSeen = toEpochMs(input.firstSeen);
    const issue: IssueState = {
      id: input.id ?? String(this.nextIssueId++),
      shortId: input.shortId ?? `${projectSlug.toUpperCase()}-${project.issueCounter.toString(36).toUpperCase()}`,
      title: input.title ?? `Error ${project.issueCounter}`,
      level: input.level ?? "error",
      status: input.status ?? "unresolved",
      firstSeen,
      lastSeen: input.lastSeen !== undefined ? toEpochMs(input.lastSeen) : firstSeen,
      count: input.count,
      userCount: input.userCount ?? Math.min(input.count, 1),
      environments,
    };
    project.issues.push(issue);
    return { id: issue.id, shortId: issue.shortId, permalink: this.permalink(orgSlug, issue) };
  }

  registerOAuthClient(input: { clientId: string; clientSecret: string; redirectUris: string[] }): void {
    this.oauthClients.set(input.clientId, { ...input });
  }

  setOAuthDecision(decision: "approve" | "deny"): void {
    this.oauthDecision = decision;
  }

  injectFault(fault: FaultSpec): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  countRequests(filter?: RequestFilter): number {
    if (!filter) return this.requests.length;
    const test =
      typeof filter === "function"
        ? filter
        : (r: RequestRecord) =>
            (filter.method === undefined || r.method === filter.method) &&
            (filter.pathIncludes === undefined || r.path.includes(filter.pathIncludes)) &&
            (filter.status === undefined || r.status === filter.status) &&
            (filter.token === undefined || r.token === filter.token);
    return this.requests.filter(test).length;
  }

  resetRequests(): void {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
  }

  // ---------------------------------------------------------------------------------------------
  // Lookups

  private org(slug: string): OrgState {
    const org = this.orgs.get(slug);
    if (!org) throw new Error(`no organization ${slug}`);
    return org;
  }

  private project(orgSlug: string, projectSlug: string): ProjectState {
    const project = this.org(orgSlug).projects.get(projectSlug);
    if (!project) throw new Error(`no project ${projectSlug} in ${orgSlug}`);
    return project;
  }

  private projectView(p: ProjectState): SimProject {
    return { id: p.id, slug: p.slug, name: p.name, platform: p.platform, environments: [...p.environments] };
  }

  private permalink(orgSlug: string, issue: IssueState): string {
    return `${this.url}/organizations/${orgSlug}/issues/${issue.id}/`;
  }

  /** The count Sentry shows now for a minute: 0 before it starts, partly filled within the ingest lag. */
  private served(stream: ErrorStream, minuteIndex: number): number {
    const start = minuteIndex * MINUTE_MS;
    const now = this.now();
    if (start > now) return 0;
    const full = stream.countForMinute(minuteIndex);
    const lagMs = this.settings.ingestLagMinutes * MINUTE_MS;
    if (lagMs > 0 && start + MINUTE_MS > now - lagMs) return Math.floor(full * this.settings.ingestFillFraction);
    return full;
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
    const apiAt = url.pathname.indexOf("/api/0/");
    const oauthAt = url.pathname.indexOf("/oauth/");
    const cut = apiAt >= 0 ? apiAt : oauthAt >= 0 ? oauthAt : 0;
    const record: RequestRecord = {
      method: req.method ?? "GET",
      path: url.pathname,
      prefix: url.pathname.slice(0, cut),
      query: queryRecord(url),
      at: this.wallClock(),
      token: auth?.[1]?.trim(),
    };
    this.requests.push(record);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let released = false;
    const releases: Array<() => void> = [];
    res.on("close", () => {
      if (!res.writableFinished) record.status ??= 0; // the client hung up first
      if (released) return;
      released = true;
      this.inFlight -= 1;
      for (const release of releases) release();
    });
    const send = (reply: Reply) => this.send(res, record, reply);

    const fault = this.takeFault(url.pathname);
    if (fault) {
      const handled = await this.applyFault(fault, req, res, record);
      if (handled) return;
    }

    const path = url.pathname.slice(cut);
    if (!path.endsWith("/") && (path.startsWith("/api/0/") || path.startsWith("/oauth/"))) {
      return send({ status: 301, text: "", headers: { location: `${url.pathname}/${url.search}` } });
    }
    if (path.startsWith("/oauth/")) return send(await this.oauth(req, url, path));
    if (!path.startsWith("/api/0/")) return send(json(404, { detail: DOES_NOT_EXIST }));

    const apiPath = path.slice("/api/0".length);
    let route: Route | undefined;
    let params: string[] = [];
    let methodMismatch = false;
    for (const candidate of this.routes) {
      const match = candidate.pattern.exec(apiPath);
      if (!match) continue;
      if (candidate.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      route = candidate;
      params = match.slice(1).map((p) => decodeURIComponent(p));
      break;
    }
    if (!route) {
      return send(methodMismatch ? json(405, { detail: `Method "${req.method}" not allowed.` }) : json(404, { detail: DOES_NOT_EXIST }));
    }

    if (!auth) return send(json(401, { detail: "Authentication credentials were not provided." }));
    const token = this.tokens.get(record.token!);
    if (!token || token.revoked) return send(json(401, { detail: "Invalid token" }));
    if (token.expiresAt !== undefined && token.expiresAt <= this.now()) return send(json(401, { detail: "Token expired" }));

    let limitHeaders: Record<string, string> = {};
    if (this.mode === "saas") {
      const key = `${token.token}|${route.name}|${params[0] ?? ""}`;
      const limited = this.rateLimit(key, releases);
      if ("reply" in limited) return send(limited.reply);
      limitHeaders = limited.headers;
    }
    const withLimits = (reply: Reply): Reply => ({ ...reply, headers: { ...limitHeaders, ...reply.headers } });

    if (!scopeSatisfied(token.scopes, route.scope)) return send(withLimits(json(403, { detail: PERMISSION_DENIED })));
    try {
      return send(withLimits(await route.handle({ req, url, params, token })));
    } catch (error) {
      if (error instanceof HttpError) return send(withLimits(json(error.status, { detail: error.detail })));
      throw error;
    }
  }

  private send(res: http.ServerResponse, record: RequestRecord, reply: Reply): void {
    if (res.destroyed || res.writableEnded) {
      record.status ??= 0;
      return;
    }
    record.status = reply.status;
    const headers: Record<string, string> = { ...reply.headers };
    let payload = "";
    if (reply.text !== undefined) {
      payload = reply.text;
      headers["content-type"] ??= reply.contentType ?? "text/plain; charset=utf-8";
    } else if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers["content-type"] ??= reply.contentType ?? "application/json";
    }
    headers["content-length"] = String(Buffer.byteLength(payload));
    record.responseHeaders = headers;
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  private takeFault(path: string): FaultSpec | undefined {
    const fault = this.faults.find((f) => f.left > 0 && (f.pathIncludes === undefined || path.includes(f.pathIncludes)));
    if (!fault) return undefined;
    fault.left -= 1;
    this.faults = this.faults.filter((f) => f.left > 0);
    return fault;
  }

  /** True when the fault answered (or dropped) the request; false to go on normally. */
  private async applyFault(fault: FaultSpec, req: http.IncomingMessage, res: http.ServerResponse, record: RequestRecord): Promise<boolean> {
    switch (fault.kind) {
      case "drop":
        record.status = 0;
        req.socket.destroy();
        return true;
      case "slow":
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            resolve();
          }, fault.delayMs ?? 1000);
          this.timers.add(timer);
        });
        if (res.destroyed) record.status = 0; // the client gave up waiting
        return res.destroyed;
      case "htmlError":
        this.send(res, record, { status: 502, text: PROXY_502, contentType: "text/html" });
        return true;
      case "serverError": {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        const status = fault.status ?? 500;
        this.send(res, record, json(status, { detail: "Internal Error", errorId: randomBytes(16).toString("hex") }, headers));
        return true;
      }
      case "rateLimit": {
        const limit = this.settings.rateLimit;
        const headers: Record<string, string> = {};
        if (this.mode === "saas") {
          headers["x-sentry-rate-limit-limit"] = String(limit.limit);
          headers["x-sentry-rate-limit-remaining"] = "0";
          headers["x-sentry-rate-limit-reset"] = String(Math.ceil(this.wallClock() / 1000 + (fault.resetInSeconds ?? 1)));
          headers["x-sentry-rate-limit-concurrentlimit"] = String(limit.concurrentLimit);
          headers["x-sentry-rate-limit-concurrentremaining"] = String(Math.max(0, limit.concurrentLimit - 1));
        }
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        const body = { detail: `You are attempting to use this endpoint too frequently. Limit is ${limit.limit} requests in ${limit.windowSeconds} seconds` };
        // Sentry sends this JSON body with a text/html content type (NOTES.md).
        this.send(res, record, { status: 429, text: JSON.stringify(body), contentType: "text/html", headers });
        return true;
      }
    }
  }

  /** Fixed window plus concurrency cap, per token and endpoint, as SaaS Sentry does. */
  private rateLimit(key: string, releases: Array<() => void>): { reply: Reply } | { headers: Record<string, string> } {
    const { limit, windowSeconds, concurrentLimit } = this.settings.rateLimit;
    const windowMs = windowSeconds * 1000;
    const now = this.wallClock();
    const index = Math.floor(now / windowMs);
    const reset = String(Math.ceil(((index + 1) * windowMs) / 1000));
    let window = this.windows.get(key);
    if (!window || window.index !== index) {
      window = { index, used: 0 };
      this.windows.set(key, window);
    }
    const inFlight = this.inFlightByKey.get(key) ?? 0;
    const headers = (remaining: number, concurrentRemaining: number): Record<string, string> => ({
      "x-sentry-rate-limit-limit": String(limit),
      "x-sentry-rate-limit-remaining": String(Math.max(0, remaining)),
      "x-sentry-rate-limit-reset": reset,
      "x-sentry-rate-limit-concurrentlimit": String(concurrentLimit),
      "x-sentry-rate-limit-concurrentremaining": String(Math.max(0, concurrentRemaining)),
    });
    if (inFlight >= concurrentLimit) {
      const detail = `You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is ${concurrentLimit}`;
      return { reply: { status: 429, text: JSON.stringify({ detail }), contentType: "text/html", headers: headers(limit - window.used, 0) } };
    }
    if (window.used >= limit) {
      const detail = `You are attempting to use this endpoint too frequently. Limit is ${limit} requests in ${windowSeconds} seconds`;
      return { reply: { status: 429, text: JSON.stringify({ detail }), contentType: "text/html", headers: headers(0, concurrentLimit - inFlight) } };
    }
    window.used += 1;
    this.inFlightByKey.set(key, inFlight + 1);
    releases.push(() => this.inFlightByKey.set(key, (this.inFlightByKey.get(key) ?? 1) - 1));
    return { headers: headers(limit - window.used, concurrentLimit - inFlight - 1) };
  }

  // ---------------------------------------------------------------------------------------------
  // API routes

  private buildRoutes(): Route[] {
    const seg = "([^/]+)";
    return [
      { method: "GET", pattern: /^\/organizations\/$/, name: "organizations", scope: "org:read", handle: (c) => this.listOrganizations(c) },
      { method: "GET", pattern: new RegExp(`^/organizations/${seg}/$`), name: "organization", scope: "org:read", handle: (c) => this.organizationDetail(c) },
      { method: "GET", pattern: new RegExp(`^/organizations/${seg}/projects/$`), name: "projects", scope: "project:read", handle: (c) => this.listProjects(c) },
      { method: "GET", pattern: new RegExp(`^/projects/${seg}/${seg}/environments/$`), name: "environments", scope: "project:read", handle: (c) => this.listEnvironments(c) },
      { method: "GET", pattern: new RegExp(`^/organizations/${seg}/events-stats/$`), name: "events-stats", scope: "event:read", handle: (c) => this.eventsStats(c) },
      { method: "GET", pattern: new RegExp(`^/organizations/${seg}/events-timeseries/$`), name: "events-timeseries", scope: "event:read", handle: (c) => this.eventsTimeseries(c) },
      { method: "GET", pattern: new RegExp(`^/organizations/${seg}/issues/$`), name: "issues", scope: "event:read", handle: (c) => this.issues(c) },
    ];
  }

  /** The organization of the path, checked against the token's organizations. */
  private orgFor(ctx: Context): OrgState {
    const slug = ctx.params[0]!;
    const org = this.orgs.get(slug) ?? [...this.orgs.values()].find((o) => o.id === slug);
    if (!org) throw new HttpError(404, DOES_NOT_EXIST);
    if (ctx.token.orgs && !ctx.token.orgs.has(org.slug)) throw new HttpError(403, PERMISSION_DENIED);
    return org;
  }

  private organizationView(org: OrgState) {
    const links: Record<string, string> = { organizationUrl: this.url };
    if (this.mode === "saas") {
      const region = this.settings.regionUrl === undefined ? this.url : this.settings.regionUrl;
      if (region) links.regionUrl = region;
    }
    return {
      avatar: { avatarType: "letter_avatar", avatarUuid: null },
      dateCreated: org.dateCreated,
      features: [],
      hasAuthProvider: false,
      id: org.id,
      isEarlyAdopter: false,
      links,
      name: org.name,
      require2FA: false,
      slug: org.slug,
      status: { id: "active", name: "active" },
    };
  }

  /** One page of `items` after the request's cursor, with Sentry's `Link` header. */
  private paginate<T>(ctx: Context, items: T[], pageSize: number): { page: T[]; link: string } {
    const cursor = ctx.url.searchParams.get("cursor");
    let offset = 0;
    if (cursor) {
      const match = /^(-?\d+):(\d+):([01])$/.exec(cursor);
      if (!match) throw new HttpError(400, "Invalid cursor parameter.");
      const at = Number(match[2]);
      offset = match[3] === "1" ? Math.max(0, at - pageSize) : at;
    }
    const page = items.slice(offset, offset + pageSize);
    const origin = this.settings.linkOrigin ?? this.url;
    const params = new URLSearchParams(ctx.url.search);
    params.delete("cursor");
    const base = `${origin}${ctx.url.pathname}?${params.toString()}${params.toString() ? "&" : ""}cursor=`;
    const prev = `0:${offset}:1`;
    const next = `0:${offset + pageSize}:0`;
    const link =
      `<${base}${prev}>; rel="previous"; results="${offset > 0}"; cursor="${prev}", ` +
      `<${base}${next}>; rel="next"; results="${offset + pageSize < items.length}"; cursor="${next}"`;
    return { page, link };
  }

  private perPage(ctx: Context, name = "per_page"): number {
    const raw = ctx.url.searchParams.get(name);
    if (raw === null) return 100;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new HttpError(400, `Invalid ${name} parameter.`);
    if (n > 100) throw new HttpError(400, `Invalid ${name} value. Cannot exceed 100.`);
    return n;
  }

  private listOrganizations(ctx: Context): Reply {
    const visible = [...this.orgs.values()].filter((o) => !ctx.token.orgs || ctx.token.orgs.has(o.slug));
    const { page, link } = this.paginate(ctx, visible, this.perPage(ctx));
    return json(200, page.map((o) => this.organizationView(o)), { link });
  }

  private organizationDetail(ctx: Context): Reply {
    return json(200, this.organizationView(this.orgFor(ctx)));
  }

  private listProjects(ctx: Context): Reply {
    const org = this.orgFor(ctx);
    const { page, link } = this.paginate(ctx, [...org.projects.values()], this.perPage(ctx));
    return json(
      200,
      page.map((p) => ({
        id: p.id,
        slug: p.slug,
        name: p.name,
        platform: p.platform,
        dateCreated: p.dateCreated,
        isBookmarked: false,
        isMember: true,
        hasAccess: true,
        features: [],
        firstEvent: null,
        status: "active",
        environments: [...p.environments],
      })),
      { link },
    );
  }

  private listEnvironments(ctx: Context): Reply {
    const org = this.orgFor(ctx);
    const ref = ctx.params[1]!;
    const project = org.projects.get(ref) ?? [...org.projects.values()].find((p) => p.id === ref);
    if (!project) throw new HttpError(404, DOES_NOT_EXIST);
    const visibility = ctx.url.searchParams.get("visibility") ?? "visible";
    if (!["all", "hidden", "visible"].includes(visibility)) {
      throw new HttpError(400, "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']");
    }
    const envs = project.environments
      .map((name, i) => ({ id: String(i + 1), name, isHidden: project.hidden.has(name) }))
      .filter((e) => visibility === "all" || (visibility === "hidden") === e.isHidden);
    return json(200, envs);
  }

  /** Projects named by `project=` ids (all when absent or -1); an unknown id is refused like Sentry does. */
  private selectedProjects(ctx: Context, org: OrgState): ProjectState[] {
    const ids = ctx.url.searchParams.getAll("project").filter((p) => p !== "");
    const all = [...org.projects.values()];
    if (ids.length === 0 || ids.includes("-1")) return all;
    return ids.map((id) => {
      const project = all.find((p) => p.id === id);
      if (!project) throw new HttpError(403, PERMISSION_DENIED);
      return project;
    });
  }

  /** Parses start/end/statsPeriod and the interval; throws 400 like Sentry on bad input. */
  private countRange(ctx: Context, bareUnit: "s" | "ms", strict: boolean): { start: number; end: number; interval: number | undefined } {
    const q = ctx.url.searchParams;
    const dataset = q.get("dataset") ?? "errors";
    if (!["errors", "discover"].includes(dataset)) throw new HttpError(400, `Unsupported dataset: ${dataset}`);
    const yAxis = q.getAll("yAxis");
    if (yAxis.some((y) => y !== "count()")) throw new HttpError(400, "This simulator only serves yAxis=count()");
    let start: number;
    let end: number;
    const period = q.get("statsPeriod");
    if (q.get("start") && q.get("end")) {
      start = parseSentryTime(q.get("start")!);
      end = parseSentryTime(q.get("end")!);
      if (!Number.isFinite(start) || !Number.isFinite(end)) throw new HttpError(400, "start and end must be ISO 8601 dates");
    } else if (period) {
      const length = parseInterval(period, "s");
      if (!length) throw new HttpError(400, "Invalid statsPeriod");
      end = this.now();
      start = end - length;
    } else {
      end = this.now();
      start = end - 14 * 86_400_000;
    }
    if (end <= start) throw new HttpError(400, "start must be before end");
    const rawInterval = q.get("interval");
    let interval = rawInterval ? parseInterval(rawInterval, bareUnit) : MINUTE_MS;
    if (interval !== undefined && (interval < MINUTE_MS || interval % MINUTE_MS !== 0)) interval = undefined;
    if (strict) {
      if (interval === undefined) throw new HttpError(400, "Invalid interval (this simulator serves whole minutes)");
      if (Math.ceil((end - start) / interval) > MAX_BUCKETS) {
        throw new HttpError(400, "Your interval and date range would create too many results. Use a larger interval, or a smaller date range.");
      }
    } else if (interval !== undefined && Math.ceil((end - start) / interval) > MAX_BUCKETS) {
      interval = undefined;
    }
    return { start, end, interval };
  }

  /** The streams to sum, or undefined when no selected project ever saw the environment(s). */
  private streamsFor(ctx: Context, org: OrgState): ErrorStream[] | undefined {
    const projects = this.selectedProjects(ctx, org);
    const environments = ctx.url.searchParams.getAll("environment").filter((e) => e !== "");
    if (environments.length > 0 && !projects.some((p) => environments.some((e) => p.environments.includes(e)))) {
      if (this.settings.unknownEnvironment === "404") throw new HttpError(404, DOES_NOT_EXIST);
      return undefined;
    }
    const streams: ErrorStream[] = [];
    for (const project of projects) {
      for (const [env, stream] of project.streams) if (environments.length === 0 || environments.includes(env)) streams.push(stream);
    }
    return streams;
  }

  private bucketCount(streams: ErrorStream[], bucketStart: number, interval: number): number {
    let total = 0;
    const first = Math.floor(bucketStart / MINUTE_MS);
    const minutes = interval / MINUTE_MS;
    for (const stream of streams) for (let m = first; m < first + minutes; m++) total += this.served(stream, m);
    return total;
  }

  private eventsStats(ctx: Context): Reply {
    if (!this.settings.eventsStats) throw new HttpError(404, DOES_NOT_EXIST);
    const org = this.orgFor(ctx);
    const { start, end, interval } = this.countRange(ctx, "s", true);
    const streams = this.streamsFor(ctx, org);
    if (!streams) return json(200, { data: [] });
    const step = interval!;
    // Sentry's zerofill runs from the bucket holding `start` through the bucket holding `end`.
    const first = Math.floor(start / step) * step;
    const last = Math.floor(end / step) * step;
    const data: Array<[number, Array<{ count: number }>]> = [];
    for (let t = first; t <= last; t += step) data.push([t / 1000, [{ count: this.bucketCount(streams, t, step) }]]);
    return json(200, {
      data,
      start: first / 1000,
      end: (last + step) / 1000,
      meta: {
        fields: { count: "integer" },
        units: { count: null },
        isMetricsData: false,
        tips: {},
        datasetReason: "unchanged",
        dataset: "errors",
      },
    });
  }

  private eventsTimeseries(ctx: Context): Reply {
    if (!this.settings.eventsTimeseries) throw new HttpError(404, DOES_NOT_EXIST);
    const org = this.orgFor(ctx);
    const units = this.settings.timeseries;
    const range = this.countRange(ctx, units.intervalParamUnit, false);
    // An unusable interval makes Sentry choose its own: hourly here, daily for very long ranges.
    const step = range.interval ?? (Math.ceil((range.end - range.start) / 3_600_000) <= MAX_BUCKETS ? 3_600_000 : 86_400_000);
    const streams = this.streamsFor(ctx, org);
    const first = Math.floor(range.start / step) * step;
    const last = Math.ceil(range.end / step) * step;
    if (!streams) return json(200, { timeSeries: [], meta: { dataset: "errors", start: first, end: last } });
    const lagEdge = this.now() - this.settings.ingestLagMinutes * MINUTE_MS;
    const values = [];
    for (let t = first; t < last; t += step) {
      values.push({
        timestamp: units.timestampUnit === "ms" ? t : t / 1000,
        value: this.bucketCount(streams, t, step),
        incomplete: t + step > lagEdge,
      });
    }
    return json(200, {
      timeSeries: [
        {
          yAxis: "count()",
          values,
          groupBy: [],
          meta: { interval: units.metaIntervalUnit === "ms" ? step : step / 1000, valueType: "integer", valueUnit: null },
        },
      ],
      meta: { dataset: "errors", start: first, end: last },
    });
  }

  private issues(ctx: Context): Reply {
    const org = this.orgFor(ctx);
    const projects = this.selectedProjects(ctx, org);
    const q = ctx.url.searchParams;
    const environments = q.getAll("environment").filter((e) => e !== "");
    if (environments.length > 0 && !projects.some((p) => environments.some((e) => p.environments.includes(e)))) {
      if (this.settings.unknownEnvironment === "404") throw new HttpError(404, DOES_NOT_EXIST);
      return json(200, [], { link: this.paginate(ctx, [], 100).link });
    }
    const filters = this.issueFilters(q.has("query") ? q.get("query")! : "is:unresolved");
    const rows: Array<{ project: ProjectState; issue: IssueState }> = [];
    for (const project of projects) {
      for (const issue of project.issues) {
        if (issue.firstSeen > this.now()) continue; // not happened yet
        if (environments.length > 0 && !issue.environments.some((e) => environments.includes(e))) continue;
        if (filters.every((f) => f(issue))) rows.push({ project, issue });
      }
    }
    const sort = q.get("sort") ?? "date";
    const key: Record<string, (i: IssueState) => number> = {
      new: (i) => i.firstSeen,
      date: (i) => i.lastSeen,
      freq: (i) => i.count,
      user: (i) => i.userCount,
    };
    const by = key[sort] ?? key.date!;
    rows.sort((a, b) => by(b.issue) - by(a.issue) || Number(b.issue.id) - Number(a.issue.id));
    const limit = Math.min(100, this.perPage(ctx, "limit"));
    const { page, link } = this.paginate(ctx, rows, limit);
    return json(
      200,
      page.map(({ project, issue }) => ({
        id: issue.id,
        shortId: issue.shortId,
        title: issue.title,
        culprit: "simulated.module in handler",
        permalink: this.permalink(org.slug, issue),
        level: issue.level,
        status: issue.status,
        count: String(issue.count),
        userCount: issue.userCount,
        firstSeen: isoSeconds(issue.firstSeen),
        lastSeen: isoSeconds(issue.lastSeen),
        project: { id: project.id, name: project.name, slug: project.slug, platform: project.platform },
        metadata: { title: issue.title },
        type: "error",
      })),
      { link },
    );
  }

  /** The few search terms the service uses; anything else is a free-text match on the title. */
  private issueFilters(query: string): Array<(issue: IssueState) => boolean> {
    const filters: Array<(issue: IssueState) => boolean> = [];
    for (const term of query.split(/\s+/).filter(Boolean)) {
      const firstSeen = /^firstSeen:(>=|<=|>|<)?(.+)$/.exec(term);
      if (firstSeen) {
        const [, op, value] = firstSeen as unknown as [string, string | undefined, string];
        const relative = /^([+-])(\d+)([mhdw])$/.exec(value);
        if (relative && !op) {
          const length = Number(relative[2]) * { m: MINUTE_MS, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[3] as "m"];
          const edge = this.now() - length;
          // `-2h`: first seen within the last 2 hours; `+2h`: longer ago than that.
          filters.push(relative[1] === "-" ? (i) => i.firstSeen >= edge : (i) => i.firstSeen <= edge);
          continue;
        }
        if (!this.settings.absoluteFirstSeen) throw new HttpError(400, `Error parsing search query: Invalid date: ${value}`);
        const at = parseSentryTime(value);
        if (!Number.isFinite(at)) throw new HttpError(400, `Error parsing search query: Invalid date: ${value}`);
        const compare = {
          ">=": (i: IssueState) => i.firstSeen >= at,
          ">": (i: IssueState) => i.firstSeen > at,
          "<=": (i: IssueState) => i.firstSeen <= at,
          "<": (i: IssueState) => i.firstSeen < at,
          "": (i: IssueState) => Math.floor(i.firstSeen / 86_400_000) === Math.floor(at / 86_400_000),
        }[op ?? ""]!;
        filters.push(compare);
        continue;
      }
      const is = /^is:(\w+)$/.exec(term);
      if (is) {
        const status = is[1]!;
        filters.push((i) => i.status === status);
        continue;
      }
      if (/^\w+:/.test(term)) continue; // other keys: not simulated, ignored
      const needle = term.toLowerCase();
      filters.push((i) => i.title.toLowerCase().includes(needle));
    }
    return filters;
  }

  // ---------------------------------------------------------------------------------------------
  // OAuth

  private async oauth(req: http.IncomingMessage, url: URL, path: string): Promise<Reply> {
    if (path === "/oauth/authorize/" && req.method === "GET") return this.authorize(url);
    if (path === "/oauth/token/" && req.method === "POST") return this.tokenGrant(req);
    return json(404, { detail: DOES_NOT_EXIST });
  }

  private validRedirect(client: OAuthClient, uri: string): boolean {
    // Sentry accepts a redirect URI that starts with one of the registered ones.
    return client.redirectUris.some((registered) => uri === registered || uri.startsWith(registered));
  }

  private authorize(url: URL): Reply {
    const q = url.searchParams;
    const page = (message: string): Reply => ({
      status: 400,
      contentType: "text/html; charset=utf-8",
      text: `<!doctype html><html><head><title>Sentry</title></head><body><h1>${message}</h1></body></html>`,
    });
    const client = this.oauthClients.get(q.get("client_id") ?? "");
    if (!client) return page("Missing or invalid client_id.");
    const redirectUri = q.get("redirect_uri") ?? client.redirectUris[0];
    if (!redirectUri || !this.validRedirect(client, redirectUri)) return page("Missing or invalid redirect_uri.");
    const state = q.get("state");
    const redirect = (params: Record<string, string>): Reply => {
      const target = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (state !== null) target.searchParams.set("state", state);
      return { status: 302, text: "", headers: { location: target.toString() } };
    };
    if (q.get("response_type") !== "code") return redirect({ error: "unsupported_response_type" });
    const scopes = (q.get("scope") ?? "").split(/[\s,]+/).filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !SCOPES.has(s))) return redirect({ error: "invalid_scope" });
    const challenge = q.get("code_challenge") ?? undefined;
    const method = challenge ? (q.get("code_challenge_method") ?? "plain") : undefined;
    if (method && method !== "S256" && method !== "plain") return redirect({ error: "invalid_request" });
    if (this.oauthDecision === "deny") return redirect({ error: "access_denied" });
    const code = randomBytes(32).toString("hex");
    this.oauthCodes.set(code, {
      clientId: client.clientId,
      redirectUri: q.get("redirect_uri") ?? undefined,
      scopes,
      challenge,
      challengeMethod: method,
      expiresAt: this.now() + 10 * MINUTE_MS,
      used: false,
    });
    return redirect({ code });
  }

  private async tokenGrant(req: http.IncomingMessage): Promise<Reply> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let form: URLSearchParams;
    if (/application\/json/i.test(req.headers["content-type"] ?? "")) {
      try {
        form = new URLSearchParams(Object.entries(JSON.parse(raw) as Record<string, string>).map(([k, v]) => [k, String(v)]));
      } catch {
        return json(400, { error: "invalid_request" });
      }
    } else {
      form = new URLSearchParams(raw);
    }
    let clientId = form.get("client_id") ?? undefined;
    let clientSecret = form.get("client_secret") ?? undefined;
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, "base64").toString("utf8").split(":");
      clientId ??= decodeURIComponent(id ?? "");
      clientSecret ??= decodeURIComponent(secret ?? "");
    }
    const client = clientId ? this.oauthClients.get(clientId) : undefined;
    if (!client || client.clientSecret !== clientSecret) {
      return json(401, { error: "invalid_client", error_description: "Invalid client_id or client_secret" });
    }
    const grantType = form.get("grant_type");
    if (grantType === "authorization_code") {
      const code = this.oauthCodes.get(form.get("code") ?? "");
      const invalid = (description: string) => json(400, { error: "invalid_grant", error_description: description });
      if (!code || code.used || code.clientId !== client.clientId) return invalid("Invalid or used code");
      if (code.expiresAt <= this.now()) return invalid("Code expired");
      if (code.redirectUri !== undefined && form.get("redirect_uri") !== code.redirectUri) return invalid("redirect_uri does not match");
      if (code.challenge) {
        const verifier = form.get("code_verifier");
        if (!verifier) return invalid("Missing code_verifier");
        const computed = code.challengeMethod === "S256" ? base64url(createHash("sha256").update(verifier).digest()) : verifier;
        if (computed !== code.challenge) return invalid("Invalid code_verifier");
      }
      code.used = true;
      return json(200, this.issueOAuthToken(client.clientId, code.scopes));
    }
    if (grantType === "refresh_token") {
      const refresh = form.get("refresh_token");
      const current = [...this.tokens.values()].find((t) => t.refreshToken !== undefined && t.refreshToken === refresh && !t.revoked);
      if (!current || current.clientId !== client.clientId) {
        return json(400, { error: "invalid_grant", error_description: "Invalid refresh token" });
      }
      // Sentry rotates both: the old access and refresh tokens stop working.
      current.revoked = true;
      current.refreshToken = undefined;
      return json(200, this.issueOAuthToken(client.clientId, [...current.scopes]));
    }
    return json(400, { error: "unsupported_grant_type" });
  }

  private issueOAuthToken(clientId: string, scopes: string[]) {
    const accessToken = randomBytes(32).toString("hex");
    const refreshToken = randomBytes(32).toString("hex");
    const ttl = this.settings.accessTokenTtlSeconds;
    const expiresAt = this.now() + ttl * 1000;
    this.tokens.set(accessToken, {
      token: accessToken,
      scopes: new Set(scopes),
      revoked: false,
      expiresAt,
      refreshToken,
      clientId,
    });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: ttl,
      expires_at: new Date(expiresAt).toISOString(),
      token_type: "bearer",
      scope: scopes.join(" "),
      user: { ...this.oauthUser },
    };
  }
}

/** Starts a simulator on 127.0.0.1, port 0 unless told otherwise. */
export async function startSentrySimulator(options: SentrySimulatorOptions = {}): Promise<SentrySimulator> {
  const simulator = new Simulator(options);
  await simulator.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return simulator;
}
