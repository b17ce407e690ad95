import { expect } from "chai";
import { SentryClient, sentryOAuthUrls, type SentryClientOptions, type SentryRequestEvent } from "../../src/sentry/sentry-client.js";
import {
  SentryAuthError,
  SentryError,
  SentryNotFoundError,
  SentryPermissionError,
  SentryRateLimitedError,
  SentryUnavailableError,
} from "../../src/sentry/sentry-errors.js";
import { startSentrySimulator, type SentrySimulator, type SentrySimulatorOptions } from "../../tools/sentry-simulator/index.js";

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const TOKEN = "sntrys_client_test_token_abcdef";
const SCOPES = ["org:read", "project:read", "event:read"];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("SentryClient", () => {
  let sim: SentrySimulator;
  let projectId: string;

  async function startSim(options: SentrySimulatorOptions = {}) {
    sim = await startSentrySimulator({ now: () => NOW, ...options });
    sim.addOrganization({ slug: "acme", name: "Acme" });
    projectId = sim.addProject("acme", { slug: "api", environments: ["production"] }).id;
    sim.addToken({ token: TOKEN, scopes: SCOPES });
    sim.setErrorStream("acme", "api", "production", { seed: "client", baseRatePerMinute: 3, bursts: { perHour: 4, min: 5, max: 20 } });
  }

  function client(options: Partial<SentryClientOptions> = {}): SentryClient {
    return new SentryClient({ baseUrl: sim.url, token: TOKEN, retryBaseDelayMs: 5, ...options });
  }

  function expectedCounts(start: number, minutes: number): number[] {
    return Array.from({ length: minutes }, (_, i) => sim.countForMinute("acme", "api", "production", start + i * MINUTE));
  }

  beforeEach(async () => {
    await startSim();
  });

  afterEach(async () => {
    await sim.close();
  });

  describe("lists", () => {
    it("when there are 250 projects, then all come back from 3 pages of 100", async () => {
      for (let i = 0; i < 249; i++) sim.addProject("acme", { slug: `svc-${i}`, platform: "node", environments: ["production", "staging"] });
      sim.resetRequests();
      const projects = await client().listProjects("acme");
      expect(projects).to.have.length(250);
      expect(new Set(projects.map((p) => p.slug)).size).to.equal(250);
      expect(projects[1]).to.deep.equal({ id: projects[1]!.id, slug: "svc-0", name: "svc-0", platform: "node", environments: ["production", "staging"] });
      expect(sim.countRequests({ pathIncludes: "/projects/" })).to.equal(3);
      expect(sim.requests.filter((r) => r.path.includes("/projects/")).every((r) => r.query.per_page === "100")).to.equal(true);
    });

    it("when Link headers advertise an internal host, then only the cursor is followed and the token stays on the configured URL", async () => {
      sim.configure({ linkOrigin: "http://sentry-web.internal:9000" });
      for (let i = 0; i < 120; i++) sim.addProject("acme", { slug: `svc-${i}` });
      const projects = await client().listProjects("acme");
      expect(projects).to.have.length(121);
    });

    it("when organizations are listed, then id, slug, name and regionUrl come back", async () => {
      sim.addOrganization({ slug: "other", name: "Other" });
      const orgs = await client().listOrganizations();
      expect(orgs).to.deep.equal([
        { id: orgs[0]!.id, slug: "acme", name: "Acme", regionUrl: sim.url },
        { id: orgs[1]!.id, slug: "other", name: "Other", regionUrl: sim.url },
      ]);
    });

    it("when environments are listed, then visible names come back, and an empty list is fine", async () => {
      sim.addProject("acme", { slug: "web", environments: ["production", "staging"], hiddenEnvironments: ["legacy"] });
      sim.addProject("acme", { slug: "fresh", environments: [] });
      expect(await client().listEnvironments("acme", "web")).to.deep.equal(["production", "staging"]);
      expect(await client().listEnvironments("acme", "fresh")).to.deep.equal([]);
    });
  });

  describe("errorCounts", () => {
    it("when a range is asked, then every minute in [start, end) comes back zero-filled with Sentry's counts and nothing outside", async () => {
      const start = NOW - 90 * MINUTE;
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(start), end: new Date(start + 60 * MINUTE) });
      expect(counts).to.have.length(60);
      expect(counts[0]!.start).to.equal(start);
      expect(counts.at(-1)!.start).to.equal(start + 59 * MINUTE);
      expect(counts.map((c) => c.count)).to.deep.equal(expectedCounts(start, 60));
      const request = sim.requests.find((r) => r.path.endsWith("/events-stats/"))!;
      expect(request.query).to.deep.include({ dataset: "errors", project: projectId, environment: "production", interval: "1m", yAxis: "count()" });
    });

    it("when the environment has no data, then the buckets are all zero", async () => {
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "nowhere", start: new Date(NOW - 10 * MINUTE), end: new Date(NOW) });
      expect(counts.map((c) => c.count)).to.deep.equal(new Array(10).fill(0));
    });

    it("when Sentry answers 404 for an environment it has never seen, then the buckets are zero, not an error", async () => {
      sim.configure({ unknownEnvironment: "404" });
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "brand-new", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) });
      expect(counts.map((c) => c.count)).to.deep.equal([0, 0, 0, 0, 0]);
      expect(await client().issuesFirstSeenSince({ org: "acme", projectId, environment: "brand-new", since: new Date(NOW - 5 * MINUTE) })).to.deep.equal([]);
    });

    it("when the organization does not exist, then SentryNotFoundError", async () => {
      const error = await rejection(client().errorCounts({ org: "ghost", projectId, environment: "production", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) }));
      expect(error).to.be.instanceOf(SentryNotFoundError);
    });

    it("when the range is 8 days of minutes, then it is split into requests under Sentry's bucket limit and stitched back exactly", async () => {
      const start = NOW - 8 * 1440 * MINUTE;
      sim.resetRequests();
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(start), end: new Date(NOW) });
      expect(counts).to.have.length(8 * 1440);
      const stats = sim.requests.filter((r) => r.path.endsWith("/events-stats/"));
      expect(stats).to.have.length(3);
      for (const request of stats) {
        expect(request.status).to.equal(200);
        const span = Date.parse(`${request.query.end}Z`) - Date.parse(`${request.query.start}Z`);
        expect(span / MINUTE).to.be.at.most(5_000);
      }
      for (const i of [0, 4_999, 5_000, 5_001, 9_999, 10_000, 8 * 1440 - 1]) {
        expect(counts[i]!.start).to.equal(start + i * MINUTE);
        expect(counts[i]!.count, `minute ${i}`).to.equal(sim.countForMinute("acme", "api", "production", start + i * MINUTE));
      }
      expect(counts.every((c, i) => i === 0 || c.start - counts[i - 1]!.start === MINUTE)).to.equal(true);
    });

    it("when events-stats answers 404, then events-timeseries is used and remembered", async () => {
      await sim.close();
      await startSim({ eventsStats: false });
      const start = NOW - 30 * MINUTE;
      const c = client();
      const counts = await c.errorCounts({ org: "acme", projectId, environment: "production", start: new Date(start), end: new Date(NOW) });
      expect(counts.map((b) => b.count)).to.deep.equal(expectedCounts(start, 30));
      sim.resetRequests();
      await c.errorCounts({ org: "acme", projectId, environment: "production", start: new Date(start), end: new Date(NOW) });
      expect(sim.countRequests({ pathIncludes: "events-stats" })).to.equal(0);
      expect(sim.countRequests({ pathIncludes: "events-timeseries" })).to.equal(1);
    });

    it("when events-timeseries reads interval as ms and sends timestamps in seconds, then the client still gets minute counts", async () => {
      await sim.close();
      await startSim({ eventsStats: false, timeseries: { intervalParamUnit: "ms", metaIntervalUnit: "s", timestampUnit: "s" } });
      const start = NOW - 20 * MINUTE;
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(start), end: new Date(NOW) });
      expect(counts.map((b) => b.count)).to.deep.equal(expectedCounts(start, 20));
      const intervals = sim.requests.filter((r) => r.path.includes("events-timeseries")).map((r) => r.query.interval);
      expect(intervals).to.deep.equal(["60", "60000"]);
    });

    it("when recent minutes are still being ingested, then asking again later gives the fuller counts", async () => {
      sim.configure({ ingestLagMinutes: 3 });
      const c = client();
      const ask = () => c.errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - 10 * MINUTE), end: new Date(NOW) });
      const early = await ask();
      sim.setNow(NOW + 10 * MINUTE);
      const later = await ask();
      expect(later.map((b) => b.count)).to.deep.equal(expectedCounts(NOW - 10 * MINUTE, 10));
      expect(early.slice(0, 6).map((b) => b.count)).to.deep.equal(later.slice(0, 6).map((b) => b.count));
      expect(early.slice(7).reduce((s, b) => s + b.count, 0)).to.be.at.most(later.slice(7).reduce((s, b) => s + b.count, 0));
    });
  });

  describe("issuesFirstSeenSince", () => {
    it("when issues exist, then only those first seen at or after since come back, with count as a number and no title", async () => {
      const since = NOW - 60 * MINUTE;
      sim.addIssue("acme", "api", { environment: "production", firstSeen: since - 1_000, count: 50 });
      const exact = sim.addIssue("acme", "api", { environment: "production", firstSeen: since, count: 3 });
      const later = sim.addIssue("acme", "api", { environment: "production", firstSeen: since + 30 * MINUTE, count: 12, title: "secret stuff" });
      sim.addIssue("acme", "api", { environment: "staging", firstSeen: since + 30 * MINUTE, count: 1 });
      const issues = await client().issuesFirstSeenSince({ org: "acme", projectId, environment: "production", since: new Date(since) });
      expect(issues).to.deep.equal([
        { id: later.id, shortId: later.shortId, permalink: later.permalink, firstSeen: new Date(since + 30 * MINUTE).toISOString(), count: 12 },
        { id: exact.id, shortId: exact.shortId, permalink: exact.permalink, firstSeen: new Date(since).toISOString(), count: 3 },
      ]);
      const request = sim.requests.find((r) => r.path.endsWith("/issues/"))!;
      expect(request.query).to.deep.include({ sort: "new", project: projectId, environment: "production" });
      expect(request.query.query).to.match(/^firstSeen:>=2026-06-01T11:00:00Z$/);
    });

    it("when Sentry rejects the absolute firstSeen syntax, then the relative form is used and results are still cut at since", async () => {
      sim.configure({ absoluteFirstSeen: false });
      const since = NOW - 30 * MINUTE - 20_000; // the relative form rounds up to whole minutes
      sim.addIssue("acme", "api", { environment: "production", firstSeen: since - 10_000, count: 2 });
      const inside = sim.addIssue("acme", "api", { environment: "production", firstSeen: since + 10_000, count: 7 });
      const c = client({ now: () => NOW });
      const issues = await c.issuesFirstSeenSince({ org: "acme", projectId, environment: "production", since: new Date(since) });
      expect(issues.map((i) => i.id)).to.deep.equal([inside.id]);
      expect(sim.requests.filter((r) => r.path.endsWith("/issues/")).map((r) => r.status)).to.deep.equal([400, 200]);
      sim.resetRequests();
      await c.issuesFirstSeenSince({ org: "acme", projectId, environment: "production", since: new Date(since) });
      expect(sim.requests.map((r) => r.query.query)).to.deep.equal(["firstSeen:-36m"]);
    });

    it("when there are more than 100 new issues, then every page is read", async () => {
      for (let i = 0; i < 130; i++) sim.addIssue("acme", "api", { environment: "production", firstSeen: NOW - i * 1_000, count: i });
      const issues = await client().issuesFirstSeenSince({ org: "acme", projectId, environment: "production", since: new Date(NOW - 3 * 60 * MINUTE) });
      expect(issues).to.have.length(130);
      expect(sim.countRequests({ pathIncludes: "/issues/" })).to.equal(2);
    });
  });

  describe("access", () => {
    it("when the token has all three scopes, then checkAccess reports none missing", async () => {
      expect(await client().checkAccess("acme")).to.deep.equal({ scopes: SCOPES, missing: [] });
    });

    it("when the token lacks event:read, then checkAccess names it as missing", async () => {
      sim.addToken({ token: "sntrys_no_events", scopes: ["org:read", "project:read"] });
      const access = await client({ token: "sntrys_no_events" }).checkAccess("acme");
      expect(access).to.deep.equal({ scopes: ["org:read", "project:read"], missing: ["event:read"] });
    });

    it("when the token lacks org:read, then the other probes still run against the base URL", async () => {
      sim.addToken({ token: "sntrys_no_org", scopes: ["project:read", "event:read"] });
      const access = await client({ token: "sntrys_no_org" }).checkAccess("acme");
      expect(access).to.deep.equal({ scopes: ["project:read", "event:read"], missing: ["org:read"] });
    });

    it("when a token lacking a scope calls that endpoint, then SentryPermissionError names the scope", async () => {
      sim.addToken({ token: "sntrys_no_events", scopes: ["org:read", "project:read"] });
      const error = await rejection(
        client({ token: "sntrys_no_events" }).errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - MINUTE), end: new Date(NOW) }),
      );
      expect(error).to.be.instanceOf(SentryPermissionError);
      expect((error as SentryPermissionError).missingScope).to.equal("event:read");
    });

    it("when the token is revoked, then SentryAuthError (needs_reconnect) without the token in the message", async () => {
      sim.revokeToken(TOKEN);
      for (const call of [() => client().listProjects("acme"), () => client().checkAccess("acme")]) {
        const error = await rejection(call());
        expect(error).to.be.instanceOf(SentryAuthError);
        expect((error as SentryAuthError).kind).to.equal("needs_reconnect");
        expect(error.message).to.not.include(TOKEN);
      }
    });

    it("when a 401 comes and onUnauthorized refreshes the token, then the call is retried once with the new token", async () => {
      sim.addToken({ token: "sntrys_fresh", scopes: SCOPES });
      let current = "sntrys_stale";
      const c = client({
        token: () => current,
        onUnauthorized: async () => {
          current = "sntrys_fresh";
          return true;
        },
      });
      expect(await c.listOrganizations()).to.have.length(1);
      expect(sim.requests.map((r) => [r.token, r.status])).to.deep.equal([
        ["sntrys_stale", 401],
        ["sntrys_fresh", 200],
      ]);
    });
  });

  describe("regions", () => {
    it("when the organization has a regionUrl, then org-scoped calls go there and the organizations list to the base URL", async () => {
      sim.configure({ regionUrl: `${sim.url}/us` });
      await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) });
      expect(sim.requests.map((r) => [r.path.replace(/\/api\/0.*/, ""), r.path.split("/").at(-2)])).to.deep.equal([
        ["", "organizations"],
        ["/us", "events-stats"],
      ]);
    });

    it("when the regionUrl points to a foreign host, then it is ignored and the token stays on the base URL", async () => {
      sim.configure({ regionUrl: "https://collector.evil.example" });
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) });
      expect(counts).to.have.length(5);
      expect(sim.countRequests({ pathIncludes: "events-stats", status: 200 })).to.equal(1);
    });

    it("when self-hosted sends no regionUrl, then the base URL serves everything", async () => {
      await sim.close();
      await startSim({ mode: "selfHosted" });
      const counts = await client().errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) });
      expect(counts).to.have.length(5);
      expect(sim.requests.every((r) => r.prefix === "")).to.equal(true);
    });
  });

  describe("failures", () => {
    const ask = (c: SentryClient) => c.errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - 5 * MINUTE), end: new Date(NOW) });

    it("when Sentry answers 429 with a Reset two seconds ahead, then nothing is sent before that time and the call succeeds", async function () {
      this.timeout(8_000);
      const c = client();
      await c.listOrganizations(); // learn the region first, so the log below is only events-stats
      sim.resetRequests();
      sim.injectFault({ kind: "rateLimit", resetInSeconds: 2, pathIncludes: "events-stats" });
      const counts = await ask(c);
      expect(counts).to.have.length(5);
      const [limited, retried] = sim.requests;
      expect(limited!.status).to.equal(429);
      const reset = Number(limited!.responseHeaders!["x-sentry-rate-limit-reset"]) * 1000;
      expect(retried!.status).to.equal(200);
      expect(retried!.at).to.be.at.least(reset);
      expect(sim.requests).to.have.length(2);
    });

    it("when a proxy's 429 has only Retry-After, then that wait is honoured", async function () {
      this.timeout(8_000);
      await sim.close();
      await startSim({ mode: "selfHosted" });
      sim.injectFault({ kind: "rateLimit", retryAfter: 1, pathIncludes: "events-stats" });
      await ask(client());
      const stats = sim.requests.filter((r) => r.path.includes("events-stats"));
      expect(stats.map((r) => r.status)).to.deep.equal([429, 200]);
      expect(stats[1]!.at - stats[0]!.at).to.be.at.least(1_000 - 5);
    });

    it("when the rate limit would block longer than allowed, then SentryRateLimitedError says when to come back", async () => {
      sim.injectFault({ kind: "rateLimit", resetInSeconds: 120, pathIncludes: "events-stats" });
      const error = await rejection(ask(client({ maxRateLimitWaitMs: 1_000 })));
      expect(error).to.be.instanceOf(SentryRateLimitedError);
      expect((error as SentryRateLimitedError).retryAt).to.be.greaterThan(Date.now() + 100_000);
    });

    it("when a window's Remaining reaches 0, then the client waits for the reset instead of collecting a 429", async function () {
      this.timeout(8_000);
      sim.configure({ rateLimit: { limit: 3, windowSeconds: 1 } });
      const c = client();
      await c.listOrganizations();
      sim.resetRequests();
      await Promise.all([ask(c), ask(c), ask(c), ask(c), ask(c)]);
      expect(sim.countRequests({ status: 429 })).to.equal(0);
      expect(sim.countRequests({ status: 200 })).to.equal(5);
    });

    it("when Sentry answers 5xx twice, then the third try succeeds", async () => {
      sim.injectFault({ kind: "serverError", times: 2, pathIncludes: "events-stats" });
      const events: SentryRequestEvent[] = [];
      await ask(client({ onRequest: (e) => events.push(e) }));
      expect(sim.requests.filter((r) => r.path.includes("events-stats")).map((r) => r.status)).to.deep.equal([500, 500, 200]);
      expect(events.filter((e) => e.endpoint === "events-stats").map((e) => e.outcome)).to.deep.equal(["server_error", "server_error", "ok"]);
    });

    it("when Sentry keeps failing, then SentryUnavailableError after maxRetries, in plain words", async () => {
      sim.injectFault({ kind: "serverError", times: Infinity, status: 503, pathIncludes: "events-stats" });
      const error = await rejection(ask(client({ maxRetries: 2 })));
      expect(error).to.be.instanceOf(SentryUnavailableError);
      expect((error as SentryUnavailableError).attempts).to.equal(3);
      expect(error.message).to.equal(`Sentry at ${sim.url} answered HTTP 503: Internal Error (3 tries).`);
    });

    it("when Sentry is slow past the timeout, then the try is abandoned and retried", async () => {
      sim.injectFault({ kind: "slow", delayMs: 1_000, pathIncludes: "events-stats" });
      const counts = await ask(client({ timeoutMs: 150 }));
      expect(counts).to.have.length(5);
      expect(sim.requests.filter((r) => r.path.includes("events-stats")).map((r) => r.status)).to.deep.equal([0, 200]);
    });

    it("when Sentry never answers in time, then SentryUnavailableError says how long it waited", async () => {
      sim.injectFault({ kind: "slow", delayMs: 1_000, times: Infinity, pathIncludes: "events-stats" });
      const error = await rejection(ask(client({ timeoutMs: 100, maxRetries: 1 })));
      expect(error).to.be.instanceOf(SentryUnavailableError);
      expect(error.message).to.equal(`Sentry at ${sim.url} did not answer within 0.1 s (2 tries).`);
    });

    it("when the connection is dropped, then the request is retried", async () => {
      sim.injectFault({ kind: "drop", pathIncludes: "events-stats" });
      expect(await ask(client())).to.have.length(5);
      expect(sim.requests.filter((r) => r.path.includes("events-stats")).map((r) => r.status)).to.deep.equal([0, 200]);
    });

    it("when a proxy answers an HTML 502 page, then it is retried and summarised without a parse error", async () => {
      sim.injectFault({ kind: "htmlError", pathIncludes: "events-stats" });
      expect(await ask(client())).to.have.length(5);
      sim.injectFault({ kind: "htmlError", times: Infinity, pathIncludes: "events-stats" });
      const error = await rejection(ask(client({ maxRetries: 1 })));
      expect(error).to.be.instanceOf(SentryUnavailableError);
      expect(error.message).to.equal(`Sentry at ${sim.url} answered HTTP 502 from proxy (HTML page) (2 tries).`);
    });

    it("when nothing listens at the URL, then SentryUnavailableError says it could not be reached", async () => {
      const url = sim.url;
      await sim.close();
      const error = await rejection(new SentryClient({ baseUrl: url, token: TOKEN, maxRetries: 1, retryBaseDelayMs: 1 }).listOrganizations());
      expect(error).to.be.instanceOf(SentryUnavailableError);
      expect(error.message).to.match(/could not be reached: connection refused \(2 tries\)\.$/);
      await startSim(); // for afterEach
    });
  });

  describe("concurrency", () => {
    it("when many calls run at once, then in-flight requests never exceed Sentry's ConcurrentLimit", async () => {
      sim.configure({ rateLimit: { concurrentLimit: 2 } });
      sim.injectFault({ kind: "slow", delayMs: 60, times: Infinity, pathIncludes: "events-stats" });
      const c = client({ maxConcurrent: 5 });
      sim.resetRequests();
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          c.errorCounts({ org: "acme", projectId, environment: "production", start: new Date(NOW - (i + 2) * MINUTE), end: new Date(NOW) }),
        ),
      );
      expect(sim.countRequests({ pathIncludes: "events-stats", status: 200 })).to.equal(8);
      expect(sim.countRequests({ status: 429 })).to.equal(0);
      expect(sim.maxInFlight).to.equal(2);
    });
  });

  describe("helpers", () => {
    it("when OAuth URLs are built, then they sit under the base URL with trailing slashes", () => {
      expect(sentryOAuthUrls("https://sentry.example.com/")).to.deep.equal({
        authorizationURL: "https://sentry.example.com/oauth/authorize/",
        tokenURL: "https://sentry.example.com/oauth/token/",
      });
      expect(sentryOAuthUrls("https://sentry.io/api/0").tokenURL).to.equal("https://sentry.io/oauth/token/");
    });

    it("when the base URL is not http(s), then a SentryError says so", () => {
      expect(() => new SentryClient({ baseUrl: "ftp://sentry", token: "x" })).to.throw(SentryError, /https/);
    });

    it("when requests are sent, then they carry the bearer token and Aftershock's User-Agent", async () => {
      const seen: Array<{ url: string; headers: Record<string, string> }> = [];
      const recording: typeof fetch = async (input, init) => {
        seen.push({ url: String(input), headers: init!.headers as Record<string, string> });
        return fetch(input, init);
      };
      await client({ fetch: recording }).listOrganizations();
      expect(seen[0]!.url).to.equal(`${sim.url}/api/0/organizations/?per_page=100`);
      expect(seen[0]!.headers.Authorization).to.equal(`Bearer ${TOKEN}`);
      expect(seen[0]!.headers["User-Agent"]).to.match(/^Aftershock\/\d+\.\d+\.\d+ \(\+self-hosted deploy impact\)$/);
    });
  });
});
