import { createHash } from "node:crypto";
import { expect } from "chai";
import { startSentrySimulator, type SentrySimulator } from "../../tools/sentry-simulator/index.js";

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0); // the simulator's "present"
const TOKEN = "sntrys_sim_test_token";
const SCOPES = ["org:read", "project:read", "event:read"];

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

async function get(sim: SentrySimulator, path: string, token = TOKEN) {
  const response = await fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${token}` }, redirect: "manual" });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body: body as any };
}

function statsPath(projectId: string, env: string, start: number, end: number, interval = "1m"): string {
  const q = new URLSearchParams({ dataset: "errors", project: projectId, environment: env, start: iso(start), end: iso(end), interval, yAxis: "count()" });
  return `/api/0/organizations/acme/events-stats/?${q}`;
}

describe("Sentry simulator", () => {
  let sim: SentrySimulator;
  let projectId: string;

  beforeEach(async () => {
    sim = await startSentrySimulator({ now: () => NOW });
    sim.addOrganization({ slug: "acme", name: "Acme" });
    projectId = sim.addProject("acme", { slug: "api", environments: ["production"] }).id;
    sim.addToken({ token: TOKEN, scopes: SCOPES });
    sim.setErrorStream("acme", "api", "production", {
      seed: "s1",
      baseRatePerMinute: 5,
      bursts: { perHour: 6, min: 10, max: 30 },
      spikes: [{ at: NOW - 30 * MINUTE + 5_000, count: 100 }],
    });
  });

  afterEach(async () => {
    await sim.close();
  });

  describe("events-stats", () => {
    it("when a range is asked, then buckets are zero-filled, aligned to the interval and run through the bucket holding end", async () => {
      const start = NOW - 60 * MINUTE + 20_000; // not aligned
      const end = NOW - 30 * MINUTE;
      const { status, body } = await get(sim, statsPath(projectId, "production", start, end, "5m"));
      expect(status).to.equal(200);
      const times = body.data.map((row: [number, unknown]) => row[0]);
      expect(times[0]).to.equal((NOW - 60 * MINUTE) / 1000);
      expect(times.at(-1)).to.equal(end / 1000); // Sentry's zerofill includes the bucket at `end`
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).to.equal(300);
      for (const row of body.data) expect(row[1]).to.have.length(1).and.to.satisfy((e: Array<{ count: number }>) => Number.isInteger(e[0]!.count));
      expect(body.meta).to.be.an("object");
    });

    it("when the same minutes are asked through different ranges and intervals, then the counts agree", async () => {
      const t0 = NOW - 120 * MINUTE;
      const narrow = await get(sim, statsPath(projectId, "production", t0, t0 + 60 * MINUTE));
      const wide = await get(sim, statsPath(projectId, "production", t0 - 45 * MINUTE, t0 + 90 * MINUTE));
      const coarse = await get(sim, statsPath(projectId, "production", t0, t0 + 60 * MINUTE, "60m"));
      const byTime = new Map<number, number>(wide.body.data.map((r: [number, Array<{ count: number }>]) => [r[0], r[1][0]!.count]));
      let sum = 0;
      for (const [t, entries] of narrow.body.data.slice(0, 60) as Array<[number, Array<{ count: number }>]>) {
        expect(byTime.get(t), `minute ${t}`).to.equal(entries[0]!.count);
        sum += entries[0]!.count;
      }
      expect(coarse.body.data[0][1][0].count).to.equal(sum);
      expect(sum).to.be.greaterThan(0);
      // "60" (seconds) is the same interval as "1m".
      const seconds = await get(sim, statsPath(projectId, "production", t0, t0 + 60 * MINUTE, "60"));
      expect(seconds.body.data).to.deep.equal(narrow.body.data);
    });

    it("when a spike is set, then its minute carries the extra errors and minutes after now are 0", async () => {
      const { body } = await get(sim, statsPath(projectId, "production", NOW - 31 * MINUTE, NOW + 10 * MINUTE));
      const counts = new Map<number, number>(body.data.map((r: [number, Array<{ count: number }>]) => [r[0] * 1000, r[1][0]!.count]));
      expect(counts.get(NOW - 30 * MINUTE)).to.be.at.least(100);
      expect(counts.get(NOW + MINUTE)).to.equal(0);
      expect(counts.get(NOW + 9 * MINUTE)).to.equal(0);
    });

    it("when more than 10,000 buckets are asked, then Sentry's 400 comes back", async () => {
      const { status, body } = await get(sim, statsPath(projectId, "production", NOW - 7 * 86_400_000, NOW));
      expect(status).to.equal(400);
      expect(body.detail).to.match(/too many results/);
    });

    it("when the environment is unknown, then data is an empty list", async () => {
      const { status, body } = await get(sim, statsPath(projectId, "nope", NOW - 10 * MINUTE, NOW));
      expect(status).to.equal(200);
      expect(body).to.deep.equal({ data: [] });
    });

    it("when events-stats is switched off, then it answers 404", async () => {
      sim.configure({ eventsStats: false });
      const { status } = await get(sim, statsPath(projectId, "production", NOW - 10 * MINUTE, NOW));
      expect(status).to.equal(404);
    });

    it("when the ingest lag is set, then the newest minutes are half filled until they are older than the lag", async () => {
      const minute = NOW - 2 * MINUTE;
      const full = sim.countForMinute("acme", "api", "production", minute);
      sim.configure({ ingestLagMinutes: 5 });
      expect(sim.countForMinute("acme", "api", "production", minute)).to.equal(Math.floor(full / 2));
      sim.setNow(NOW + 10 * MINUTE);
      expect(sim.countForMinute("acme", "api", "production", minute)).to.equal(full);
    });
  });

  describe("events-timeseries", () => {
    it("when asked, then values carry ms timestamps and the same counts as events-stats", async () => {
      const start = NOW - 20 * MINUTE;
      const end = NOW - 10 * MINUTE;
      const q = new URLSearchParams({ dataset: "errors", project: projectId, environment: "production", start: iso(start), end: iso(end), interval: "60", yAxis: "count()" });
      const { status, body } = await get(sim, `/api/0/organizations/acme/events-timeseries/?${q}`);
      expect(status).to.equal(200);
      const series = body.timeSeries[0];
      expect(series.yAxis).to.equal("count()");
      expect(series.meta.interval).to.equal(60_000);
      expect(series.values).to.have.length(10);
      expect(series.values[0].timestamp).to.equal(start);
      const stats = await get(sim, statsPath(projectId, "production", start, end));
      expect(series.values.map((v: { value: number }) => v.value)).to.deep.equal(
        stats.body.data.slice(0, 10).map((r: [number, Array<{ count: number }>]) => r[1][0]!.count),
      );
    });
  });

  describe("lists and pagination", () => {
    it("when there are more projects than per_page, then Link carries both rels, results flags and cursors", async () => {
      for (let i = 0; i < 150; i++) sim.addProject("acme", { slug: `p${i}` });
      const first = await get(sim, "/api/0/organizations/acme/projects/?per_page=100");
      expect(first.body).to.have.length(100);
      const link = first.headers.get("link")!;
      expect(link).to.match(/rel="previous"; results="false"; cursor="0:0:1"/);
      expect(link).to.match(/rel="next"; results="true"; cursor="0:100:0"/);
      expect(link).to.include(`<${sim.url}/api/0/organizations/acme/projects/?per_page=100&cursor=0:100:0>`);
      const second = await get(sim, "/api/0/organizations/acme/projects/?per_page=100&cursor=0:100:0");
      expect(second.body).to.have.length(51);
      expect(second.headers.get("link")).to.match(/rel="next"; results="false"/);
      expect(second.headers.get("link")).to.match(/rel="previous"; results="true"/);
      expect((await get(sim, "/api/0/organizations/acme/projects/?per_page=101")).status).to.equal(400);
    });

    it("when organizations are listed in saas mode, then each carries links.regionUrl and rate-limit headers come back", async () => {
      const { body, headers } = await get(sim, "/api/0/organizations/");
      expect(body[0]).to.include({ slug: "acme", name: "Acme" });
      expect(body[0].id).to.be.a("string");
      expect(body[0].links.regionUrl).to.equal(sim.url);
      for (const h of ["limit", "remaining", "reset", "concurrentlimit", "concurrentremaining"]) {
        expect(headers.get(`x-sentry-rate-limit-${h}`), h).to.match(/^\d+$/);
      }
    });

    it("when the mode is selfHosted, then there are no rate-limit headers and no regionUrl", async () => {
      const selfHosted = await startSentrySimulator({ mode: "selfHosted" });
      try {
        selfHosted.addOrganization({ slug: "acme" });
        selfHosted.addToken({ token: TOKEN, scopes: SCOPES });
        const { body, headers } = await get(selfHosted, "/api/0/organizations/");
        expect(body[0].links.regionUrl).to.equal(undefined);
        expect(headers.get("x-sentry-rate-limit-limit")).to.equal(null);
      } finally {
        await selfHosted.close();
      }
    });

    it("when environments are listed, then hidden ones show only on request", async () => {
      sim.addProject("acme", { slug: "web", environments: ["production"], hiddenEnvironments: ["old"] });
      expect((await get(sim, "/api/0/projects/acme/web/environments/?visibility=visible")).body).to.deep.equal([{ id: "1", name: "production", isHidden: false }]);
      expect((await get(sim, "/api/0/projects/acme/web/environments/?visibility=all")).body).to.have.length(2);
    });
  });

  describe("issues", () => {
    it("when queried with firstSeen, then only newer issues come back, newest first, with count as a string", async () => {
      sim.addIssue("acme", "api", { environment: "production", firstSeen: NOW - 3 * 60 * MINUTE, count: 9 });
      const fresh = sim.addIssue("acme", "api", { environment: "production", firstSeen: NOW - 20 * MINUTE, count: 4 });
      const fresher = sim.addIssue("acme", "api", { environment: "production", firstSeen: NOW - 5 * MINUTE, count: 1 });
      sim.addIssue("acme", "api", { environment: "staging", firstSeen: NOW - 5 * MINUTE, count: 1 });
      const q = new URLSearchParams({ project: projectId, environment: "production", query: `firstSeen:>=${iso(NOW - 60 * MINUTE)}Z`, sort: "new", limit: "100" });
      const { body } = await get(sim, `/api/0/organizations/acme/issues/?${q}`);
      expect(body.map((i: { id: string }) => i.id)).to.deep.equal([fresher.id, fresh.id]);
      expect(body[1]).to.include({ shortId: fresh.shortId, permalink: fresh.permalink, count: "4" });
      expect(body[1].project).to.deep.include({ id: projectId, slug: "api" });
      const relative = await get(sim, `/api/0/organizations/acme/issues/?${new URLSearchParams({ project: projectId, query: "firstSeen:-10m", sort: "new" })}`);
      expect(relative.body.map((i: { id: string }) => i.id)).to.include(fresher.id).and.not.include(fresh.id);
    });

    it("when absolute firstSeen is switched off, then that query answers 400", async () => {
      sim.configure({ absoluteFirstSeen: false });
      const { status } = await get(sim, `/api/0/organizations/acme/issues/?query=${encodeURIComponent(`firstSeen:>=${iso(NOW)}`)}`);
      expect(status).to.equal(400);
    });
  });

  describe("tokens", () => {
    it("when a token lacks the endpoint's scope, then 403 with Sentry's detail", async () => {
      sim.addToken({ token: "narrow", scopes: ["org:read"] });
      const { status, body } = await get(sim, "/api/0/organizations/acme/projects/", "narrow");
      expect(status).to.equal(403);
      expect(body).to.deep.equal({ detail: "You do not have permission to perform this action." });
    });

    it("when a token is revoked or unknown, then 401 Invalid token", async () => {
      sim.revokeToken(TOKEN);
      expect(await get(sim, "/api/0/organizations/")).to.deep.include({ status: 401, body: { detail: "Invalid token" } });
      expect((await get(sim, "/api/0/organizations/", "never-issued")).status).to.equal(401);
    });
  });

  describe("OAuth", () => {
    const redirectUri = "http://localhost:3000/auth/sentry/callback";
    const verifier = "a-very-long-code-verifier-with-enough-entropy-0123456789";
    const challenge = createHash("sha256").update(verifier).digest("base64url");

    async function authorize(extra: Record<string, string> = {}) {
      const q = new URLSearchParams({
        client_id: "cid",
        response_type: "code",
        scope: SCOPES.join(" "),
        redirect_uri: redirectUri,
        state: "st4te",
        code_challenge: challenge,
        code_challenge_method: "S256",
        ...extra,
      });
      return fetch(`${sim.url}/oauth/authorize/?${q}`, { redirect: "manual" });
    }

    async function token(form: Record<string, string>) {
      const response = await fetch(`${sim.url}/oauth/token/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form),
      });
      return { status: response.status, body: (await response.json()) as any };
    }

    beforeEach(() => {
      sim.registerOAuthClient({ clientId: "cid", clientSecret: "secret", redirectUris: ["http://localhost:3000/"] });
    });

    it("when a user approves, then the code exchanges (with PKCE) for tokens that work, and refresh rotates them", async () => {
      const approved = await authorize();
      expect(approved.status).to.equal(302);
      const location = new URL(approved.headers.get("location")!);
      expect(location.origin + location.pathname).to.equal(redirectUri);
      expect(location.searchParams.get("state")).to.equal("st4te");
      const code = location.searchParams.get("code")!;

      const base = { client_id: "cid", client_secret: "secret", grant_type: "authorization_code", code, redirect_uri: redirectUri };
      expect((await token({ ...base, code_verifier: "wrong" })).status).to.equal(400);
      const granted = await token({ ...base, code_verifier: verifier });
      expect(granted.status).to.equal(200);
      expect(granted.body).to.include({ token_type: "bearer", scope: "org:read project:read event:read", expires_in: 2_591_999 });
      expect(granted.body.expires_at).to.match(/Z$/);
      expect(granted.body.user).to.have.keys("id", "name", "email");
      expect((await token({ ...base, code_verifier: verifier })).status, "a code is single-use").to.equal(400);
      expect((await get(sim, "/api/0/organizations/", granted.body.access_token)).status).to.equal(200);

      const refreshed = await token({ client_id: "cid", client_secret: "secret", grant_type: "refresh_token", refresh_token: granted.body.refresh_token });
      expect(refreshed.status).to.equal(200);
      expect(refreshed.body.access_token).to.not.equal(granted.body.access_token);
      expect((await get(sim, "/api/0/organizations/", granted.body.access_token)).status, "old token rotated out").to.equal(401);
      expect((await get(sim, "/api/0/organizations/", refreshed.body.access_token)).status).to.equal(200);
      const again = await token({ client_id: "cid", client_secret: "secret", grant_type: "refresh_token", refresh_token: granted.body.refresh_token });
      expect(again.status).to.equal(400);
    });

    it("when the client secret is wrong or the redirect is foreign, then the grant is refused", async () => {
      const location = new URL((await authorize()).headers.get("location")!);
      const bad = await token({ client_id: "cid", client_secret: "nope", grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: redirectUri });
      expect(bad.status).to.equal(401);
      expect((await authorize({ redirect_uri: "https://evil.example/cb" })).status).to.equal(400);
      const badScope = new URL((await authorize({ scope: "org:read bogus" })).headers.get("location")!);
      expect(badScope.searchParams.get("error")).to.equal("invalid_scope");
    });

    it("when access tokens are set to expire, then they answer 401 once Sentry's clock passes their expiry", async () => {
      sim.configure({ accessTokenTtlSeconds: 60 });
      const location = new URL((await authorize()).headers.get("location")!);
      const granted = await token({
        client_id: "cid", client_secret: "secret", grant_type: "authorization_code",
        code: location.searchParams.get("code")!, redirect_uri: redirectUri, code_verifier: verifier,
      });
      expect(granted.body.expires_in).to.equal(60);
      sim.setNow(NOW + 61_000);
      const { status, body } = await get(sim, "/api/0/organizations/", granted.body.access_token);
      expect(status).to.equal(401);
      expect(body.detail).to.match(/expired/i);
    });
  });

  describe("faults and observability", () => {
    it("when faults are injected, then each answers its way once and the log records every request", async () => {
      sim.injectFault({ kind: "rateLimit", resetInSeconds: 5 });
      sim.injectFault({ kind: "htmlError" });
      sim.injectFault({ kind: "serverError", status: 503 });
      const limited = await fetch(`${sim.url}/api/0/organizations/`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(limited.status).to.equal(429);
      expect(limited.headers.get("content-type")).to.match(/text\/html/);
      expect(JSON.parse(await limited.text()).detail).to.match(/too frequently/);
      expect(Number(limited.headers.get("x-sentry-rate-limit-reset")) * 1000).to.be.greaterThan(Date.now() + 3_000);
      const html = await get(sim, "/api/0/organizations/");
      expect(html.status).to.equal(502);
      expect(html.body).to.match(/<title>502 Bad Gateway<\/title>/);
      expect((await get(sim, "/api/0/organizations/")).status).to.equal(503);
      expect((await get(sim, "/api/0/organizations/")).status).to.equal(200);
      expect(sim.countRequests()).to.equal(4);
      expect(sim.countRequests({ status: 200 })).to.equal(1);
      expect(sim.requests[0]!.token).to.equal(TOKEN);
      sim.resetRequests();
      expect(sim.countRequests()).to.equal(0);
    });

    it("when a drop fault hits, then the connection closes without an answer", async () => {
      sim.injectFault({ kind: "drop" });
      let failed = false;
      try {
        await get(sim, "/api/0/organizations/");
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
      expect(sim.requests[0]!.status).to.equal(0);
    });

    it("when a token exceeds its window, then real 429s come back with Remaining 0 until the reset", async () => {
      sim.configure({ rateLimit: { limit: 2, windowSeconds: 3600 } });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(sim, "/api/0/organizations/")).status);
      expect(statuses).to.deep.equal([200, 200, 429]);
      expect(sim.requests[2]!.responseHeaders!["x-sentry-rate-limit-remaining"]).to.equal("0");
    });
  });
});
