import { expect } from "chai";
import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import type { SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { connectSentry, startSentry } from "../projects/fixtures.js";
import { seedOrganization, startTestApp } from "../support/test-app.js";

describe("projects API", () => {
  let app: RunningAftershock;
  let sentry: SentrySimulator | null = null;
  afterEach(async () => {
    await sentry?.close();
    sentry = null;
    await app?.close();
  });

  const api = () => supertest(app.server);
  const as = (token: string) => ({
    get: (path: string) => api().get(path).set("Authorization", `Bearer ${token}`),
    post: (path: string, body?: unknown) => api().post(path).set("Authorization", `Bearer ${token}`).send(body as object),
    patch: (path: string, body?: unknown) => api().patch(path).set("Authorization", `Bearer ${token}`).send(body as object),
    delete: (path: string) => api().delete(path).set("Authorization", `Bearer ${token}`),
  });

  async function connected() {
    app = await startTestApp();
    sentry = await startSentry();
    const seeded = await seedOrganization(app);
    await connectSentry(app, seeded.organization.id, sentry);
    const admin = as(seeded.token);
    expect((await admin.post("/api/v1/projects", { name: "Checkout API", environments: ["production", "staging"] })).status).to.equal(201);
    return { ...seeded, admin };
  }

  function expectValidation(res: supertest.Response, status: number, fields: Record<string, RegExp | string>) {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.body.error.code).to.equal("validation_failed");
    const details = res.body.error.details as Array<{ field: string; message: string }>;
    for (const [field, pattern] of Object.entries(fields)) {
      const detail = details.find((d) => d.field === field);
      expect(detail, `${field} in ${JSON.stringify(details)}`).to.not.equal(undefined);
      if (typeof pattern === "string") expect(detail!.message).to.equal(pattern);
      else expect(detail!.message).to.match(pattern);
    }
    expect(details.map((d) => d.field).sort()).to.deep.equal(Object.keys(fields).sort());
  }

  describe("projects", () => {
    it("when an admin token posts a project, then 201 with slug, name and environments, and GET lists it", async () => {
      app = await startTestApp();
      const { token } = await seedOrganization(app);
      const admin = as(token);
      const created = await admin.post("/api/v1/projects", { name: "Checkout API", environments: ["production", " staging "] });
      expect(created.status).to.equal(201);
      expect(created.headers.location).to.equal("/api/v1/projects/checkout-api");
      expect(created.body).to.include({ slug: "checkout-api", name: "Checkout API", defaultEnvironment: "production", archived: false });
      expect(created.body.environments).to.deep.equal(["production", "staging"]);
      const given = await admin.post("/api/v1/projects", { name: "Édition Spéciale", slug: "special" });
      expect(given.status).to.equal(201);
      expect(given.body).to.include({ slug: "special", name: "Édition Spéciale" });
      expect(given.body.environments).to.deep.equal([]);
      const derived = await admin.post("/api/v1/projects", { name: "Édition Spéciale" });
      expect(derived.body.slug).to.equal("edition-speciale");

      const list = await admin.get("/api/v1/projects");
      expect(list.status).to.equal(200);
      expect(list.body.map((p: { slug: string }) => p.slug)).to.deep.equal(["checkout-api", "edition-speciale", "special"]);
      expect(list.body[0]).to.deep.include({ slug: "checkout-api", name: "Checkout API", environments: ["production", "staging"] });
      const one = await admin.get("/api/v1/projects/checkout-api");
      expect(one.body.slug).to.equal("checkout-api");
    });

    it("when the body is invalid, then 400 validation_failed with one detail per bad field, and nothing is saved", async () => {
      app = await startTestApp();
      const { token, principal } = await seedOrganization(app);
      const admin = as(token);
      expectValidation(await admin.post("/api/v1/projects", {}), 400, { name: "Name is required." });
      expectValidation(await admin.post("/api/v1/projects", { name: 42 }), 400, { name: "Name must be text." });
      expectValidation(
        await admin.post("/api/v1/projects", {
          name: "x".repeat(101),
          slug: "Bad Slug",
          environments: ["production", "", "e".repeat(65), "tab\there", "Production"],
          environment: "typo",
        }),
        400,
        {
          name: /at most 100 characters \(this one has 101\)/,
          slug: /lowercase letters, digits and single dashes/,
          "environments[1]": /cannot be empty/,
          "environments[2]": /at most 64 characters/,
          "environments[3]": /control characters/,
          "environments[4]": '"Production" is listed twice.',
          environment: 'Unknown field "environment".',
        },
      );
      expectValidation(await admin.post("/api/v1/projects", { name: "A", environments: "production" }), 400, {
        environments: "Environments must be a list of names.",
      });
      const array = await api().post("/api/v1/projects").set("Authorization", `Bearer ${token}`).send([{ name: "A" }]);
      expectValidation(array, 400, { body: "Send a JSON object." });
      const broken = await api().post("/api/v1/projects").set("Authorization", `Bearer ${token}`).type("json").send('{"name": ');
      expect(broken.status).to.equal(400);
      expect(broken.body.error.code).to.equal("validation_failed");
      expect(await app.services.projects.listProjects(principal.organizationId, { includeArchived: true })).to.deep.equal([]);
    });

    it("when the slug is taken, then 409 conflict naming it", async () => {
      app = await startTestApp();
      const { token } = await seedOrganization(app);
      const admin = as(token);
      await admin.post("/api/v1/projects", { name: "Checkout API" });
      const again = await admin.post("/api/v1/projects", { name: "checkout api" });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal("conflict");
      expect(again.body.error.message).to.equal('A project with the slug "checkout-api" already exists in your organization ("Checkout API"). Choose another slug.');
      expect(again.body.error.details[0].field).to.equal("slug");
    });

    it("when a project is patched, then it is renamed, archived (and hidden from the list) and its environments replaced", async () => {
      app = await startTestApp();
      const { token } = await seedOrganization(app);
      const admin = as(token);
      await admin.post("/api/v1/projects", { name: "Checkout API", environments: ["production"] });
      const renamed = await admin.patch("/api/v1/projects/checkout-api", { name: "Checkout", environments: ["production", "staging"] });
      expect(renamed.status).to.equal(200);
      expect(renamed.body).to.deep.include({ slug: "checkout-api", name: "Checkout", environments: ["production", "staging"] });
      const archived = await admin.patch("/api/v1/projects/checkout-api", { archived: true });
      expect(archived.body.archived).to.equal(true);
      expect((await admin.get("/api/v1/projects")).body).to.deep.equal([]);
      expect((await admin.get("/api/v1/projects?includeArchived=true")).body.map((p: { slug: string }) => p.slug)).to.deep.equal(["checkout-api"]);
      expectValidation(await admin.patch("/api/v1/projects/checkout-api", { archived: "yes" }), 400, { archived: /true or false/ });
      expect((await admin.patch("/api/v1/projects/nope", { name: "x" })).status).to.equal(404);
    });
  });

  describe("impact sources", () => {
    it("when an admin maps a Sentry project by slug or by id, then 201 with the id and the mapping, and GET/PATCH/DELETE work", async () => {
      const { admin } = await connected();
      const base = "/api/v1/projects/checkout-api/impact-sources";
      const bySlug = await admin.post(base, { sentryProject: "backend", sentryEnvironment: "eu-production" });
      expect(bySlug.status).to.equal(201);
      expect(bySlug.body.id).to.match(/^[0-9a-f-]{36}$/);
      expect(bySlug.headers.location).to.equal(`${base}/${bySlug.body.id}`);
      expect(bySlug.body).to.deep.include({
        name: "backend · eu-production",
        sentryProject: { id: "4501", slug: "backend" },
        sentryEnvironment: "eu-production",
        environments: null,
        sensitivity: "medium",
        enabled: true,
      });
      const byId = await admin.post(base, { sentryProject: "4502", sentryEnvironment: "production", environments: ["production"], sensitivity: "high", name: "Web" });
      expect(byId.status).to.equal(201);
      expect(byId.body).to.deep.include({ name: "Web", sentryProject: { id: "4502", slug: "frontend" }, environments: ["production"], sensitivity: "high" });

      const list = await admin.get(base);
      expect(list.body.map((s: { name: string }) => s.name)).to.deep.equal(["backend · eu-production", "Web"]);
      expect((await admin.get(`${base}/${byId.body.id}`)).body.name).to.equal("Web");

      const patched = await admin.patch(`${base}/${byId.body.id}`, { sensitivity: "low", enabled: false, environments: ["staging", "production"] });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.deep.include({ sensitivity: "low", enabled: false, environments: ["production", "staging"], name: "Web" });
      const remapped = await admin.patch(`${base}/${bySlug.body.id}`, { sentryProject: "worker", environments: [] });
      expect(remapped.body).to.deep.include({ name: "worker · eu-production", sentryProject: { id: "4503", slug: "worker" }, environments: null });

      const deleted = await admin.delete(`${base}/${byId.body.id}`);
      expect(deleted.status).to.equal(204);
      expect((await admin.get(`${base}/${byId.body.id}`)).status).to.equal(404);
      expect((await admin.delete(`${base}/${byId.body.id}`)).status).to.equal(404);
      expect((await admin.get(`${base}/not-a-uuid`)).status).to.equal(404);
    });

    it("when the source is invalid, then the same validation errors as the pages: 400, 422 for unknown names, 409 for a duplicate", async () => {
      const { admin, principal } = await connected();
      const base = "/api/v1/projects/checkout-api/impact-sources";
      expectValidation(await admin.post(base, {}), 400, { sentryProject: "Sentry project is required.", sentryEnvironment: "Sentry environment is required." });
      expectValidation(
        await admin.post(base, { sentryProject: "backend", sentryEnvironment: " ", sensitivity: "extreme", name: "n".repeat(121), environments: ["production", "production"] }),
        400,
        {
          sentryEnvironment: /cannot be empty/,
          sensitivity: "Sensitivity must be low, medium or high.",
          name: /at most 120 characters/,
          "environments[1]": '"production" is listed twice.',
        },
      );
      expectValidation(await admin.post(base, { sentryProject: "backend", sentryEnvironment: "e".repeat(65) }), 400, {
        sentryEnvironment: /at most 64 characters/,
      });
      const unknown = await admin.post(base, { sentryProject: "nope", sentryEnvironment: "production", environments: ["qa"] });
      expectValidation(unknown, 422, {
        sentryProject: 'Sentry has no project "nope" in the connected organization. Projects there: backend, frontend, worker.',
        environments: 'Checkout API has no environment "qa". It has: production, staging.',
      });
      expect(unknown.body.error.message).to.contain('"nope"');
      expect((await admin.post(base, { sentryProject: "backend", sentryEnvironment: "production" })).status).to.equal(201);
      const duplicate = await admin.post(base, { sentryProject: "4501", sentryEnvironment: "production", name: "Other name" });
      expect(duplicate.status).to.equal(409);
      expect(duplicate.body.error.code).to.equal("conflict");
      expect(duplicate.body.error.message).to.contain('for Sentry project "backend" in environment "production"');
      // Case matters to Sentry: "Production" is another environment.
      expect((await admin.post(base, { sentryProject: "backend", sentryEnvironment: "Production" })).status).to.equal(201);
      // Changing another source into a duplicate is refused the same way.
      const other = await admin.post(base, { sentryProject: "frontend", sentryEnvironment: "production" });
      const clash = await admin.patch(`${base}/${other.body.id}`, { sentryProject: "backend" });
      expect(clash.status).to.equal(409);
      expect((await admin.get(`${base}/${other.body.id}`)).body.sentryProject.slug).to.equal("frontend");
      const project = await app.services.projects.getProjectBySlug(principal.organizationId, "checkout-api");
      expect(await app.services.projects.listImpactSources(principal.organizationId, project.id)).to.have.length(3);
      expect((await admin.post("/api/v1/projects/nope/impact-sources", { sentryProject: "backend", sentryEnvironment: "production" })).status).to.equal(404);
    });

    it("when Sentry is not connected, then 409 pointing at the Integrations page, and nothing is saved", async () => {
      app = await startTestApp();
      const { token } = await seedOrganization(app);
      const admin = as(token);
      await admin.post("/api/v1/projects", { name: "Checkout API", environments: ["production"] });
      const res = await admin.post("/api/v1/projects/checkout-api/impact-sources", { sentryProject: "backend", sentryEnvironment: "production" });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("sentry_not_connected");
      expect(res.body.error.message).to.match(/not connected.*Integrations page/);
      expect((await admin.get("/api/v1/projects/checkout-api/impact-sources")).body).to.deep.equal([]);
    });

    it("when Sentry rejects the stored token, then 409 asking to reconnect", async () => {
      const { admin } = await connected();
      sentry!.revokeToken("sntrys_projects-test-token-0123456789");
      const res = await admin.post("/api/v1/projects/checkout-api/impact-sources", { sentryProject: "backend", sentryEnvironment: "production" });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("sentry_needs_reconnect");
      expect(res.body.error.message).to.contain("/integrations");
    });
  });

  describe("roles and isolation", () => {
    it("when a member token writes, then 403; it can read", async () => {
      const { admin, principal } = await connected();
      const source = await admin.post("/api/v1/projects/checkout-api/impact-sources", { sentryProject: "backend", sentryEnvironment: "production" });
      const { token: memberToken } = await app.services.accounts.createApiToken(principal, { name: "ci", role: "member" });
      const member = as(memberToken);
      expect((await member.get("/api/v1/projects")).status).to.equal(200);
      expect((await member.get("/api/v1/projects/checkout-api/impact-sources")).body).to.have.length(1);
      const base = "/api/v1/projects/checkout-api/impact-sources";
      for (const res of [
        await member.post("/api/v1/projects", { name: "Member" }),
        await member.patch("/api/v1/projects/checkout-api", { name: "Renamed" }),
        await member.post(base, { sentryProject: "frontend", sentryEnvironment: "production" }),
        await member.patch(`${base}/${source.body.id}`, { enabled: false }),
        await member.delete(`${base}/${source.body.id}`),
      ]) {
        expect(res.status).to.equal(403);
        expect(res.body.error.code).to.equal("forbidden");
      }
      expect((await admin.get(`${base}/${source.body.id}`)).body.enabled).to.equal(true);
    });

    it("when organization B's token names organization A's project or source, then 404, and A's data is untouched", async () => {
      const { admin } = await connected();
      const source = await admin.post("/api/v1/projects/checkout-api/impact-sources", { sentryProject: "backend", sentryEnvironment: "production" });
      const b = await seedOrganization(app, { orgName: "Beta", email: "b@example.com", password: "beta password" });
      const other = as(b.token);
      expect((await other.get("/api/v1/projects")).body).to.deep.equal([]);
      expect((await other.get("/api/v1/projects/checkout-api")).status).to.equal(404);
      expect((await other.get("/api/v1/projects/checkout-api/impact-sources")).status).to.equal(404);
      expect((await other.patch("/api/v1/projects/checkout-api", { name: "Mine" })).status).to.equal(404);
      // Even with a project of the same slug in B, A's source id is not found there.
      expect((await other.post("/api/v1/projects", { name: "Checkout API", environments: ["production"] })).status).to.equal(201);
      const base = "/api/v1/projects/checkout-api/impact-sources";
      expect((await other.get(`${base}/${source.body.id}`)).status).to.equal(404);
      expect((await other.patch(`${base}/${source.body.id}`, { enabled: false })).status).to.equal(404);
      expect((await other.delete(`${base}/${source.body.id}`)).status).to.equal(404);
      // B has no Sentry connection: A's connection is never used for B.
      const bSource = await other.post(base, { sentryProject: "backend", sentryEnvironment: "production" });
      expect(bSource.status).to.equal(409);
      expect(bSource.body.error.code).to.equal("sentry_not_connected");
      const still = await admin.get(`${base}/${source.body.id}`);
      expect(still.body).to.deep.include({ enabled: true, sentryProject: { id: "4501", slug: "backend" } });
    });
  });
});
