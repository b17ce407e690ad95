import { expect } from "chai";
import * as cheerio from "cheerio";
import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { seedOrganization, signedInAgent, startTestApp } from "../support/test-app.js";

const OTHER = { email: "boss@other.example", password: "another long password", orgName: "Other Corp" };

describe("live card pages: /deploys and cards.json", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  async function world() {
    app = await startTestApp();
    const a = await seedOrganization(app);
    const b = await seedOrganization(app, OTHER);
    await app.services.projects.createProject(a.principal, { name: "Shop", slug: "shop", environments: ["production", "staging"] });
    await app.services.projects.createProject(a.principal, { name: "Search", slug: "search", environments: ["production"] });
    await app.services.projects.createProject(b.principal, { name: "Shop", slug: "shop", environments: ["production"] });
    const api = supertest(app.server);
    const post = async (token: string, body: Record<string, unknown>) => {
      const res = await api.post("/api/v1/deploys").set("Authorization", `Bearer ${token}`).send(body);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id as string;
    };
    return { a, b, post };
  }

  it("when a member opens /deploys, then every project's deploys of their organization show as cards, newest first, and no one else's", async () => {
    const { a, b, post } = await world();
    const now = Date.now();
    const older = await post(a.token, { project: "shop", environment: "staging", version: "s-1", timestamp: new Date(now - 120_000).toISOString() });
    const newer = await post(a.token, { project: "search", environment: "production", version: "q-1", timestamp: new Date(now - 60_000).toISOString() });
    await post(b.token, { project: "shop", environment: "production", version: "theirs" });
    const agent = await signedInAgent(app);
    const page = await agent.get("/deploys");
    expect(page.status).to.equal(200);
    const $ = cheerio.load(page.text);
    expect($("h1").text()).to.equal("Recent deploys");
    const list = $("[data-live-deploys]");
    expect(list.attr("data-scope")).to.equal("organization");
    expect(list.attr("data-live-insert")).to.equal("true");
    const cards = $("article.deploy-card");
    expect(cards.map((_, c) => $(c).attr("data-deploy-id")).get()).to.deep.equal([newer, older]);
    expect(cards.first().find("a.deploy-project").attr("href")).to.equal("/projects/search");
    expect(cards.first().find(".deploy-health").text()).to.equal("pending");
    expect(page.text).not.to.contain("theirs");
    // The scripts, served by the app (script-src 'self', nothing inline).
    expect($("script").map((_, s) => $(s).attr("src")).get()).to.deep.equal(["/socket.io/socket.io.js", "/assets/live.js"]);
    expect($("script:not([src])")).to.have.length(0);
    expect((await agent.get("/assets/live.js")).status).to.equal(200);
    expect((await agent.get("/socket.io/socket.io.js")).status).to.equal(200);
  });

  it("when no one is signed in, then /deploys leads to the login page and cards.json answers 401 in JSON", async () => {
    await world();
    const anonymous = supertest(app.server);
    const page = await anonymous.get("/deploys");
    expect(page.status).to.equal(303);
    expect(page.headers.location).to.equal("/login?next=%2Fdeploys");
    for (const url of ["/deploys/cards.json", "/projects/shop/cards.json"]) {
      const res = await anonymous.get(url).set("Accept", "application/json");
      expect(res.status, url).to.equal(401);
      expect(res.body.error.code).to.equal("unauthenticated");
    }
  });

  it("when the live script catches up, then cards.json gives the project's newest deploy objects (filter honoured) and the Sentry status", async () => {
    const { a, b, post } = await world();
    const staging = await post(a.token, { project: "shop", environment: "staging", version: "1" });
    const production = await post(a.token, { project: "shop", environment: "production", version: "2" });
    await post(a.token, { project: "search", environment: "production", version: "3" });
    await post(b.token, { project: "shop", environment: "production", version: "4" });
    const agent = await signedInAgent(app);
    const all = await agent.get("/projects/shop/cards.json").set("Accept", "application/json");
    expect(all.status).to.equal(200);
    expect(all.headers["cache-control"]).to.equal("no-store");
    expect(all.body.deploys.map((d: { id: string }) => d.id)).to.deep.equal([production, staging]);
    const apiObject = (await supertest(app.server).get(`/api/v1/deploys/${production}`).set("Authorization", `Bearer ${a.token}`)).body;
    expect(all.body.deploys[0]).to.deep.equal(apiObject);
    expect(all.body.integration).to.include({ status: "not_connected" });
    const filtered = await agent.get("/projects/shop/cards.json?environment=staging").set("Accept", "application/json");
    expect(filtered.body.deploys.map((d: { id: string }) => d.id)).to.deep.equal([staging]);
    const org = await agent.get("/deploys/cards.json").set("Accept", "application/json");
    expect(org.body.deploys.map((d: { version: string }) => d.version)).to.deep.equal(["3", "2", "1"]);
    // Another organization's project of the same slug is not reachable by name.
    expect((await agent.get("/projects/nope/cards.json").set("Accept", "application/json")).status).to.equal(404);
  });

  it("when Sentry needs reconnecting, then the project page shows the banner without JavaScript; otherwise it is hidden", async () => {
    const { a } = await world();
    const agent = await signedInAgent(app);
    let $ = cheerio.load((await agent.get("/projects/shop")).text);
    expect($("[data-integration-banner]").attr("hidden")).to.equal("hidden");
    expect($("[data-live-deploys]").attr("data-project")).to.equal("shop");
    await app.db.dataSource.query(
      `INSERT INTO sentry_connections (organization_id, method, base_url, sentry_organization, access_token_sealed, token_last_four, status, last_error)
       VALUES ($1, 'token', 'https://sentry.example.com', 'acme', 'v1.sealed', 'abcd', 'needs_reconnect', 'Sentry said 401')`,
      [a.organization.id],
    );
    $ = cheerio.load((await agent.get("/projects/shop")).text);
    const banner = $("[data-integration-banner]");
    expect(banner.attr("hidden")).to.equal(undefined);
    expect(banner.attr("role")).to.equal("alert");
    expect(banner.text()).to.contain("Sentry needs reconnecting.").and.contain("Sentry said 401");
    expect(banner.find("a").attr("href")).to.equal("/integrations");
  });

  it("when the project page shows an older page, then the live script may update its cards but not add new ones", async () => {
    const { a, post } = await world();
    for (let i = 0; i < 27; i++) await post(a.token, { project: "shop", environment: "production", version: `v${i}`, timestamp: new Date(Date.now() - (30 - i) * 60_000).toISOString() });
    const agent = await signedInAgent(app);
    const first = cheerio.load((await agent.get("/projects/shop")).text);
    expect(first("[data-live-deploys]").attr("data-live-insert")).to.equal("true");
    const older = first("a[rel=next]").attr("href")!;
    const second = cheerio.load((await agent.get(older)).text);
    expect(second("[data-live-deploys]").attr("data-live-insert")).to.equal("false");
    expect(second("article.deploy-card")).to.have.length(2);
  });
});
