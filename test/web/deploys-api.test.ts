import { expect } from "chai";
import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { deployRowCount, minutesAgo, seedDeployProject, SHA_A, SHA_B } from "../deploys/helpers.js";
import { startTestApp } from "../support/test-app.js";

const DEPLOY_OBJECT_KEYS = [
  "id", "project", "environment", "version", "timestamp", "author", "url", "tags", "source", "rollback", "health", "final", "impacts",
];

function expectErrorShape(body: unknown, code: string): void {
  expect(body).to.have.nested.property("error.code", code);
  expect((body as { error: { message: unknown } }).error.message).to.be.a("string");
  expect((body as { error: { details: unknown } }).error.details).to.be.an("array");
  expect(JSON.stringify(body)).not.to.match(/stack|QueryFailedError|at .*\.ts:\d+/);
}

describe("deploys API", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  describe("POST /api/v1/deploys", () => {
    it("when a deploy is posted, then 201 with DESIGN's deploy object, readable at GET /api/v1/deploys/:id", async () => {
      app = await startTestApp();
      const { postDeploy, api, token } = await seedDeployProject(app);
      const timestamp = minutesAgo(10);
      const res = await postDeploy({
        project: "checkout",
        environment: "production",
        version: "v1.4.2",
        timestamp,
        author: "dev@example.com",
        url: "https://ci.example.com/runs/9",
        tags: ["canary"],
      });
      expect(res.status).to.equal(201);
      expect(res.body).to.include.all.keys(...DEPLOY_OBJECT_KEYS);
      expect(res.body).to.deep.include({
        project: "checkout",
        environment: "production",
        version: "v1.4.2",
        timestamp,
        author: "dev@example.com",
        url: "https://ci.example.com/runs/9",
        tags: ["canary"],
        source: "native",
        rollback: false,
        health: "pending",
        final: false,
        impacts: [],
      });
      expect(res.headers.location).to.equal(`/api/v1/deploys/${res.body.id}`);
      const read = await api.get(`/api/v1/deploys/${res.body.id}`).set("Authorization", `Bearer ${token}`);
      expect(read.status).to.equal(200);
      expect(read.body).to.deep.equal(res.body);
    });

    it("when version is sent as sha and no time is given, then the deploy is at now", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const before = Date.now();
      const res = await postDeploy({ project: "checkout", environment: "staging", sha: SHA_A });
      expect(res.status).to.equal(201);
      expect(res.body.version).to.equal(SHA_A);
      expect(Date.parse(res.body.timestamp)).to.be.within(before - 1000, Date.now() + 1000);
    });

    it("when the same idempotency key is posted again, then 200 with the existing deploy and nothing new", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const body = { project: "checkout", environment: "production", version: "1", idempotencyKey: "build-77" };
      const first = await postDeploy(body);
      const second = await postDeploy(body);
      expect([first.status, second.status]).to.deep.equal([201, 200]);
      expect(second.body).to.deep.equal(first.body);
      expect(await deployRowCount(app)).to.equal(1);
    });

    it("when 20 identical posts race with one idempotency key, then exactly one row and every answer names it", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const events: string[] = [];
      app.services.events.on("deploy.created", (e) => events.push(e.deployId));
      const body = { project: "checkout", environment: "production", version: "2.0.0", idempotencyKey: "pipeline-5" };
      const answers = await Promise.all(Array.from({ length: 20 }, () => postDeploy(body)));
      expect(answers.map((a) => a.status).sort()).to.deep.equal([...Array(19).fill(200), 201]);
      expect(new Set(answers.map((a) => a.body.id)).size).to.equal(1);
      expect(await deployRowCount(app)).to.equal(1);
      expect(events).to.deep.equal([answers[0]!.body.id]);
    });

    it("when 20 identical posts race without a key, then the repeats still make one row", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const answers = await Promise.all(Array.from({ length: 20 }, () => postDeploy({ project: "checkout", environment: "production", version: "3.0.0" })));
      expect(answers.filter((a) => a.status === 201)).to.have.length(1);
      expect(answers.every((a) => a.status === 201 || a.status === 200)).to.equal(true);
      expect(await deployRowCount(app)).to.equal(1);
    });
  });

  describe("refusals", () => {
    it("when the token is missing or wrong, then 401 in the JSON error shape", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const api = supertest(app.server);
      const missing = await api.post("/api/v1/deploys").send({ project: "checkout", environment: "production", version: "1" });
      expect(missing.status).to.equal(401);
      expectErrorShape(missing.body, "unauthenticated");
      const wrong = await postDeploy({ project: "checkout", environment: "production", version: "1" }, "ash_wrong-token-wrong-token");
      expect(wrong.status).to.equal(401);
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when the project is unknown, then 404 naming it; when the environment is unknown, 422 listing the valid ones", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const project = await postDeploy({ project: "billing", environment: "production", version: "1" });
      expect(project.status).to.equal(404);
      expectErrorShape(project.body, "not_found");
      expect(project.body.error.message).to.contain('"billing"');
      const environment = await postDeploy({ project: "checkout", environment: "prod", version: "1" });
      expect(environment.status).to.equal(422);
      expectErrorShape(environment.body, "validation_failed");
      expect(environment.body.error.message).to.contain('"prod"').and.contain("production, staging");
      expect(environment.body.error.details[0]).to.deep.include({ field: "environment", allowed: ["production", "staging"] });
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when the timestamp is not ISO 8601, then 400; more than 5 minutes ahead, then 422", async () => {
      app = await startTestApp();
      const { postDeploy } = await seedDeployProject(app);
      const bad = await postDeploy({ project: "checkout", environment: "production", version: "1", timestamp: "last tuesday" });
      expect(bad.status).to.equal(400);
      expectErrorShape(bad.body, "validation_failed");
      expect(bad.body.error.details[0].field).to.equal("timestamp");
      const future = await postDeploy({ project: "checkout", environment: "production", version: "1", timestamp: new Date(Date.now() + 10 * 60_000).toISOString() });
      expect(future.status).to.equal(422);
      expect(future.body.error.message).to.match(/future/);
      const slightlyAhead = await postDeploy({ project: "checkout", environment: "production", version: "1", timestamp: new Date(Date.now() + 60_000).toISOString() });
      expect(slightlyAhead.status).to.equal(201);
    });

    it("when the body is malformed JSON, too large, or not JSON at all, then 400/413/400 and no row", async () => {
      app = await startTestApp();
      const { api, token } = await seedDeployProject(app);
      const auth = { Authorization: `Bearer ${token}` };
      const malformed = await api.post("/api/v1/deploys").set(auth).set("Content-Type", "application/json").send('{"project": "checkout",');
      expect(malformed.status).to.equal(400);
      expectErrorShape(malformed.body, "validation_failed");
      const huge = await api
        .post("/api/v1/deploys")
        .set(auth)
        .send({ project: "checkout", environment: "production", version: "1", author: "x".repeat(70 * 1024) });
      expect(huge.status).to.equal(413);
      expectErrorShape(huge.body, "payload_too_large");
      const text = await api.post("/api/v1/deploys").set(auth).set("Content-Type", "text/plain").send("deploy please");
      expect(text.status).to.equal(400);
      const list = await api.post("/api/v1/deploys").set(auth).send([{ project: "checkout" }]);
      expect(list.status).to.equal(400);
      expect(await deployRowCount(app)).to.equal(0);
    });

    it("when fields are too long, hold NUL or are unknown, then 400 naming each field, never a 500", async () => {
      app = await startTestApp();
      const { postDeploy, api, token } = await seedDeployProject(app);
      const res = await postDeploy({ project: "checkout", environment: "production", version: "v".repeat(201), tags: ["ok", "bad\u0000"], colour: "red" });
      expect(res.status).to.equal(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).to.include.members(["version", "tags[1]", "colour"]);
      const nul = await postDeploy({ project: "check\u0000out", environment: "production", version: "1" });
      expect(nul.status).to.equal(400);
      const notUuid = await api.get("/api/v1/deploys/not-a-uuid").set("Authorization", `Bearer ${token}`);
      expect(notUuid.status).to.equal(404);
      const nulPath = await api.get("/api/v1/projects/%00/deploys").set("Authorization", `Bearer ${token}`);
      expect(nulPath.status).to.equal(404);
      const nulQuery = await api.get("/api/v1/projects/checkout/deploys?environment=%00").set("Authorization", `Bearer ${token}`);
      expect(nulQuery.status).to.equal(400);
      const twice = await api.get("/api/v1/projects/checkout/deploys?environment=a&environment=b").set("Authorization", `Bearer ${token}`);
      expect(twice.status).to.equal(400);
      expect(await deployRowCount(app)).to.equal(0);
    });
  });

  describe("GET /api/v1/projects/:slug/deploys", () => {
    it("when there are more deploys than a page, then keyset pages walk every deploy once, newest first, stable under new deploys", async () => {
      app = await startTestApp();
      const { organization, api, token } = await seedDeployProject(app);
      const now = Date.now();
      // 30 production + 15 staging deploys, two of them at the very same instant (ties break on id).
      for (let i = 0; i < 45; i++) {
        await app.services.deploys.register(organization.id, {
          project: "checkout",
          environment: i % 3 === 2 ? "staging" : "production",
          environmentMatch: "exact",
          version: `v${i}`,
          timestamp: new Date(now - (i === 44 ? 43 : i) * 10 * 60_000),
          startedAt: null, author: null, name: null, url: null, tags: [], links: {}, source: "native", idempotencyKey: null,
        });
      }
      const get = (query: string) => api.get(`/api/v1/projects/checkout/deploys${query}`).set("Authorization", `Bearer ${token}`);
      const seen: Array<{ id: string; timestamp: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: supertest.Response = await get(`?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
        expect(res.status).to.equal(200);
        seen.push(...res.body.deploys);
        cursor = res.body.nextCursor;
        pages++;
        // A deploy registered mid-walk lands on page one, not in the pages still to come.
        if (pages === 2) {
          await app.services.deploys.register(organization.id, {
            project: "checkout", environment: "production", environmentMatch: "exact", version: "late", timestamp: null,
            startedAt: null, author: null, name: null, url: null, tags: [], links: {}, source: "native", idempotencyKey: null,
          });
        }
      } while (cursor);
      expect(pages).to.equal(5);
      expect(seen).to.have.length(45);
      expect(new Set(seen.map((d) => d.id)).size).to.equal(45);
      const times = seen.map((d) => Date.parse(d.timestamp));
      expect([...times].sort((a, b) => b - a)).to.deep.equal(times);

      const staging = await get("?environment=staging&limit=100");
      expect(staging.body.deploys).to.have.length(15);
      expect(staging.body.deploys.every((d: { environment: string }) => d.environment === "staging")).to.equal(true);
      expect(staging.body.nextCursor).to.equal(null);
      const first = await get("");
      expect(first.body.deploys).to.have.length(25);
      expect(first.body.deploys[0].version).to.equal("late");

      const badCursor = await get("?cursor=garbage!");
      expect(badCursor.status).to.equal(400);
      expectErrorShape(badCursor.body, "validation_failed");
      const badLimit = await get("?limit=1000");
      expect(badLimit.status).to.equal(400);
      const unknown = await api.get("/api/v1/projects/nope/deploys").set("Authorization", `Bearer ${token}`);
      expect(unknown.status).to.equal(404);
    });
  });

  describe("organization isolation", () => {
    it("when a token of organization A is used, then it can neither read nor write organization B's deploys", async () => {
      app = await startTestApp();
      const a = await seedDeployProject(app);
      const b = await seedDeployProject(app, { org: { orgName: "Beta", email: "b@example.com", password: "beta password" }, slug: "billing" });
      const bDeploy = await b.postDeploy({ project: "billing", environment: "production", version: SHA_B });
      expect(bDeploy.status).to.equal(201);
      // A cannot reach B's project by slug, nor B's deploy by id (404: ids reveal nothing).
      const post = await a.postDeploy({ project: "billing", environment: "production", version: SHA_A });
      expect(post.status).to.equal(404);
      const read = await a.api.get(`/api/v1/deploys/${bDeploy.body.id}`).set("Authorization", `Bearer ${a.token}`);
      expect(read.status).to.equal(404);
      const list = await a.api.get("/api/v1/projects/billing/deploys").set("Authorization", `Bearer ${a.token}`);
      expect(list.status).to.equal(404);
      const rows = await app.db.dataSource.query(`SELECT organization_id FROM deploys`);
      expect(rows).to.deep.equal([{ organization_id: b.organization.id }]);
    });
  });
});
