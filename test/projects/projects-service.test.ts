import { expect } from "chai";
import type { RunningAftershock } from "../../src/main.js";
import { ProjectsService, type ProjectView } from "../../src/projects/projects-service.js";
import type { SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { seedOrganization, startTestApp } from "../support/test-app.js";
import { connectSentry, SENTRY_TOKEN, startSentry } from "./fixtures.js";

async function refused(promise: Promise<unknown>): Promise<{ statusCode: number; code: string; message: string; details: unknown[] }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error("expected a refusal");
}

describe("projects service", () => {
  let app: RunningAftershock;
  let sentry: SentrySimulator | null = null;
  afterEach(async () => {
    await sentry?.close();
    sentry = null;
    await app?.close();
  });

  async function setup() {
    app = await startTestApp();
    sentry = await startSentry();
    const seeded = await seedOrganization(app);
    await connectSentry(app, seeded.organization.id, sentry);
    const projects = app.services.projects;
    const project = await projects.createProject(seeded.principal, { name: "Checkout API", environments: ["production", "staging", "canary"] });
    return { ...seeded, projects, project, org: seeded.organization.id };
  }

  describe("impactSourcesForDeploy", () => {
    it("when a deploy lands in an environment, then only the enabled, mapped sources that apply to it are returned", async () => {
      const { projects, principal, project, org } = await setup();
      const all = await projects.createImpactSource(principal, "checkout-api", { sentryProject: "backend", sentryEnvironment: "production" });
      const stagingOnly = await projects.createImpactSource(principal, "checkout-api", {
        sentryProject: "frontend",
        sentryEnvironment: "staging",
        environments: ["staging"],
      });
      const disabled = await projects.createImpactSource(principal, "checkout-api", { sentryProject: "worker", sentryEnvironment: "production", enabled: false });
      const names = async (environment: string) => (await projects.impactSourcesForDeploy(org, project.id, environment)).map((s) => s.id);
      expect(await names("production")).to.deep.equal([all.id]);
      expect(await names("staging")).to.deep.equal([all.id, stagingOnly.id]);
      expect(await names("canary")).to.deep.equal([all.id]);
      await projects.updateImpactSource(principal, "checkout-api", disabled.id, { enabled: true });
      expect(await names("production")).to.deep.equal([all.id, disabled.id]);
      // Another organization asking with this project's id gets nothing.
      const b = await seedOrganization(app, { orgName: "Beta", email: "b@example.com", password: "beta password" });
      expect(await projects.impactSourcesForDeploy(b.organization.id, project.id, "production")).to.deep.equal([]);
      expect(await projects.impactSourcesForDeploy(org, "not-a-uuid", "production")).to.deep.equal([]);
    });
  });

  describe("Sentry disconnect", () => {
    it("when Sentry is disconnected, then every source loses its mapping in the same transaction and stops applying to deploys", async () => {
      const { projects, principal, project, org } = await setup();
      const a = await projects.createImpactSource(principal, "checkout-api", { sentryProject: "backend", sentryEnvironment: "production" });
      await projects.createImpactSource(principal, "checkout-api", { sentryProject: "frontend", sentryEnvironment: "production" });
      const removed = await app.services.sentry.disconnect(org);
      expect(removed.find((r) => r.label === "Impact sources' Sentry mappings")?.count).to.equal(2);
      const sources = await projects.listImpactSources(org, project.id);
      expect(sources.map((s) => [s.sentryProjectId, s.sentryProjectSlug])).to.deep.equal([
        [null, null],
        [null, null],
      ]);
      expect(sources.map((s) => s.name)).to.deep.equal(["backend · production", "frontend · production"]);
      expect(await projects.impactSourcesForDeploy(org, project.id, "production")).to.deep.equal([]);
      // Disabling or renaming still works while disconnected; remapping needs Sentry again.
      expect((await projects.updateImpactSource(principal, "checkout-api", a.id, { enabled: false })).enabled).to.equal(false);
      expect((await refused(projects.updateImpactSource(principal, "checkout-api", a.id, { sentryProject: "backend" }))).statusCode).to.equal(409);
      await connectSentry(app, org, sentry!);
      const remapped = await projects.updateImpactSource(principal, "checkout-api", a.id, { sentryProject: "backend", enabled: true });
      expect(remapped).to.include({ sentryProjectId: "4501", sentryProjectSlug: "backend", name: "backend · production" });
      expect((await projects.impactSourcesForDeploy(org, project.id, "production")).map((s) => s.id)).to.deep.equal([a.id]);
    });
  });

  describe("Sentry choices for the Add impact form", () => {
    it("when Sentry is connected, then its projects come sorted with the union of their environments", async () => {
      const { projects, org } = await setup();
      const choices = await projects.sentryChoices(org);
      expect(choices.status).to.equal("connected");
      expect(choices.projects.map((p) => p.slug)).to.deep.equal(["backend", "frontend", "worker"]);
      expect(choices.environments).to.deep.equal(["preview", "production", "staging"]);
    });

    it("when Sentry answers too slowly, then the form says so instead of hanging the page", async () => {
      const { org } = await setup();
      const impatient = new ProjectsService(app.db.dataSource, app.services.sentry, { sentryChoicesTimeoutMs: 300 });
      sentry!.injectFault({ kind: "slow", delayMs: 3000, pathIncludes: "/projects/", times: 5 });
      const started = Date.now();
      const choices = await impatient.sentryChoices(org);
      expect(Date.now() - started).to.be.lessThan(2000);
      expect(choices).to.deep.include({ status: "error", projects: [], environments: [] });
      expect((choices as { message: string }).message).to.equal("Sentry did not list its projects within 1 s; reload the page to try again.");
      sentry!.clearFaults();
    });

    it("when the token was revoked in Sentry, then the form asks for a reconnect on the Integrations page", async () => {
      const { projects, org } = await setup();
      sentry!.revokeToken(SENTRY_TOKEN);
      const choices = await projects.sentryChoices(org);
      expect(choices.status).to.equal("needs_reconnect");
      expect((choices as { message: string }).message).to.contain("(/integrations)");
      // From then on the connection itself says it needs a reconnect, without asking Sentry.
      const again = await projects.sentryChoices(org);
      expect(again.status).to.equal("needs_reconnect");
    });
  });

  describe("environments", () => {
    it("when an environment is removed, then sources limited to it lose it, and a source limited to it alone blocks the removal", async () => {
      const { projects, principal, project, org } = await setup();
      const two = await projects.createImpactSource(principal, "checkout-api", {
        sentryProject: "backend",
        sentryEnvironment: "production",
        environments: ["canary", "production"],
      });
      expect(two.environments).to.deep.equal(["production", "canary"]);
      const only = await projects.createImpactSource(principal, "checkout-api", { sentryProject: "frontend", sentryEnvironment: "staging", environments: ["staging"] });
      const after: ProjectView = await projects.removeEnvironment(principal, "checkout-api", "canary");
      expect(after.environments).to.deep.equal(["production", "staging"]);
      expect((await projects.getImpactSource(org, two.id)).environments).to.deep.equal(["production"]);

      const blocked = await refused(projects.removeEnvironment(principal, "checkout-api", "staging"));
      expect(blocked.statusCode).to.equal(409);
      expect(blocked.message).to.contain(`"${only.name}" applies only to "staging"`);
      expect((await projects.getProjectById(org, project.id)).environments).to.deep.equal(["production", "staging"]);
      // The same rule through the API's replace-the-list update: nothing partial is saved.
      const replaced = await refused(projects.updateProject(principal, "checkout-api", { name: "Renamed", environments: ["production"] }));
      expect(replaced.statusCode).to.equal(409);
      expect(await projects.getProjectById(org, project.id)).to.include({ name: "Checkout API" });
      expect((await refused(projects.removeEnvironment(principal, "checkout-api", "qa"))).statusCode).to.equal(404);
    });

    it("when more environments than allowed are added, then the last is refused", async () => {
      const { projects, principal } = await setup();
      for (let i = 3; i < 50; i++) await projects.addEnvironment(principal, "checkout-api", `env-${i}`);
      const error = await refused(projects.addEnvironment(principal, "checkout-api", "one-too-many"));
      expect(error.statusCode).to.equal(400);
      expect(error.details).to.deep.equal([{ field: "environment", message: "A project can have at most 50 environments." }]);
    });
  });

  describe("lookups and permissions", () => {
    it("when ids are malformed or of another organization, then not found (never a database error)", async () => {
      const { projects, principal, project } = await setup();
      const b = await seedOrganization(app, { orgName: "Beta", email: "b@example.com", password: "beta password" });
      expect((await refused(projects.getProjectById(principal.organizationId, "x"))).statusCode).to.equal(404);
      expect((await refused(projects.getProjectById(b.organization.id, project.id))).statusCode).to.equal(404);
      expect((await refused(projects.getImpactSource(principal.organizationId, "'; drop table projects"))).statusCode).to.equal(404);
      expect(await projects.findProjectBySlug(b.organization.id, "checkout-api")).to.equal(null);
      expect((await refused(projects.getProjectBySlug(b.organization.id, "checkout-api"))).message).to.equal('No project "checkout-api" in your organization.');
      expect(await projects.listImpactSources(principal.organizationId, "nope")).to.deep.equal([]);
    });

    it("when a member calls a write, then 403 whatever the input", async () => {
      const { projects, principal } = await setup();
      await app.services.accounts.addMember(principal, { email: "dev@example.com", password: "member password", role: "member" });
      const verified = (await app.services.accounts.verifyLogin("dev@example.com", "member password"))!;
      const member = (await app.services.accounts.principalForUser(verified.userId, principal.organizationId))!;
      for (const attempt of [
        projects.createProject(member, { name: "" }),
        projects.renameProject(member, "checkout-api", "x"),
        projects.archiveProject(member, "checkout-api"),
        projects.addEnvironment(member, "checkout-api", "qa"),
        projects.removeEnvironment(member, "checkout-api", "production"),
        projects.createImpactSource(member, "checkout-api", { sentryProject: "backend", sentryEnvironment: "production" }),
      ]) {
        expect((await refused(attempt)).statusCode).to.equal(403);
      }
    });
  });

  describe("races", () => {
    it("when two admins add the same mapping at once, then exactly one is saved and the other gets the duplicate conflict", async () => {
      const { projects, principal, project, org } = await setup();
      const input = { sentryProject: "backend", sentryEnvironment: "production" };
      const results = await Promise.allSettled([
        projects.createImpactSource(principal, "checkout-api", input),
        projects.createImpactSource(principal, "checkout-api", input),
        projects.createImpactSource(principal, "checkout-api", input),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
      for (const r of results.filter((r): r is PromiseRejectedResult => r.status === "rejected")) {
        expect(r.reason.statusCode).to.equal(409);
        expect(r.reason.message).to.contain('for Sentry project "backend" in environment "production"');
      }
      expect(await projects.listImpactSources(org, project.id)).to.have.length(1);
    });

    it("when two admins create the same project slug at once, then one wins and the other gets 409", async () => {
      const { projects, principal } = await setup();
      const results = await Promise.allSettled([
        projects.createProject(principal, { name: "Payments" }),
        projects.createProject(principal, { name: "payments" }),
      ]);
      expect(results.map((r) => r.status).sort()).to.deep.equal(["fulfilled", "rejected"]);
      const loser = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
      expect(loser.reason.statusCode).to.equal(409);
    });
  });
});
