import { expect } from "chai";
import * as cheerio from "cheerio";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import supertest from "supertest";
import { startSentrySimulator, type SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { openDatabase } from "../../src/db/database.js";
import { createLogger } from "../../src/logger.js";
import { normalizeBaseUrl } from "../../src/sentry/sentry-connection-service.js";
import { allEntities, startAftershock, type RunningAftershock } from "../../src/main.js";
import { ADMIN, csrfFrom, seedOrganization, signedInAgent, startTestApp, testConfig } from "../support/test-app.js";

const GOOD_TOKEN = "sntrys_good_token_abcd1234";
const FAST_CLIENT = { timeoutMs: 2000, maxRetries: 1, retryBaseDelayMs: 10 };

describe("Sentry connection", () => {
  let sim: SentrySimulator;
  let app: RunningAftershock;

  beforeEach(async () => {
    sim = await startSentrySimulator();
    sim.addOrganization({ slug: "acme-sentry", name: "Acme on Sentry" });
    sim.addProject("acme-sentry", { slug: "backend", id: "101", environments: ["production", "staging"] });
    sim.addToken({ token: GOOD_TOKEN, scopes: ["org:read", "project:read", "event:read"] });
  });
  afterEach(async () => {
    await app?.close();
    await sim?.close();
  });

  async function start(env: Record<string, string> = {}) {
    app = await startTestApp({ env: { SENTRY_URL: sim.url, ...env }, overrides: { sentryClientOptions: FAST_CLIENT } });
    return seedOrganization(app);
  }

  it("when an admin connects with a good token over the API, then the status is connected and never shows the token", async () => {
    const { token } = await start();
    const api = supertest(app.server);
    const res = await api.put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`).send({ token: GOOD_TOKEN, organization: "acme-sentry" });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ status: "connected", baseUrl: sim.url, organization: "acme-sentry", lastError: null });
    expect(res.body.scopes).to.have.members(["org:read", "project:read", "event:read"]);
    expect(res.body.connectedAt).to.be.a("string");
    expect(JSON.stringify(res.body)).not.to.contain(GOOD_TOKEN);
    const status = await api.get("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`);
    expect(status.body.status).to.equal("connected");
    const projects = await api.get("/api/v1/integrations/sentry/projects").set("Authorization", `Bearer ${token}`);
    expect(projects.body).to.deep.equal([{ id: "101", slug: "backend", name: "backend", environments: ["production", "staging"] }]);
  });

  it("when the token is stored, then it is encrypted: the table holds only a sealed form and the last four characters", async () => {
    const { token } = await start();
    await supertest(app.server).put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`).send({ token: GOOD_TOKEN, organization: "acme-sentry" });
    const rows = await app.db.dataSource.query(`SELECT * FROM sentry_connections`);
    expect(rows).to.have.length(1);
    expect(JSON.stringify(rows)).not.to.contain(GOOD_TOKEN);
    expect(rows[0].access_token_sealed).to.match(/^v1\./);
    expect(rows[0].token_last_four).to.equal("1234");
  });

  it("when a token is saved in an embedded database on disk, then a grep of its files finds the token nowhere", async () => {
    // Its own database in a fresh DATA_DIR (the shared test database lives in memory), so the files can be read.
    const dataDir = mkdtempSync(path.join(tmpdir(), "aftershock-grep-"));
    const db = await openDatabase({ databaseUrl: null, dataDir, entities: allEntities });
    const config = testConfig({ SENTRY_URL: sim.url, DATA_DIR: dataDir });
    const own = await startAftershock({ config, db, logger: createLogger("silent"), scheduler: false, overrides: { sentryClientOptions: FAST_CLIENT } });
    try {
      const { organization } = await seedOrganization(own);
      await own.services.sentry.connectWithToken(organization.id, ADMIN.email, { token: GOOD_TOKEN, organization: "acme-sentry" });
      expect((await own.services.sentry.status(organization.id)).status).to.equal("connected");
      await db.dataSource.query("CHECKPOINT");
    } finally {
      await own.close();
      await db.close();
    }
    expect(grepDir(dataDir, "sntrys_good_token")).to.equal(false);
    // The search itself works: the organization's name is stored in clear on the same disk.
    expect(grepDir(dataDir, "acme-sentry")).to.equal(true);
  });

  it("when the token is wrong, lacks a scope, or the base URL is not Sentry, then it is refused with a message saying what to fix", async () => {
    const { token } = await start();
    const api = supertest(app.server);
    const put = (body: object) => api.put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`).send(body);

    const bad = await put({ token: "sntrys_wrong", organization: "acme-sentry" });
    expect(bad.status).to.equal(422);
    expect(bad.body.error.message).to.match(/rejected the token/);

    sim.addToken({ token: "sntrys_noevents", scopes: ["org:read", "project:read"] });
    const scope = await put({ token: "sntrys_noevents", organization: "acme-sentry" });
    expect(scope.status).to.equal(422);
    expect(scope.body.error.message).to.contain("event:read");

    const wrongOrg = await put({ token: GOOD_TOKEN, organization: "nope" });
    expect(wrongOrg.status).to.equal(422);
    expect(wrongOrg.body.error.message).to.contain("acme-sentry");

    const unreachable = await put({ token: GOOD_TOKEN, baseUrl: "http://127.0.0.1:9", organization: "acme-sentry" });
    expect(unreachable.status).to.equal(422);
    expect(unreachable.body.error.details[0].field).to.equal("baseUrl");
    expect(unreachable.body.error.message).to.contain("Could not reach Sentry at http://127.0.0.1:9");

    const notAUrl = await put({ token: GOOD_TOKEN, baseUrl: "sentry dot io", organization: "acme-sentry" });
    expect(notAUrl.status).to.equal(400);
    expect(notAUrl.body.error.details[0].field).to.equal("baseUrl");

    const empty = await put({ organization: "acme-sentry" });
    expect(empty.status).to.equal(400);
    expect((await api.get("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`)).body.status).to.equal("not_connected");
  });

  it("when a Sentry address is pasted with /api/0/ or under a path prefix, then the API root keeps the prefix", () => {
    expect(normalizeBaseUrl("https://sentry.io/api/0/")).to.equal("https://sentry.io");
    expect(normalizeBaseUrl(" https://ops.example.com/sentry/ ")).to.equal("https://ops.example.com/sentry");
    expect(() => normalizeBaseUrl("ftp://sentry.io")).to.throw(/http\(s\) URL/);
  });

  it("when a member token tries to connect, then 403", async () => {
    const { principal } = await start();
    const { token: memberToken } = await app.services.accounts.createApiToken(principal, { name: "m", role: "member" });
    const res = await supertest(app.server).put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${memberToken}`).send({ token: GOOD_TOKEN });
    expect(res.status).to.equal(403);
  });

  it("when connected on the page, then the card shows Connected with organization, address, scopes and who connected it", async () => {
    await start();
    const agent = await signedInAgent(app);
    const page = await agent.get("/integrations");
    expect(cheerio.load(page.text)("[data-testid=sentry-status]").text()).to.equal("Not connected");
    const res = await agent.post("/integrations/sentry/token").type("form").send({ _csrf: csrfFrom(page.text), token: GOOD_TOKEN, baseUrl: sim.url, organization: "" });
    expect(res.status).to.equal(303);
    const after = cheerio.load((await agent.get("/integrations")).text);
    expect(after("[data-testid=sentry-status]").text()).to.equal("Connected");
    expect(after("[data-testid=sentry-organization]").text()).to.equal("acme-sentry");
    expect(after("#sentry-card").text()).to.contain("admin@example.com").and.contain("…1234");
    expect(after.html()).not.to.contain(GOOD_TOKEN);
  });

  it("when the page form has a bad token, then it re-renders with the message and without echoing the token", async () => {
    await start();
    const agent = await signedInAgent(app);
    const page = await agent.get("/integrations");
    const res = await agent.post("/integrations/sentry/token").type("form").send({ _csrf: csrfFrom(page.text), token: "sntrys_secret_wrong", baseUrl: sim.url });
    expect(res.status).to.equal(422);
    const $ = cheerio.load(res.text);
    expect($("#token-error").text()).to.match(/rejected/);
    expect(res.text).not.to.contain("sntrys_secret_wrong");
    expect($("input[name=baseUrl]").val()).to.equal(sim.url);
  });

  it("when Sentry revokes the token, then the next use marks the connection needs_reconnect", async () => {
    const { token, organization } = await start();
    await supertest(app.server).put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`).send({ token: GOOD_TOKEN, organization: "acme-sentry" });
    sim.revokeToken(GOOD_TOKEN);
    const statuses: string[] = [];
    app.services.events.on("integration.status", () => statuses.push("changed"));
    const res = await supertest(app.server).get("/api/v1/integrations/sentry/projects").set("Authorization", `Bearer ${token}`);
    expect(res.status).to.be.oneOf([409, 502]);
    const status = await app.services.sentry.status(organization.id);
    expect(status.status).to.equal("needs_reconnect");
    expect(status.lastError).to.be.a("string").and.not.contain(GOOD_TOKEN);
    expect(statuses).to.deep.equal(["changed"]);
    const again = await supertest(app.server).get("/api/v1/integrations/sentry/projects").set("Authorization", `Bearer ${token}`);
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("sentry_not_connected");
  });

  it("when Sentry keeps failing for 15 minutes, then the status turns to error, and back to connected after a success", async () => {
    let now = Date.now();
    app = await startTestApp({ env: { SENTRY_URL: sim.url }, overrides: { sentryClientOptions: FAST_CLIENT, now: () => now } });
    const { organization, token } = await seedOrganization(app);
    await supertest(app.server).put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${token}`).send({ token: GOOD_TOKEN, organization: "acme-sentry" });
    sim.injectFault({ kind: "serverError", times: 100 });
    await app.services.sentry.listProjects(organization.id).catch(() => undefined);
    expect((await app.services.sentry.status(organization.id)).status).to.equal("connected");
    now += 16 * 60_000;
    await app.services.sentry.listProjects(organization.id).catch(() => undefined);
    const failing = await app.services.sentry.status(organization.id);
    expect(failing.status).to.equal("error");
    expect(failing.lastError).to.match(/Sentry/);
    sim.clearFaults();
    await app.services.sentry.listProjects(organization.id);
    expect((await app.services.sentry.status(organization.id)).status).to.equal("connected");
  });

  describe("OAuth", () => {
    const OAUTH_ENV = { SENTRY_OAUTH_CLIENT_ID: "aftershock-client", SENTRY_OAUTH_CLIENT_SECRET: "oauth-client-secret", PUBLIC_URL: "http://aftershock.test" };

    beforeEach(() => {
      sim.registerOAuthClient({ clientId: "aftershock-client", clientSecret: "oauth-client-secret", redirectUris: ["http://aftershock.test/integrations/sentry/oauth/callback"] });
    });

    async function authorize(agent: ReturnType<typeof supertest.agent>) {
      const start = await agent.get("/integrations/sentry/oauth/start");
      expect(start.status).to.equal(302);
      const authorizeUrl = new URL(start.headers.location!);
      expect(authorizeUrl.origin + authorizeUrl.pathname).to.equal(`${sim.url}/oauth/authorize/`);
      expect(authorizeUrl.searchParams.get("scope")).to.equal("org:read project:read event:read");
      expect(authorizeUrl.searchParams.get("code_challenge_method")).to.equal("S256");
      expect(authorizeUrl.searchParams.get("state")).to.be.a("string");
      const consent = await fetch(authorizeUrl, { redirect: "manual" });
      expect(consent.status).to.equal(302);
      return new URL(consent.headers.get("location")!);
    }

    it("when an admin completes the OAuth round trip, then the connection is stored with the granted scopes, and Reconnect is offered", async () => {
      const { organization } = await start(OAUTH_ENV);
      const agent = await signedInAgent(app);
      const page = cheerio.load((await agent.get("/integrations")).text);
      expect(page("a[href='/integrations/sentry/oauth/start']").text()).to.equal("Connect with OAuth");
      const callback = await authorize(agent);
      const done = await agent.get(callback.pathname + callback.search);
      expect(done.status).to.equal(303);
      const status = await app.services.sentry.status(organization.id);
      expect(status).to.include({ status: "connected", method: "oauth", organization: "acme-sentry" });
      const row = (await app.db.dataSource.query(`SELECT * FROM sentry_connections`))[0];
      expect(row.refresh_token_sealed).to.match(/^v1\./);
      expect(row.expires_at).to.be.instanceOf(Date);
      const after = cheerio.load((await agent.get("/integrations")).text);
      expect(after("a[href='/integrations/sentry/oauth/start']").text()).to.equal("Reconnect with OAuth");
      expect((await app.services.sentry.listProjects(organization.id)).map((p) => p.slug)).to.deep.equal(["backend"]);
    });

    it("when the state does not match, then the callback is refused and nothing is saved", async () => {
      const { organization } = await start(OAUTH_ENV);
      const agent = await signedInAgent(app);
      const callback = await authorize(agent);
      callback.searchParams.set("state", "forged-state");
      const res = await agent.get(callback.pathname + callback.search);
      expect(res.status).to.equal(303);
      expect((await app.services.sentry.status(organization.id)).status).to.equal("not_connected");
      const page = cheerio.load((await agent.get("/integrations")).text);
      expect(page(".flash-error").text()).to.match(/Connecting Sentry failed/);
    });

    it("when the access token is close to expiry, then it is refreshed; when refresh is refused after expiry, then needs_reconnect", async () => {
      let now = Date.now();
      app = await startTestApp({ env: { SENTRY_URL: sim.url, ...OAUTH_ENV }, overrides: { sentryClientOptions: FAST_CLIENT, now: () => now } });
      const { organization } = await seedOrganization(app);
      const agent = await signedInAgent(app);
      const callback = await authorize(agent);
      await agent.get(callback.pathname + callback.search);
      const before = (await app.db.dataSource.query(`SELECT access_token_sealed, expires_at FROM sentry_connections`))[0];
      now = before.expires_at.getTime() - 60 * 60_000; // inside the refresh margin
      expect(await app.services.sentry.refreshExpiringTokens()).to.equal(1);
      const after = (await app.db.dataSource.query(`SELECT access_token_sealed, expires_at FROM sentry_connections`))[0];
      expect(after.access_token_sealed).not.to.equal(before.access_token_sealed);
      expect((await app.services.sentry.listProjects(organization.id)).length).to.equal(1);
      // Break the refresh token, then let the access token expire.
      await app.db.dataSource.query(`UPDATE sentry_connections SET refresh_token_sealed = $1`, [before.access_token_sealed]);
      now = after.expires_at.getTime() + 1000;
      await app.services.sentry.listProjects(organization.id).catch(() => undefined);
      expect((await app.services.sentry.status(organization.id)).status).to.equal("needs_reconnect");
    });
  });
});

function grepDir(dir: string, needle: string): boolean {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const stat = statSync(file);
    if (stat.isDirectory() ? grepDir(file, needle) : readFileSync(file).includes(needle)) return true;
  }
  return false;
}
