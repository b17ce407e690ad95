import { expect } from "chai";
import { io as connectClient, type Socket } from "socket.io-client";
import supertest from "supertest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { createLogger } from "../../src/logger.js";
import { allEntities, startAftershock, type RunningAftershock } from "../../src/main.js";
import { seedOrganization, startTestApp, testConfig } from "../support/test-app.js";

/**
 * Two app instances on one real PostgreSQL server: a deploy registered on one reaches a browser
 * connected to the other, through @socket.io/postgres-adapter (LISTEN/NOTIFY). The embedded
 * database has no LISTEN/NOTIFY between connections and runs as one process, so this needs
 * DATABASE_URL: it is registered only in the suite's server pass (CI runs both passes), where it
 * always runs; the embedded pass has nothing of the kind to test.
 */
const onRealServer = Boolean(process.env.DATABASE_URL);

if (onRealServer) {
describe("live server across instances (PostgreSQL adapter)", function () {
  let first: RunningAftershock | null = null;
  let second: RunningAftershock | null = null;
  let secondDb: Database | null = null;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await second?.close();
    await secondDb?.close();
    await first?.close();
    first = second = null;
    secondDb = null;
  });

  it("when a deploy is registered on one instance, then watchers connected to the other instance get it, once, and other organizations' watchers do not", async () => {
    first = await startTestApp();
    // A second instance with its own pool, as another process would have.
    secondDb = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: null, entities: allEntities, poolSize: 4 });
    const config = testConfig();
    second = await startAftershock({ config, db: secondDb, logger: createLogger(config.logLevel), scheduler: false });
    const a = await seedOrganization(first);
    const b = await seedOrganization(first, { email: "b@other.example", password: "another long password", orgName: "Other" });
    await first.services.projects.createProject(a.principal, { name: "Shop", slug: "shop", environments: ["production"] });
    await first.services.projects.createProject(b.principal, { name: "Shop", slug: "shop", environments: ["production"] });

    const received: Array<{ who: string; event: string; id: string }> = [];
    const watchOn = async (app: RunningAftershock, token: string, who: string) => {
      const socket = connectClient(`${app.url}/live`, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { token } });
      sockets.push(socket);
      socket.onAny((event, payload) => received.push({ who, event, id: payload?.id }));
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      expect(await socket.timeout(5000).emitWithAck("watch", { project: "shop" })).to.deep.equal({ ok: true });
    };
    await watchOn(second, a.token, "a-on-second");
    await watchOn(first, a.token, "a-on-first");
    await watchOn(second, b.token, "b-on-second");
    // Let the adapters see each other (heartbeats) before broadcasting.
    await new Promise((r) => setTimeout(r, 300));

    const res = await supertest(first.server).post("/api/v1/deploys").set("Authorization", `Bearer ${a.token}`).send({ project: "shop", environment: "production", version: "v1" });
    expect(res.status).to.equal(201);
    const deadline = Date.now() + 5000;
    while (received.filter((r) => r.event === "deploy.created").length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((r) => r.event === "deploy.created")).to.have.deep.members([
      { who: "a-on-second", event: "deploy.created", id: res.body.id },
      { who: "a-on-first", event: "deploy.created", id: res.body.id },
    ]);
    expect(received.filter((r) => r.who === "b-on-second")).to.deep.equal([]);
  });

  it("when an instance closes right after starting, then the adapter gives its connection back (the database pool can close)", async () => {
    secondDb = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: null, entities: allEntities, poolSize: 4 });
    const config = testConfig();
    for (let i = 0; i < 3; i++) {
      const app = await startAftershock({ config, db: secondDb, logger: createLogger(config.logLevel), scheduler: false });
      await app.close();
    }
    // The adapter's LISTEN connection may arrive after close: it must be handed straight back.
    await new Promise((r) => setTimeout(r, 500));
    expect(secondDb.pool.totalCount - secondDb.pool.idleCount).to.equal(0);
    await secondDb.close();
    secondDb = null;
  });
});
}
