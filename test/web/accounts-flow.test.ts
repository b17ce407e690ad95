import { expect } from "chai";
import * as cheerio from "cheerio";
import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { ADMIN, csrfFrom, seedOrganization, signedInAgent, startTestApp } from "../support/test-app.js";

describe("accounts and the web shell", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  describe("first run", () => {
    it("when no organization exists, then / leads to the setup page, which creates the org and signs the admin in", async () => {
      app = await startTestApp();
      const agent = supertest.agent(app.server);
      const home = await agent.get("/");
      expect(home.status).to.equal(303);
      expect(home.headers.location).to.equal("/setup");
      const setup = await agent.get("/setup");
      const $ = cheerio.load(setup.text);
      expect($("form[action='/setup'] input[name=orgName]")).to.have.length(1);
      const created = await agent
        .post("/setup")
        .type("form")
        .send({ _csrf: csrfFrom(setup.text), orgName: "Acme Inc", email: "Boss@Example.com", password: "long enough pw" });
      expect(created.status).to.equal(303);
      const tokens = await agent.get("/settings/tokens");
      expect(tokens.status).to.equal(200);
      expect(cheerio.load(tokens.text)(".who").text()).to.contain("boss@example.com").and.contain("Acme Inc");
      // Setup is closed once an organization exists.
      expect((await supertest(app.server).get("/setup")).headers.location).to.equal("/login");
    });

    it("when the setup form is invalid, then it re-renders with what was typed and a message by the field", async () => {
      app = await startTestApp();
      const agent = supertest.agent(app.server);
      const setup = await agent.get("/setup");
      const res = await agent.post("/setup").type("form").send({ _csrf: csrfFrom(setup.text), orgName: "Acme", email: "a@b.co", password: "short" });
      expect(res.status).to.equal(400);
      const $ = cheerio.load(res.text);
      expect($("input[name=orgName]").val()).to.equal("Acme");
      expect($("#password-error").text()).to.match(/at least 10/);
      expect(await app.services.accounts.hasAnyOrganization()).to.equal(false);
    });
  });

  describe("login and logout", () => {
    it("when the password is right, then a session opens; logout closes it", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      expect((await agent.get("/settings/members")).status).to.equal(200);
      const page = await agent.get("/settings/members");
      const out = await agent.post("/logout").type("form").send({ _csrf: csrfFrom(page.text) });
      expect(out.status).to.equal(303);
      const after = await agent.get("/settings/members");
      expect(after.status).to.equal(303);
      expect(after.headers.location).to.equal("/login?next=%2Fsettings%2Fmembers");
    });

    it("when the password is wrong, then 401 and the page says so without naming which part", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = supertest.agent(app.server);
      const page = await agent.get("/login");
      const res = await agent.post("/login").type("form").send({ _csrf: csrfFrom(page.text), email: ADMIN.email, password: "nope nope nope" });
      expect(res.status).to.equal(401);
      expect(cheerio.load(res.text)("[role=alert]").text()).to.equal("Email or password is not right.");
    });

    it("when sign-in is attempted too often, then 429", async () => {
      app = await startTestApp({ loginLimit: { windowMs: 60_000, limit: 2 } });
      await seedOrganization(app);
      const agent = supertest.agent(app.server);
      const csrf = csrfFrom((await agent.get("/login")).text);
      const attempt = () => agent.post("/login").type("form").send({ _csrf: csrf, email: ADMIN.email, password: "wrong password" });
      expect((await attempt()).status).to.equal(401);
      expect((await attempt()).status).to.equal(401);
      const limited = await attempt();
      expect(limited.status).to.equal(429);
      expect(limited.text).to.contain("Too many sign-in attempts");
    });
  });

  describe("CSRF", () => {
    it("when a form is posted without its token or with a wrong one, then 403 and nothing changes", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      const missing = await agent.post("/settings/tokens").type("form").send({ name: "ci", role: "member" });
      expect(missing.status).to.equal(403);
      expect(missing.text).to.contain("reload the page");
      const wrong = await agent.post("/settings/tokens").type("form").send({ _csrf: "forged", name: "ci", role: "member" });
      expect(wrong.status).to.equal(403);
      const principal = (await app.services.accounts.verifyLogin(ADMIN.email, ADMIN.password))!;
      const p = (await app.services.accounts.principalForUser(principal.userId, principal.organizationIds[0]!))!;
      expect((await app.services.accounts.listApiTokens(p)).map((t) => t.name)).to.deep.equal(["test"]);
    });
  });

  describe("API tokens", () => {
    it("when an admin creates a token on the settings page, then it is shown once, works, and stops working when revoked", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      const page = await agent.get("/settings/tokens");
      const created = await agent.post("/settings/tokens").type("form").send({ _csrf: csrfFrom(page.text), name: "GitHub Actions", role: "member" });
      expect(created.status).to.equal(201);
      const token = cheerio.load(created.text)("[data-testid=created-token]").text();
      expect(token).to.match(/^ash_[\w-]{40,}$/);
      const api = supertest(app.server);
      const ok = await api.get("/api/v1/organization").set("Authorization", `Bearer ${token}`);
      expect(ok.status).to.equal(200);
      expect(ok.body).to.deep.equal({ slug: "acme", name: "Acme" });
      // Never shown again.
      const again = await agent.get("/settings/tokens");
      expect(again.text).not.to.contain(token);
      expect(cheerio.load(again.text)("td code").first().text()).to.equal(`…${token.slice(-4)}`);
      // Stored hashed only.
      const rows = await app.db.dataSource.query(`SELECT token_hash FROM api_tokens`);
      expect(JSON.stringify(rows)).not.to.contain(token);
      const id = cheerio.load(again.text)("form[action$='/revoke']").first().attr("action")!;
      const revoke = await agent.post(id).type("form").send({ _csrf: csrfFrom(again.text) });
      expect(revoke.status).to.equal(303);
      const refused = await api.get("/api/v1/organization").set("Authorization", `Bearer ${token}`);
      expect(refused.status).to.equal(401);
      expect(refused.body.error.code).to.equal("unauthenticated");
    });

    it("when the token is missing or wrong, then 401 with the JSON error shape", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const api = supertest(app.server);
      const missing = await api.get("/api/v1/organization");
      expect(missing.status).to.equal(401);
      expect(missing.body).to.have.nested.property("error.code", "unauthenticated");
      expect(missing.body.error.message).to.match(/Authorization: Bearer/);
      expect(missing.body.error.details).to.deep.equal([]);
      const wrong = await api.get("/api/v1/organization").set("Authorization", "Bearer ash_not-a-real-token");
      expect(wrong.status).to.equal(401);
    });
  });

  describe("roles and isolation", () => {
    it("when a member opens admin pages, then 403; the member list is visible", async () => {
      app = await startTestApp();
      const { principal } = await seedOrganization(app);
      await app.services.accounts.addMember(principal, { email: "dev@example.com", password: "member password", role: "member" });
      const member = await signedInAgent(app, "dev@example.com", "member password");
      expect((await member.get("/settings/tokens")).status).to.equal(403);
      const members = await member.get("/settings/members");
      expect(members.status).to.equal(200);
      expect(cheerio.load(members.text)("form[action='/settings/members']")).to.have.length(0);
    });

    it("when a token of organization A is used, then it only ever sees organization A", async () => {
      app = await startTestApp();
      const a = await seedOrganization(app);
      const b = await seedOrganization(app, { orgName: "Beta", email: "b@example.com", password: "beta password" });
      const api = supertest(app.server);
      expect((await api.get("/api/v1/organization").set("Authorization", `Bearer ${a.token}`)).body.slug).to.equal("acme");
      expect((await api.get("/api/v1/organization").set("Authorization", `Bearer ${b.token}`)).body.slug).to.equal("beta");
      expect(await app.services.accounts.listApiTokens(b.principal)).to.have.length(1);
      let refused: unknown = null;
      await app.services.accounts.revokeApiToken(b.principal, (await app.services.accounts.listApiTokens(a.principal))[0]!.id).catch((e) => (refused = e));
      expect(refused).to.have.property("statusCode", 404);
    });
  });

  describe("bootstrap", () => {
    it("when INIT_* are set, then the org, admin and exact API token exist once, across restarts", async () => {
      const env = { INIT_ORG_NAME: "Boot Org", INIT_ADMIN_EMAIL: "root@example.com", INIT_ADMIN_PASSWORD: "bootstrap pass", INIT_API_TOKEN: "ci-token-0123456789abcdef" };
      app = await startTestApp({ env });
      await app.close();
      app = await startTestApp({ env, reset: false });
      const res = await supertest(app.server).get("/api/v1/organization").set("Authorization", "Bearer ci-token-0123456789abcdef");
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ slug: "boot-org", name: "Boot Org" });
      const counts = await app.db.dataSource.query(
        `SELECT (SELECT count(*) FROM organizations)::int AS orgs, (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM api_tokens)::int AS tokens`,
      );
      expect(counts[0]).to.deep.equal({ orgs: 1, users: 1, tokens: 1 });
      await signedInAgent(app, "root@example.com", "bootstrap pass");
    });
  });

  describe("errors and health", () => {
    it("when a page does not exist, then a rendered 404 page; under /api, the JSON shape", async () => {
      app = await startTestApp();
      const { token } = await seedOrganization(app);
      const page = await supertest(app.server).get("/no/such/page");
      expect(page.status).to.equal(404);
      expect(cheerio.load(page.text)("h1").text()).to.equal("Not found");
      const api = await supertest(app.server).get("/api/v1/nothing-here").set("Authorization", `Bearer ${token}`);
      expect(api.status).to.equal(404);
      expect(api.body.error.code).to.equal("not_found");
    });

    it("when a route throws, then a 500 page with an error id and no stack trace", async () => {
      app = await startTestApp();
      // A broken database is the realistic 500: drop the table the first-run check reads.
      await app.db.dataSource.query(`ALTER TABLE organizations RENAME TO organizations_away`);
      try {
        const res = await supertest(app.server).get("/");
        expect(res.status).to.equal(500);
        const $ = cheerio.load(res.text);
        expect($("h1").text()).to.equal("Something went wrong");
        expect($("code").text()).to.match(/^[0-9a-f-]{36}$/);
        expect(res.text).not.to.match(/at .*\.ts:\d+|QueryFailedError|organizations_away/);
        const api = await supertest(app.server).get("/api/v1/organization").set("Authorization", "Bearer x".padEnd(30, "x"));
        expect(api.status).to.equal(500);
        expect(api.body.error.code).to.equal("internal_error");
        expect(JSON.stringify(api.body)).not.to.match(/stack|QueryFailedError/);
      } finally {
        await app.db.dataSource.query(`ALTER TABLE organizations_away RENAME TO organizations`);
      }
    });

    it("when probed, then /healthz, /readyz and /metrics answer", async () => {
      app = await startTestApp();
      const api = supertest(app.server);
      expect((await api.get("/healthz")).body).to.deep.equal({ status: "ok" });
      const ready = await api.get("/readyz");
      expect(ready.status).to.equal(200);
      expect(ready.body.status).to.equal("ready");
      const metrics = await api.get("/metrics");
      expect(metrics.text).to.contain("aftershock_http_requests_total");
      expect(metrics.headers["x-request-id"]).to.be.a("string");
    });
  });
});
