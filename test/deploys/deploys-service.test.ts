import { expect } from "chai";
import type { DeployRequest } from "../../src/deploys/deploy-request.js";
import type { RunningAftershock } from "../../src/main.js";
import { startTestApp } from "../support/test-app.js";
import { deployRowCount, seedDeployProject, SHA_A, SHA_B, SHA_C } from "./helpers.js";

const HOUR = 3600_000;

function request(overrides: Partial<DeployRequest>): DeployRequest {
  return {
    project: "checkout",
    environment: "production",
    environmentMatch: "exact",
    version: SHA_A,
    timestamp: null,
    startedAt: null,
    author: null,
    name: null,
    url: null,
    tags: [],
    links: {},
    source: "native",
    idempotencyKey: null,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<{ statusCode: number; message: string; details: unknown[] }> {
  try {
    await promise;
  } catch (error) {
    return error as { statusCode: number; message: string; details: unknown[] };
  }
  throw new Error("expected a rejection");
}

describe("deploys service", () => {
  let app: RunningAftershock;
  afterEach(async () => app?.close());

  it("when an environment goes back to a version it ran before, then the new deploy is a rollback and the ones in between are rolled back", async () => {
    app = await startTestApp();
    const { organization } = await seedDeployProject(app);
    const deploys = app.services.deploys;
    const now = Date.now();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR);
    const a = await deploys.register(organization.id, request({ version: SHA_A, timestamp: at(5) }));
    const b = await deploys.register(organization.id, request({ version: SHA_B, timestamp: at(4) }));
    const c = await deploys.register(organization.id, request({ version: SHA_C, timestamp: at(3) }));
    // Staging has its own history: a deploy there is neither a rollback nor rolled back here.
    const staging = await deploys.register(organization.id, request({ environment: "staging", version: SHA_B, timestamp: at(3.5) }));
    const back = await deploys.register(organization.id, request({ version: SHA_A, timestamp: at(2) }));
    expect(back.outcome).to.equal("created");
    expect(back.deploy.rollback).to.equal(true);
    const read = async (id: string) => deploys.getDeploy(organization.id, id);
    expect(await read(a.deploy.id)).to.deep.include({ rollback: false, rolledBack: false });
    expect(await read(b.deploy.id)).to.deep.include({ rolledBack: true, rolledBackBy: back.deploy.id });
    expect(await read(c.deploy.id)).to.deep.include({ rolledBack: true, rolledBackBy: back.deploy.id });
    expect(await read(staging.deploy.id)).to.deep.include({ rollback: false, rolledBack: false });
    // Forward again to B: a rollback past A's return only; C keeps its first mark.
    const forward = await deploys.register(organization.id, request({ version: SHA_B, timestamp: at(1) }));
    expect(forward.deploy.rollback).to.equal(true);
    expect(await read(back.deploy.id)).to.deep.include({ rolledBackBy: forward.deploy.id });
    expect(await read(c.deploy.id)).to.deep.include({ rolledBackBy: back.deploy.id });
  });

  it("when the same version is reported again next to its deploy, then it is a repeat; later on, a new deploy that is no rollback", async () => {
    app = await startTestApp();
    const { organization } = await seedDeployProject(app);
    const deploys = app.services.deploys;
    const now = Date.now();
    const first = await deploys.register(organization.id, request({ version: SHA_A, timestamp: new Date(now - 3 * HOUR) }));
    // Another tool tells of the same deploy, a little earlier or later: the same deploy.
    const earlier = await deploys.register(organization.id, request({ version: SHA_A, timestamp: new Date(now - 3 * HOUR - 60_000), source: "github" }));
    const later = await deploys.register(organization.id, request({ version: SHA_A, timestamp: new Date(now - 3 * HOUR + 120_000), source: "sentry" }));
    expect([earlier.outcome, later.outcome]).to.deep.equal(["repeat", "repeat"]);
    expect(earlier.deploy.id).to.equal(first.deploy.id);
    expect(later.deploy.id).to.equal(first.deploy.id);
    // Re-deploying the live version an hour later is a deploy of its own, not a rollback.
    const redeploy = await deploys.register(organization.id, request({ version: SHA_A, timestamp: new Date(now - 2 * HOUR) }));
    expect(redeploy.outcome).to.equal("created");
    expect(redeploy.deploy.rollback).to.equal(false);
    expect(await deployRowCount(app)).to.equal(2);
  });

  it("when an idempotency key is reused, then the first deploy answers; for another version, 409", async () => {
    app = await startTestApp();
    const { organization } = await seedDeployProject(app);
    const deploys = app.services.deploys;
    const first = await deploys.register(organization.id, request({ idempotencyKey: "run-1" }));
    const again = await deploys.register(organization.id, request({ idempotencyKey: "run-1", timestamp: new Date(Date.now() - 2 * HOUR) }));
    expect(again).to.deep.include({ outcome: "idempotent", created: false });
    expect(again.deploy.id).to.equal(first.deploy.id);
    const conflict = await rejection(deploys.register(organization.id, request({ idempotencyKey: "run-1", version: SHA_B })));
    expect(conflict.statusCode).to.equal(409);
    expect(conflict.message).to.contain(first.deploy.id);
    expect(await deployRowCount(app)).to.equal(1);
  });

  it("when deploys are registered, then deploy.created is emitted once per new deploy, after it can be read", async () => {
    app = await startTestApp();
    const { organization, project } = await seedDeployProject(app);
    const seen: Array<{ deployId: string; readable: boolean }> = [];
    const pending: Promise<void>[] = [];
    app.services.events.on("deploy.created", (payload) => {
      expect(payload).to.deep.include({ organizationId: organization.id, projectId: project.id, projectSlug: "checkout" });
      pending.push(
        app.services.deploys.getDeploy(organization.id, payload.deployId).then(
          () => void seen.push({ deployId: payload.deployId, readable: true }),
          () => void seen.push({ deployId: payload.deployId, readable: false }),
        ),
      );
    });
    const one = await app.services.deploys.register(organization.id, request({ idempotencyKey: "k" }));
    await app.services.deploys.register(organization.id, request({ idempotencyKey: "k" }));
    await app.services.deploys.register(organization.id, request({}));
    const two = await app.services.deploys.register(organization.id, request({ version: SHA_B }));
    await Promise.all(pending);
    expect(seen).to.deep.equal([
      { deployId: one.deploy.id, readable: true },
      { deployId: two.deploy.id, readable: true },
    ]);
  });

  it("when the project is archived or the environment unknown, then nothing is written and the error says what is valid", async () => {
    app = await startTestApp();
    const { organization, principal } = await seedDeployProject(app);
    const deploys = app.services.deploys;
    const unknown = await rejection(deploys.register(organization.id, request({ environment: "prod" })));
    expect(unknown.statusCode).to.equal(422);
    expect(unknown.message).to.contain('"prod"').and.contain("production, staging");
    // GitHub's names match ignoring case, but only when exactly one environment fits.
    const github = await deploys.register(organization.id, request({ environment: "PRODUCTION", environmentMatch: "ignore-case" }));
    expect(github.deploy.environment).to.equal("production");
    await app.services.projects.archiveProject(principal, "checkout");
    const archived = await rejection(deploys.register(organization.id, request({ version: SHA_B })));
    expect(archived.statusCode).to.equal(422);
    expect(archived.message).to.match(/archived/);
    expect(await deployRowCount(app)).to.equal(1);
  });

  it("when a multi-project registration names one bad project, then no deploy is written for any", async () => {
    app = await startTestApp();
    const { organization, principal } = await seedDeployProject(app);
    await app.services.projects.createProject(principal, { name: "Web", slug: "web", environments: ["production"] });
    const bad = await rejection(
      app.services.deploys.registerAll(organization.id, [request({ project: "checkout" }), request({ project: "nope" })]),
    );
    expect(bad.statusCode).to.equal(404);
    expect(bad.message).to.contain('"nope"');
    expect(await deployRowCount(app)).to.equal(0);
    const both = await app.services.deploys.registerAll(organization.id, [request({ project: "checkout" }), request({ project: "web" })]);
    expect(both.map((r) => r.created)).to.deep.equal([true, true]);
  });

  it("when the impact engine asks, then it gets deploys by id, by registration time, and the next deploy's time", async () => {
    app = await startTestApp();
    const { organization, project } = await seedDeployProject(app);
    const deploys = app.services.deploys;
    const now = Date.now();
    const first = await deploys.register(organization.id, request({ version: SHA_A, timestamp: new Date(now - 2 * HOUR) }));
    const second = await deploys.register(organization.id, request({ version: SHA_B, timestamp: new Date(now - HOUR) }));
    const forImpact = await deploys.getDeployForImpact(organization.id, first.deploy.id);
    expect(forImpact).to.deep.equal({
      id: first.deploy.id,
      organizationId: organization.id,
      projectId: project.id,
      projectSlug: "checkout",
      environment: "production",
      timestamp: now - 2 * HOUR,
    });
    expect(await deploys.getDeployForImpact(organization.id, "not-a-uuid")).to.equal(null);
    expect(await deploys.nextDeployAfter(forImpact!)).to.equal(second.deploy.timestamp.getTime());
    expect(await deploys.nextDeployAfter({ ...forImpact!, id: second.deploy.id, timestamp: now - HOUR })).to.equal(null);
    const recent = await deploys.listDeploysRegisteredSince(new Date(now - 60_000));
    expect(recent.map((d) => d.id)).to.have.members([first.deploy.id, second.deploy.id]);
  });
});
