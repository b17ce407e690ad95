import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { startSentrySimulator, type SentrySimulator } from "../../tools/sentry-simulator/index.js";
import type { ErrorStreamConfig } from "../../tools/sentry-simulator/index.js";
import { seedOrganization, startTestApp } from "../support/test-app.js";

export const SENTRY_TOKEN = "sntrys_engine_test_token";
export const MINUTE = 60_000;
/** A fixed, minute-aligned start so runs are reproducible. */
export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

export interface EngineWorld {
  sim: SentrySimulator;
  app: RunningAftershock;
  clock: { now: number };
  apiToken: string;
  organizationId: string;
  /** Posts a deploy through the native webhook; answers the deploy id. */
  deploy(input: { project?: string; version: string; at: number; environment?: string }): Promise<string>;
  deployObject(id: string): Promise<any>;
  close(): Promise<void>;
}

/**
 * The whole stack against the simulator with one shared fake clock: Sentry's "now" and Aftershock's
 * move together, so hours of history and windows run in milliseconds.
 */
export async function engineWorld(options: {
  sources?: Array<{ project: string; sentryProject: string; stream: ErrorStreamConfig; sensitivity?: "low" | "medium" | "high" }>;
  reset?: boolean;
} = {}): Promise<EngineWorld> {
  const clock = { now: T0 };
  const sim = await startSentrySimulator({ now: () => clock.now });
  sim.addOrganization({ slug: "acme-sentry", name: "Acme" });
  sim.addToken({ token: SENTRY_TOKEN, scopes: ["org:read", "project:read", "event:read"] });
  const sources = options.sources ?? [];
  sources.forEach((s, i) => {
    sim.addProject("acme-sentry", { slug: s.sentryProject, id: String(100 + i), environments: ["production"] });
    sim.setErrorStream("acme-sentry", s.sentryProject, "production", s.stream);
  });
  const app = await startTestApp({
    reset: options.reset,
    env: { SENTRY_URL: sim.url },
    overrides: { now: () => clock.now, sentryClientOptions: { timeoutMs: 2000, maxRetries: 2, retryBaseDelayMs: 5 } },
  });
  const { principal, token, organization } = await seedOrganization(app);
  await app.services.sentry.connectWithToken(organization.id, "admin@example.com", { token: SENTRY_TOKEN, organization: "acme-sentry" });
  const projects = new Set(sources.map((s) => s.project));
  for (const project of projects) await app.services.projects.createProject(principal, { name: project, slug: project, environments: ["production"] });
  for (const s of sources) {
    await app.services.projects.createImpactSource(principal, s.project, {
      sentryProject: s.sentryProject,
      sentryEnvironment: "production",
      sensitivity: s.sensitivity ?? "medium",
    });
  }
  const api = supertest(app.server);
  return {
    sim,
    app,
    clock,
    apiToken: token,
    organizationId: organization.id,
    async deploy(input) {
      const res = await api
        .post("/api/v1/deploys")
        .set("Authorization", `Bearer ${token}`)
        .send({ project: input.project ?? sources[0]!.project, environment: input.environment ?? "production", version: input.version, timestamp: new Date(input.at).toISOString() });
      if (res.status !== 201) throw new Error(`deploy refused: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async deployObject(id) {
      const res = await api.get(`/api/v1/deploys/${id}`).set("Authorization", `Bearer ${token}`);
      if (res.status !== 200) throw new Error(`deploy ${id}: ${res.status}`);
      return res.body;
    },
    async close() {
      await app.close();
      await sim.close();
    },
  };
}

/** Advances the shared clock minute by minute, ticking the engine each minute, like the cron would. */
export async function runMinutes(world: EngineWorld, minutes: number): Promise<void> {
  for (let i = 0; i < minutes; i++) {
    world.clock.now += MINUTE;
    await world.app.services.impact.engine.tick();
  }
}
