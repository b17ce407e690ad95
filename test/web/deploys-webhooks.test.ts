import { expect } from "chai";
import * as cheerio from "cheerio";
import { signGithubPayload } from "../../src/deploys/github-webhook-secret.js";
import type { RunningAftershock } from "../../src/main.js";
import { deployRowCount, minutesAgo, seedDeployProject, SHA_A, SHA_B } from "../deploys/helpers.js";
import { signedInAgent, startTestApp } from "../support/test-app.js";

const SLEUTH = "/api/1/deployments/acme/checkout/register_deploy";
const GITHUB = "/api/v1/webhooks/github?org=acme&project=checkout";
const SENTRY = (version: string, org = "acme") => `/api/0/organizations/${org}/releases/${encodeURIComponent(version)}/deploys/`;

function deploymentStatus(overrides: { state?: string; environment?: string; sha?: string; deploymentId?: number; createdAt?: string } = {}) {
  return {
    action: "created",
    deployment_status: {
      id: 9001,
      state: overrides.state ?? "success",
      environment: overrides.environment ?? "production",
      created_at: overrides.createdAt ?? minutesAgo(1),
      log_url: "https://github.com/acme/checkout/actions/runs/1",
      environment_url: "https://checkout.example.com",
      creator: { login: "octocat" },
    },
    deployment: {
      id: overrides.deploymentId ?? 77,
      sha: overrides.sha ?? SHA_A,
      ref: "main",
      environment: overrides.environment ?? "production",
      creator: { login: "octocat" },
    },
    repository: { full_name: "acme/checkout", html_url: "https://github.com/acme/checkout" },
    sender: { login: "octocat" },
  };
}

describe("deploy webhooks", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  describe("Sleuth-compatible register_deploy", () => {
    it("when Sleuth's form body comes with api_key, then 200 Success and a deploy in the default environment", async () => {
      app = await startTestApp();
      const { api, token, organization } = await seedDeployProject(app);
      const res = await api
        .post(SLEUTH)
        .type("form")
        .send({ api_key: token, sha: SHA_A, email: "dev@example.com", tags: "#hotfix,#canary", "links[Build]": "https://ci/1" });
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain/);
      expect(res.text).to.equal("Success");
      const { deploys } = await app.services.deploys.listProjectDeploys(organization.id, "checkout");
      expect(deploys).to.have.length(1);
      expect(deploys[0]).to.deep.include({
        environment: "production",
        version: SHA_A,
        author: "dev@example.com",
        source: "sleuth",
        tags: ["hotfix", "canary"],
        links: { Build: "https://ci/1" },
      });
    });

    it("when JSON comes with a Bearer or legacy apikey header, then it is registered; a duplicate sha is 400 unless ignore_if_duplicate", async () => {
      app = await startTestApp();
      const { api, token } = await seedDeployProject(app);
      const first = await api.post(SLEUTH).set("Authorization", `Bearer ${token}`).send({ sha: SHA_A, environment: "staging", date: minutesAgo(3) });
      expect(first.status).to.equal(200);
      const duplicate = await api.post(SLEUTH).set("Authorization", `apikey ${token}`).send({ sha: SHA_A, environment: "staging" });
      expect(duplicate.status).to.equal(400);
      expect(duplicate.text).to.match(/^Duplicate deploy/);
      const ignored = await api.post(SLEUTH).set("Authorization", `apikey ${token}`).send({ sha: SHA_A, environment: "staging", ignore_if_duplicate: "true" });
      expect(ignored.status).to.equal(200);
      expect(ignored.text).to.equal("Success");
      expect(await deployRowCount(app)).to.equal(1);
    });

    it("when the key is missing or wrong, the project unknown, or the org another one, then 401/401/404/404 in plain text", async () => {
      app = await startTestApp();
      const { api, token } = await seedDeployProject(app);
      const missing = await api.post(SLEUTH).send({ sha: SHA_A });
      expect([missing.status, missing.headers["content-type"]]).to.satisfy(([s, t]: [number, string]) => s === 401 && /^text\/plain/.test(t));
      expect((await api.post(SLEUTH).send({ sha: SHA_A, api_key: "nope-nope-nope" })).status).to.equal(401);
      const unknown = await api.post("/api/1/deployments/acme/billing/register_deploy").set("Authorization", `Bearer ${token}`).send({ sha: SHA_A });
      expect(unknown.status).to.equal(404);
      expect(unknown.text).to.contain('"billing"');
      const otherOrg = await api.post("/api/1/deployments/beta/checkout/register_deploy").set("Authorization", `Bearer ${token}`).send({ sha: SHA_A });
      expect(otherOrg.status).to.equal(404);
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when the body is bad (no sha, unknown environment, bad date, malformed JSON, too large), then 400/400/400/400/413 in plain text", async () => {
      app = await startTestApp();
      const { api, token } = await seedDeployProject(app);
      const auth = { Authorization: `Bearer ${token}` };
      const noSha = await api.post(SLEUTH).set(auth).send({ environment: "production" });
      expect([noSha.status, noSha.text]).to.deep.equal([400, "sha is required."]);
      const env = await api.post(SLEUTH).set(auth).send({ sha: SHA_A, environment: "prod" });
      expect(env.status).to.equal(400);
      expect(env.text).to.contain("production, staging");
      expect((await api.post(SLEUTH).set(auth).send({ sha: SHA_A, date: "tomorrow-ish" })).status).to.equal(400);
      const malformed = await api.post(SLEUTH).set(auth).set("Content-Type", "application/json").send("{sha:");
      expect(malformed.status).to.equal(400);
      expect(malformed.headers["content-type"]).to.match(/^text\/plain/);
      const huge = await api.post(SLEUTH).set(auth).send({ sha: SHA_A, email: "x".repeat(70_000) });
      expect(huge.status).to.equal(413);
      expect(huge.headers["content-type"]).to.match(/^text\/plain/);
      expect(await deployRowCount(app)).to.equal(0);
    });
  });

  describe("GitHub deployment_status", () => {
    async function withSecret() {
      const seeded = await seedDeployProject(app, { environments: ["Production", "staging"] });
      const { secret } = await app.services.deploys.rotateGithubSecret(seeded.principal, "checkout");
      const deliver = (event: string, payload: unknown, sign: string | null = secret, path = GITHUB) => {
        const raw = JSON.stringify(payload);
        const req = seeded.api.post(path).set("X-GitHub-Event", event).set("X-GitHub-Delivery", "d-1").set("Content-Type", "application/json");
        if (sign) req.set("X-Hub-Signature-256", signGithubPayload(sign, raw));
        return req.send(raw);
      };
      return { ...seeded, secret, deliver };
    }

    it("when GitHub pings, then 200; when a deployment succeeds, then 201 with the deploy (environment matched ignoring case)", async () => {
      app = await startTestApp();
      const { deliver } = await withSecret();
      const ping = await deliver("ping", { zen: "Keep it logically awesome.", hook_id: 1 });
      expect(ping.status).to.equal(200);
      expect(ping.body.ok).to.equal(true);
      const res = await deliver("deployment_status", deploymentStatus({ environment: "production" }));
      expect(res.status).to.equal(201);
      expect(res.body).to.deep.include({
        project: "checkout",
        environment: "Production",
        version: SHA_A,
        author: "octocat",
        source: "github",
        url: "https://github.com/acme/checkout/actions/runs/1",
        tags: ["main"],
      });
      expect(res.body.links.Commit).to.equal(`https://github.com/acme/checkout/commit/${SHA_A}`);
      // A redelivery of the same deployment answers the same deploy.
      const again = await deliver("deployment_status", deploymentStatus({ environment: "production" }));
      expect(again.status).to.equal(200);
      expect(again.body.id).to.equal(res.body.id);
      expect(await deployRowCount(app)).to.equal(1);
    });

    it("when the state is not success or the event is another one, then 202 ignored with a reason and nothing written", async () => {
      app = await startTestApp();
      const { deliver } = await withSecret();
      const pending = await deliver("deployment_status", deploymentStatus({ state: "in_progress" }));
      expect(pending.status).to.equal(202);
      expect(pending.body).to.deep.equal({ status: "ignored", reason: 'deployment_status state is "in_progress"; only "success" registers a deploy.' });
      const push = await deliver("push", { ref: "refs/heads/main" });
      expect(push.status).to.equal(202);
      expect(push.body.reason).to.match(/push/);
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when the signature is missing, wrong or from an old secret, then 401 and nothing written", async () => {
      app = await startTestApp();
      const { deliver, principal, api } = await withSecret();
      const body = deploymentStatus();
      const missing = await deliver("deployment_status", body, null);
      expect(missing.status).to.equal(401);
      expect(missing.body.error.code).to.equal("unauthenticated");
      expect((await deliver("deployment_status", body, "ashgh_not-the-secret")).status).to.equal(401);
      const { secret } = await app.services.deploys.rotateGithubSecret(principal, "checkout");
      // Tampered body: the signature was made over other bytes.
      const raw = JSON.stringify(body);
      const tampered = await api
        .post(GITHUB)
        .set("X-GitHub-Event", "deployment_status")
        .set("Content-Type", "application/json")
        .set("X-Hub-Signature-256", signGithubPayload(secret, raw))
        .send(raw.replace(SHA_A, SHA_B));
      expect(tampered.status).to.equal(401);
      // The secret before rotation no longer verifies; the new one does.
      expect((await deliver("deployment_status", body)).status).to.equal(401);
      expect((await deliver("deployment_status", body, secret)).status).to.equal(201);
      expect(await deployRowCount(app)).to.equal(1);
    });

    it("when the project, organization or query is wrong, or the project has no secret, then 404/404/400/401", async () => {
      app = await startTestApp();
      const { deliver, secret, principal } = await withSecret();
      const body = deploymentStatus();
      expect((await deliver("deployment_status", body, secret, "/api/v1/webhooks/github?org=acme&project=billing")).status).to.equal(404);
      expect((await deliver("deployment_status", body, secret, "/api/v1/webhooks/github?org=beta&project=checkout")).status).to.equal(404);
      const noQuery = await deliver("deployment_status", body, secret, "/api/v1/webhooks/github");
      expect(noQuery.status).to.equal(400);
      expect(noQuery.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal(["org", "project"]);
      await app.services.projects.createProject(principal, { name: "Web", slug: "web", environments: ["production"] });
      const noSecret = await deliver("deployment_status", body, secret, "/api/v1/webhooks/github?org=acme&project=web");
      expect(noSecret.status).to.equal(401);
      expect(noSecret.body.error.message).to.match(/no GitHub webhook secret/);
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when the GitHub environment matches none of the project's, then 422 listing them", async () => {
      app = await startTestApp();
      const { deliver } = await withSecret();
      const res = await deliver("deployment_status", deploymentStatus({ environment: "qa" }));
      expect(res.status).to.equal(422);
      expect(res.body.error.message).to.contain('"qa"').and.contain("Production, staging");
    });

    it("when GitHub sends the form encoding, then the signed payload field is read", async () => {
      app = await startTestApp();
      const { api, secret } = await withSecret();
      const form = `payload=${encodeURIComponent(JSON.stringify(deploymentStatus({ deploymentId: 5 })))}`;
      const res = await api
        .post(GITHUB)
        .set("X-GitHub-Event", "deployment_status")
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("X-Hub-Signature-256", signGithubPayload(secret, form))
        .send(form);
      expect(res.status).to.equal(201);
      expect(res.body.source).to.equal("github");
    });
  });

  describe("Sentry-shaped deploys API", () => {
    it("when sentry-cli's request comes, then 201 with Sentry's response shape", async () => {
      app = await startTestApp();
      const { api, token, organization } = await seedDeployProject(app);
      const res = await api
        .post(SENTRY("checkout@2.1.0+build.5"))
        .set("Authorization", `Bearer ${token}`)
        .send({ environment: "production", name: "Deploy 5", url: "https://ci/5", dateStarted: minutesAgo(6), dateFinished: minutesAgo(5), projects: ["checkout"] });
      expect(res.status).to.equal(201);
      expect(res.body).to.have.all.keys("id", "environment", "dateStarted", "dateFinished", "name", "url");
      expect(res.body).to.deep.include({ environment: "production", name: "Deploy 5", url: "https://ci/5" });
      const deploy = await app.services.deploys.getDeploy(organization.id, res.body.id);
      expect(deploy).to.deep.include({ version: "checkout@2.1.0+build.5", source: "sentry", timestamp: res.body.dateFinished });
    });

    it("when projects is left out, then the organization's only project is used; with two projects, 422", async () => {
      app = await startTestApp();
      const { api, token, principal } = await seedDeployProject(app);
      const sole = await api.post(SENTRY("1.0.0")).set("Authorization", `Bearer ${token}`).send({ environment: "staging" });
      expect(sole.status).to.equal(201);
      await app.services.projects.createProject(principal, { name: "Web", slug: "web", environments: ["production"] });
      const ambiguous = await api.post(SENTRY("1.0.1")).set("Authorization", `Bearer ${token}`).send({ environment: "production" });
      expect(ambiguous.status).to.equal(422);
      expect(ambiguous.body.error.message).to.contain("checkout").and.contain("web");
      expect(await deployRowCount(app)).to.equal(1);
    });

    it("when the token's organization is not the one in the URL, then 404 and no write; no token, 401", async () => {
      app = await startTestApp();
      const a = await seedDeployProject(app);
      await seedDeployProject(app, { org: { orgName: "Beta", email: "b@example.com", password: "beta password" } });
      const cross = await a.api.post(SENTRY("1.0.0", "beta")).set("Authorization", `Bearer ${a.token}`).send({ environment: "production", projects: ["checkout"] });
      expect(cross.status).to.equal(404);
      expect(cross.body.error.code).to.equal("not_found");
      const anonymous = await a.api.post(SENTRY("1.0.0")).send({ environment: "production" });
      expect(anonymous.status).to.equal(401);
      const noEnv = await a.api.post(SENTRY("1.0.0")).set("Authorization", `Bearer ${a.token}`).send({ projects: ["checkout"] });
      expect(noEnv.status).to.equal(400);
      expect(await deployRowCount(app)).to.equal(0);
    });
  });

  it("when odd and malformed requests hit every way in, then none gets a 5xx", async () => {
    app = await startTestApp();
    const { api, token, principal } = await seedDeployProject(app);
    const { secret } = await app.services.deploys.rotateGithubSecret(principal, "checkout");
    const odd: unknown[] = [
      null, 42, "text", [], [1, 2], {}, { project: {}, environment: [], version: { a: 1 } },
      { project: "checkout", environment: "production", version: "\u0000" },
      { project: "checkout", environment: "production\u0000", sha: "a" },
      { project: "checkout", environment: "production", version: "1", tags: "a,b", links: ["x"] },
      { project: "checkout", environment: "production", version: "1", links: { "\u0000": "https://x" } },
      { project: "checkout", environment: "production", version: "1", timestamp: 1714566600 },
      { sha: ["a"], environment: { x: 1 }, date: [], tags: { a: 1 }, links: 5, email: {} },
      { environment: "production", projects: "checkout" },
      { environment: "production", projects: [{}, null] },
      { environment: "production", dateFinished: "9999-12-31T23:59:59Z" },
      { deployment_status: "success", deployment: [] },
      { deployment_status: { state: "success" }, deployment: { id: {}, sha: null } },
      { deployment_status: { state: "success", environment: "production" }, deployment: { id: 1, sha: "x".repeat(300) } },
    ];
    const auth = { Authorization: `Bearer ${token}` };
    for (const body of odd) {
      const raw = JSON.stringify(body);
      const answers = await Promise.all([
        api.post("/api/v1/deploys").set(auth).set("Content-Type", "application/json").send(raw),
        api.post(SLEUTH).set(auth).set("Content-Type", "application/json").send(raw),
        api.post(SENTRY("1.0")).set(auth).set("Content-Type", "application/json").send(raw),
        api
          .post(GITHUB)
          .set("X-GitHub-Event", "deployment_status")
          .set("Content-Type", "application/json")
          .set("X-Hub-Signature-256", signGithubPayload(secret, raw))
          .send(raw),
      ]);
      // Some of these are fine for the lenient shapes (Sentry and Sleuth ignore unknown fields).
      answers.forEach((answer, i) => expect(answer.status, `${["native", "sleuth", "sentry", "github"][i]} ${raw}`).to.be.below(500));
    }
    for (const path of ["/api/0/organizations/acme/releases/%00/deploys/", SENTRY("x".repeat(300)), "/api/1/deployments/acme/%00/register_deploy", "/api/1/deployments/%E0%A4%A/x/register_deploy"]) {
      const res = await api.post(path).set(auth).send({ environment: "production", sha: "a" });
      expect(res.status, path).to.be.within(400, 499);
    }
  });

  it("when the same deploy is posted by each of the four shapes, then it shows up once on the project page", async () => {
    app = await startTestApp();
    const { api, token, principal, organization } = await seedDeployProject(app);
    const { secret } = await app.services.deploys.rotateGithubSecret(principal, "checkout");
    const auth = { Authorization: `Bearer ${token}` };
    const native = await api.post("/api/v1/deploys").set(auth).send({ project: "checkout", environment: "production", sha: SHA_A, timestamp: minutesAgo(2) });
    expect(native.status).to.equal(201);
    const sleuth = await api.post(SLEUTH).set(auth).send({ sha: SHA_A, environment: "production", ignore_if_duplicate: "true" });
    expect(sleuth.text).to.equal("Success");
    const raw = JSON.stringify(deploymentStatus({ createdAt: minutesAgo(3) }));
    const github = await api
      .post(GITHUB)
      .set("X-GitHub-Event", "deployment_status")
      .set("Content-Type", "application/json")
      .set("X-Hub-Signature-256", signGithubPayload(secret, raw))
      .send(raw);
    const sentry = await api.post(SENTRY(SHA_A)).set(auth).send({ environment: "production", projects: ["checkout"] });
    expect([github.status, sentry.status]).to.deep.equal([200, 200]);
    expect(github.body.id).to.equal(native.body.id);
    expect(sentry.body.id).to.equal(native.body.id);
    expect(await deployRowCount(app)).to.equal(1);
    const agent = await signedInAgent(app);
    const page = await agent.get("/projects/checkout");
    expect(cheerio.load(page.text)("article.deploy-card").map((_, el) => cheerio.load(el)("article").attr("data-deploy-id")).get()).to.deep.equal([
      native.body.id,
    ]);
    expect(organization.slug).to.equal("acme");
  });
});
