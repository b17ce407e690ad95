import { expect } from "chai";
import * as cheerio from "cheerio";
import supertest from "supertest";
import { signGithubPayload } from "../../src/deploys/github-webhook-secret.js";
import type { RunningAftershock } from "../../src/main.js";
import { seedDeployProject, SHA_A } from "../deploys/helpers.js";
import { csrfFrom, signedInAgent, startTestApp } from "../support/test-app.js";

describe("deploy pages", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  async function registerMany(organizationId: string, count: number) {
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      await app.services.deploys.register(organizationId, {
        project: "checkout",
        environment: i % 2 ? "staging" : "production",
        environmentMatch: "exact",
        version: `v${i}`,
        timestamp: new Date(now - (count - i) * 60 * 60_000),
        startedAt: null,
        author: i === count - 1 ? "<script>alert(1)</script>" : null,
        name: null,
        url: null,
        tags: [],
        links: i === count - 1 ? { Build: "https://ci.example.com/1" } : {},
        source: "native",
        idempotencyKey: null,
      });
    }
  }

  it("when a member opens /projects/:slug, then deploy cards newest first, an environment filter and keyset pages", async () => {
    app = await startTestApp();
    const { organization } = await seedDeployProject(app);
    await registerMany(organization.id, 30);
    const agent = await signedInAgent(app);
    const page = await agent.get("/projects/checkout");
    expect(page.status).to.equal(200);
    const $ = cheerio.load(page.text);
    expect($("h1").text()).to.equal("Checkout");
    const cards = $("article.deploy-card");
    expect(cards).to.have.length(25);
    expect(cards.first().find(".deploy-version").text().trim()).to.equal("v29");
    expect(cards.first().attr("data-deploy-id")).to.match(/^[0-9a-f-]{36}$/);
    expect(cards.first().find(".deploy-health").text()).to.equal("pending");
    // Text from CI is escaped, never markup.
    expect(cards.first().find(".deploy-author").text()).to.equal("<script>alert(1)</script>");
    expect(page.text).not.to.contain("<script>alert(1)</script>");
    expect(cards.first().find(".deploy-links a").attr("href")).to.equal("https://ci.example.com/1");
    expect($("select[name=environment] option").map((_, o) => $(o).attr("value")).get()).to.deep.equal(["", "production", "staging"]);

    const older = $("a[rel=next]").attr("href")!;
    expect(older).to.match(/^\/projects\/checkout\?cursor=/);
    const second = cheerio.load((await agent.get(older)).text);
    expect(second("article.deploy-card")).to.have.length(5);
    expect(second("article.deploy-card").last().find(".deploy-version").text().trim()).to.equal("v0");
    expect(second("a[rel=next]")).to.have.length(0);
    expect(second("a[rel=first]").attr("href")).to.equal("/projects/checkout");

    const staging = cheerio.load((await agent.get("/projects/checkout?environment=staging")).text);
    expect(staging("article.deploy-card")).to.have.length(15);
    expect(staging("article.deploy-card .deploy-environment").map((_, e) => staging(e).text()).get()).to.satisfy((envs: string[]) =>
      envs.every((e) => e === "staging"),
    );
    expect(staging("select[name=environment] option[selected]").attr("value")).to.equal("staging");

    expect((await agent.get("/projects/nope")).status).to.equal(404);
    expect((await agent.get("/projects/checkout?cursor=bogus!")).status).to.equal(400);
    const anonymous = await supertest(app.server).get("/projects/checkout");
    expect(anonymous.status).to.equal(303);
    expect(anonymous.headers.location).to.equal("/login?next=%2Fprojects%2Fcheckout");
  });

  it("when a project has no deploys, then the page says how to register one", async () => {
    app = await startTestApp();
    await seedDeployProject(app);
    const agent = await signedInAgent(app);
    const $ = cheerio.load((await agent.get("/projects/checkout?environment=staging")).text);
    expect($("article.deploy-card")).to.have.length(0);
    expect($(".empty").text()).to.contain("No deploys in staging yet");
  });

  it("when an admin generates the GitHub secret, then it is shown once, stored only as a nonce, and verifies deliveries", async () => {
    app = await startTestApp();
    await seedDeployProject(app);
    const agent = await signedInAgent(app);
    const settings = await agent.get("/projects/checkout/github-webhook");
    expect(settings.status).to.equal(200);
    let $ = cheerio.load(settings.text);
    expect($("[data-testid=payload-url]").text()).to.match(/\/api\/v1\/webhooks\/github\?org=acme&project=checkout$/);
    expect($("button[type=submit]").text()).to.contain("Generate secret");

    const created = await agent.post("/projects/checkout/github-secret").type("form").send({ _csrf: csrfFrom(settings.text) });
    expect(created.status).to.equal(201);
    expect(created.headers["cache-control"]).to.equal("no-store");
    const secret = cheerio.load(created.text)("[data-testid=github-secret]").text();
    expect(secret).to.match(/^ashgh_[\w-]{43}$/);
    // Never shown again, never stored in clear.
    const again = await agent.get("/projects/checkout/github-webhook");
    expect(again.text).not.to.contain(secret);
    $ = cheerio.load(again.text);
    expect($("dd").text()).to.contain(`…${secret.slice(-4)}`);
    expect($("button[type=submit]").text()).to.contain("Rotate secret");
    const rows = await app.db.dataSource.query(`SELECT * FROM github_webhook_secrets`);
    expect(rows).to.have.length(1);
    expect(JSON.stringify(rows)).not.to.contain(secret.slice(6, 30));

    const raw = JSON.stringify({
      deployment_status: { state: "success", environment: "production" },
      deployment: { id: 1, sha: SHA_A, environment: "production" },
    });
    const delivery = await supertest(app.server)
      .post("/api/v1/webhooks/github?org=acme&project=checkout")
      .set("X-GitHub-Event", "deployment_status")
      .set("Content-Type", "application/json")
      .set("X-Hub-Signature-256", signGithubPayload(secret, raw))
      .send(raw);
    expect(delivery.status).to.equal(201);
  });

  it("when a member or a forged form tries to set the secret, then 403 and nothing changes", async () => {
    app = await startTestApp();
    const { principal } = await seedDeployProject(app);
    await app.services.accounts.addMember(principal, { email: "dev@example.com", password: "member password", role: "member" });
    const member = await signedInAgent(app, "dev@example.com", "member password");
    const view = await member.get("/projects/checkout/github-webhook");
    expect(view.status).to.equal(200);
    expect(cheerio.load(view.text)("form[action='/projects/checkout/github-secret']")).to.have.length(0);
    const refused = await member.post("/projects/checkout/github-secret").type("form").send({ _csrf: csrfFrom(view.text) });
    expect(refused.status).to.equal(403);
    const admin = await signedInAgent(app);
    const forged = await admin.post("/projects/checkout/github-secret").type("form").send({ _csrf: "forged" });
    expect(forged.status).to.equal(403);
    expect(await app.db.dataSource.query(`SELECT * FROM github_webhook_secrets`)).to.have.length(0);
  });
});
