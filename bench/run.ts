/**
 * `npm run bench`: the performance claims of the README, measured in one run on this machine and
 * reported as ratios (never absolute timings in tests).
 *
 * 1. Sentry traffic: calls per engine tick with many deploys over few impact sources, against the
 *    simulator — the ratio to what asking once per deploy would cost.
 * 2. Deploy list pagination: the time to read the deepest page of 100,000 deploys over the time to
 *    read the first page (keyset pagination keeps it near 1; OFFSET would grow with depth).
 */
import "reflect-metadata";
import { performance } from "node:perf_hooks";
import supertest from "supertest";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { startAftershock } from "../src/main.js";
import { openDatabase } from "../src/db/database.js";
import { allEntities } from "../src/main.js";
import { startSentrySimulator } from "../tools/sentry-simulator/index.js";

const MINUTE = 60_000;

async function main(): Promise<void> {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL || null, dataDir: null, entities: allEntities });
  const clock = { now: Date.UTC(2026, 10, 20, 12, 0, 0) };
  const sim = await startSentrySimulator({ now: () => clock.now });
  const config = loadConfig({ PORT: "0", SECRET_KEY: "bench-secret-key-bench-secret-key-bench", LOG_LEVEL: "silent", SENTRY_URL: sim.url });
  const app = await startAftershock({ config, db, logger: createLogger("silent"), scheduler: false, overrides: { now: () => clock.now } });
  try {
    const { organization, userId } = await app.services.accounts.createOrganizationWithAdmin({ orgName: "Bench", email: "bench@example.com", password: "bench password" });
    const principal = (await app.services.accounts.principalForUser(userId, organization.id))!;
    const { token } = await app.services.accounts.createApiToken(principal, { name: "bench", role: "admin" });
    sim.addOrganization({ slug: "bench" });
    sim.addToken({ token: "sntrys_bench", scopes: ["org:read", "project:read", "event:read"] });
    const SOURCES = 5;
    const DEPLOYS = 500;
    for (let i = 0; i < SOURCES; i++) {
      sim.addProject("bench", { slug: `s${i}`, environments: ["production"] });
      sim.setErrorStream("bench", `s${i}`, "production", { seed: i, baseRatePerMinute: 2 });
    }
    await app.services.sentry.connectWithToken(organization.id, null, { token: "sntrys_bench", organization: "bench" });
    for (let i = 0; i < SOURCES; i++) {
      await app.services.projects.createProject(principal, { name: `svc${i}`, slug: `svc${i}`, environments: ["production"] });
      await app.services.projects.createImpactSource(principal, `svc${i}`, { sentryProject: `s${i}`, sentryEnvironment: "production" });
    }
    const api = supertest(app.server);
    for (let i = 0; i < DEPLOYS; i++) {
      await api
        .post("/api/v1/deploys")
        .set("Authorization", `Bearer ${token}`)
        .send({ project: `svc${i % SOURCES}`, environment: "production", version: `v${i}`, timestamp: new Date(clock.now - 50 * MINUTE + i * 6000).toISOString() });
    }
    const TICKS = 5;
    sim.resetRequests();
    let tickMs = 0;
    for (let t = 0; t < TICKS; t++) {
      clock.now += MINUTE;
      const started = performance.now();
      await app.services.impact.engine.tick();
      tickMs += performance.now() - started;
    }
    const calls = sim.countRequests((r) => r.path.includes("events-stats") || r.path.includes("/issues/"));
    console.log(`Sentry calls: ${calls} over ${TICKS} ticks with ${DEPLOYS} open deploys on ${SOURCES} sources`);
    console.log(`  ratio to one call per deploy per tick: ${(calls / (DEPLOYS * TICKS)).toFixed(4)} (${((DEPLOYS * TICKS) / Math.max(calls, 1)).toFixed(0)}× fewer)`);
    console.log(`  mean tick: ${(tickMs / TICKS).toFixed(0)} ms (${db.mode} PostgreSQL)`);

    // Pagination depth: 100,000 deploys on one project, inserted in bulk.
    const project = await app.services.projects.getProjectBySlug(organization.id, "svc0");
    await db.dataSource.query(
      `INSERT INTO deploys (organization_id, project_id, environment, version, deployed_at, source)
       SELECT $1, $2, 'production', 'bulk-' || g, $3::timestamptz - make_interval(secs => g * 60), 'native'
         FROM generate_series(1, 100000) AS g`,
      [organization.id, project.id, new Date(clock.now - 2 * 3600_000)],
    );
    const readPage = async (cursor: string | null) => {
      const started = performance.now();
      const page = await app.services.deploys.listProjectDeploys(organization.id, "svc0", { cursor, limit: 50 });
      return { ms: performance.now() - started, next: page.nextCursor };
    };
    const firstTimes: number[] = [];
    for (let i = 0; i < 5; i++) firstTimes.push((await readPage(null)).ms);
    // Walk to a deep page through real cursors (sampled: every page read would take long).
    let cursor: string | null = null;
    const sampled: number[] = [];
    for (let page = 0; page < 2000; page++) {
      const r = await readPage(cursor);
      if (page >= 1990) sampled.push(r.ms);
      cursor = r.next;
      if (!cursor) break;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`Deploy list: page 2,000 of 100,000 deploys vs page 1: ${(median(sampled) / median(firstTimes)).toFixed(2)}× the time (median ${median(firstTimes).toFixed(1)} ms vs ${median(sampled).toFixed(1)} ms)`);
  } finally {
    await app.close();
    await sim.close();
    await db.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
