import { expect } from "chai";
import { io as connectClient, type Socket } from "socket.io-client";
import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { startSentrySimulator, type SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { seedOrganization, signedInAgent, startTestApp } from "../support/test-app.js";

const OTHER = { email: "boss@other.example", password: "another long password", orgName: "Other Corp" };

interface Received {
  event: string;
  payload: any;
}

/** A socket.io client on /live that records every event it receives, in order. */
function liveClient(app: RunningAftershock, options: { token?: unknown; cookie?: string } = {}) {
  const socket: Socket = connectClient(`${app.url}/live`, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    ...(options.token !== undefined ? { auth: { token: options.token } } : {}),
    ...(options.cookie ? { extraHeaders: { cookie: options.cookie } } : {}),
  });
  const received: Received[] = [];
  socket.onAny((event, payload) => received.push({ event, payload }));
  return { socket, received };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (error) => reject(error));
  });
}

function refused(socket: Socket): Promise<Error & { data?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error("the server accepted a socket it should have refused")));
    socket.once("connect_error", (error) => resolve(error as Error & { data?: { code: string; message: string } }));
  });
}

function watch(socket: Socket, payload: unknown): Promise<{ ok: boolean; error?: string }> {
  return socket.timeout(5000).emitWithAck("watch", payload);
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("live server (socket.io /live)", () => {
  let app: RunningAftershock;
  const sockets: Socket[] = [];
  let sim: SentrySimulator | null = null;

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await app?.close();
    await sim?.close();
    sim = null;
  });

  function client(options: { token?: unknown; cookie?: string } = {}) {
    const c = liveClient(app, options);
    sockets.push(c.socket);
    return c;
  }

  /** Organization A (project "shop") and organization B (its own "shop" and "billing"). */
  async function twoOrganizations(env: Record<string, string> = {}) {
    app = await startTestApp({ env });
    const a = await seedOrganization(app);
    const b = await seedOrganization(app, OTHER);
    await app.services.projects.createProject(a.principal, { name: "Shop", slug: "shop", environments: ["production", "staging"] });
    await app.services.projects.createProject(b.principal, { name: "Shop", slug: "shop", environments: ["production"] });
    await app.services.projects.createProject(b.principal, { name: "Billing", slug: "billing", environments: ["production"] });
    const api = supertest(app.server);
    const postDeploy = async (token: string, body: Record<string, unknown>) => {
      const res = await api.post("/api/v1/deploys").set("Authorization", `Bearer ${token}`).send(body);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body as { id: string; [k: string]: unknown };
    };
    const getDeploy = async (token: string, id: string) => (await api.get(`/api/v1/deploys/${id}`).set("Authorization", `Bearer ${token}`)).body;
    return { a, b, api, postDeploy, getDeploy };
  }

  describe("authentication", () => {
    it("when a client brings neither a token nor a session cookie, then the connection is refused as unauthenticated", async () => {
      await twoOrganizations();
      const error = await refused(client().socket);
      expect(error.data?.code).to.equal("unauthenticated");
    });

    it("when a client brings a wrong token, then the connection is refused, even with a valid session cookie alongside", async () => {
      await twoOrganizations();
      expect((await refused(client({ token: "ash_not_a_real_token" }).socket)).data?.code).to.equal("unauthenticated");
      expect((await refused(client({ token: 42 }).socket)).data?.code).to.equal("unauthenticated");
      const agent = await signedInAgent(app);
      const cookie = cookieOf(agent);
      expect((await refused(client({ token: "ash_wrong", cookie }).socket)).data?.code).to.equal("unauthenticated");
    });

    it("when a client brings a revoked token, then the connection is refused", async () => {
      const { a } = await twoOrganizations();
      const { token, record } = await app.services.accounts.createApiToken(a.principal, { name: "ci", role: "member" });
      await app.services.accounts.revokeApiToken(a.principal, record.id);
      expect((await refused(client({ token }).socket)).data?.code).to.equal("unauthenticated");
    });

    it("when a signed-in person's session cookie is sent, then the socket connects and can watch their project", async () => {
      await twoOrganizations();
      const agent = await signedInAgent(app);
      const { socket } = client({ cookie: cookieOf(agent) });
      await connected(socket);
      expect(await watch(socket, { project: "shop" })).to.deep.equal({ ok: true });
    });

    it("when the cookie is a forged or stale session id, then the connection is refused", async () => {
      await twoOrganizations();
      const error = await refused(client({ cookie: "aftershock.sid=s%3Aforged.signature" }).socket);
      expect(error.data?.code).to.equal("unauthenticated");
    });

    it("when a page of another site opens a socket with the person's cookie, then it is refused", async () => {
      await twoOrganizations();
      const agent = await signedInAgent(app);
      const socket = connectClient(`${app.url}/live`, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        extraHeaders: { cookie: cookieOf(agent), origin: "https://evil.example" },
      });
      sockets.push(socket);
      expect((await refused(socket)).data?.code).to.equal("forbidden_origin");
    });

    it("when the person signs out, then their open socket can no longer watch and is disconnected", async () => {
      await twoOrganizations();
      const agent = await signedInAgent(app);
      const { socket } = client({ cookie: cookieOf(agent) });
      await connected(socket);
      const page = await agent.get("/settings/members");
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.text)![1]!;
      await agent.post("/logout").type("form").send({ _csrf: csrf });
      const gone = new Promise<string>((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
      const answer = await watch(socket, { project: "shop" });
      expect(answer.ok).to.equal(false);
      expect(await gone).to.equal("io server disconnect");
    });
  });

  describe("watching", () => {
    it("when a client watches another organization's project, then it is refused and none of that organization's events reach it", async () => {
      const { a, b, postDeploy } = await twoOrganizations();
      const spy = client({ token: a.token });
      await connected(spy.socket);
      const answer = await watch(spy.socket, { project: "billing" });
      expect(answer.ok).to.equal(false);
      expect(answer.error).to.match(/No project "billing" in your organization/);
      // Both organizations have a "shop": watching it joins the caller's own only.
      expect(await watch(spy.socket, { project: "shop" })).to.deep.equal({ ok: true });
      expect(await watch(spy.socket, { organization: true })).to.deep.equal({ ok: true });

      const insider = client({ token: b.token });
      await connected(insider.socket);
      expect(await watch(insider.socket, { project: "billing" })).to.deep.equal({ ok: true });
      expect(await watch(insider.socket, { project: "shop" })).to.deep.equal({ ok: true });

      const billing = await postDeploy(b.token, { project: "billing", environment: "production", version: "b-1" });
      const shopB = await postDeploy(b.token, { project: "shop", environment: "production", version: "b-2" });
      app.services.events.emit("integration.status", { organizationId: b.organization.id });
      await until(() => insider.received.filter((r) => r.event === "deploy.created").length === 2 && insider.received.some((r) => r.event === "integration.status"), "B's own events");
      expect(insider.received.filter((r) => r.event === "deploy.created").map((r) => r.payload.id)).to.have.members([billing.id, shopB.id]);

      // A sentinel of A's own, sent after B's: once it arrives, anything of B's would have too.
      const shopA = await postDeploy(a.token, { project: "shop", environment: "production", version: "a-1" });
      await until(() => spy.received.some((r) => r.event === "deploy.created"), "A's own deploy");
      expect(spy.received.map((r) => [r.event, r.payload.id ?? r.payload.status])).to.deep.equal([["deploy.created", shopA.id]]);
      expect(JSON.stringify(spy.received)).not.to.contain("b-1").and.not.to.contain("b-2");
      expect(insider.received.map((r) => r.payload.id)).not.to.include(shopA.id);
    });

    it("when the watch request is malformed, then it is answered {ok:false} with a reason and the socket stays usable", async () => {
      const { a } = await twoOrganizations();
      const { socket } = client({ token: a.token });
      await connected(socket);
      for (const bad of [null, "shop", [], { project: 7 }, { project: "" }, { project: "x".repeat(500) }]) {
        const answer = await watch(socket, bad);
        expect(answer.ok, JSON.stringify(bad)).to.equal(false);
        expect(answer.error).to.be.a("string").and.not.be.empty;
      }
      expect(await watch(socket, { project: "shop" })).to.deep.equal({ ok: true });
    });

    it("when a client has not watched a project, then it receives none of its deploys", async () => {
      const { a, postDeploy } = await twoOrganizations();
      const idle = client({ token: a.token });
      const watcher = client({ token: a.token });
      await Promise.all([connected(idle.socket), connected(watcher.socket)]);
      await watch(watcher.socket, { project: "shop" });
      await postDeploy(a.token, { project: "shop", environment: "production", version: "1" });
      await until(() => watcher.received.length === 1, "the watcher's event");
      expect(idle.received).to.deep.equal([]);
    });
  });

  describe("events", () => {
    it("when a deploy is registered and then judged, then watchers get deploy.created before deploy.impact, each the full deploy object", async () => {
      const { a, postDeploy, getDeploy } = await twoOrganizations();
      const agent = await signedInAgent(app);
      const byCookie = client({ cookie: cookieOf(agent) });
      const byToken = client({ token: a.token });
      await Promise.all([connected(byCookie.socket), connected(byToken.socket)]);
      expect(await watch(byCookie.socket, { project: "shop" })).to.deep.equal({ ok: true });
      expect(await watch(byToken.socket, { project: "shop" })).to.deep.equal({ ok: true });

      const posted = await postDeploy(a.token, { project: "shop", environment: "production", version: "v1.4.2", author: "ada@example.com", url: "https://ci.example.com/runs/9", tags: ["release"] });
      // The impact engine announces a changed verdict with this event after saving it.
      app.services.events.emit("deploy.impact", { organizationId: a.organization.id, projectId: (await app.services.projects.getProjectBySlug(a.organization.id, "shop")).id, projectSlug: "shop", deployId: posted.id });
      for (const c of [byCookie, byToken]) {
        await until(() => c.received.length === 2, "two events");
        expect(c.received.map((r) => r.event)).to.deep.equal(["deploy.created", "deploy.impact"]);
      }
      const object = await getDeploy(a.token, posted.id);
      expect(object).to.include({ id: posted.id, project: "shop", environment: "production", version: "v1.4.2", author: "ada@example.com", source: "native" });
      for (const c of [byCookie, byToken]) {
        expect(c.received[0]!.payload).to.deep.equal(posted);
        expect(c.received[1]!.payload).to.deep.equal(object);
      }
    });

    it("when many verdicts of one deploy follow its creation at once, then they arrive in the order they happened", async () => {
      const { a, postDeploy } = await twoOrganizations();
      const watcher = client({ token: a.token });
      await connected(watcher.socket);
      await watch(watcher.socket, { project: "shop" });
      // Registering through the service emits deploy.created synchronously after commit; the impacts follow at once.
      const stop = app.services.events.on("deploy.created", (e) => {
        for (let i = 0; i < 5; i++) app.services.events.emit("deploy.impact", { ...e });
      });
      try {
        const posted = await postDeploy(a.token, { project: "shop", environment: "staging", version: "v9" });
        await until(() => watcher.received.length === 6, "six events");
        expect(watcher.received.map((r) => r.event)).to.deep.equal(["deploy.created", ...Array(5).fill("deploy.impact")]);
        expect(watcher.received.every((r) => r.payload.id === posted.id)).to.equal(true);
      } finally {
        stop();
      }
    });

    it("when the organization's Sentry connection changes state, then every socket of that organization gets integration.status, and no one else", async () => {
      sim = await startSentrySimulator();
      sim.addOrganization({ slug: "acme-sentry", name: "Acme on Sentry" });
      sim.addProject("acme-sentry", { slug: "backend", id: "101", environments: ["production"] });
      sim.addToken({ token: "sntrys_live_test", scopes: ["org:read", "project:read", "event:read"] });
      const { a, b, api } = await twoOrganizations({ SENTRY_URL: sim.url });
      const mine = client({ token: a.token });
      const theirs = client({ token: b.token });
      await Promise.all([connected(mine.socket), connected(theirs.socket)]);
      // No watch needed: integration status is organization-wide.
      const put = await api.put("/api/v1/integrations/sentry").set("Authorization", `Bearer ${a.token}`).send({ token: "sntrys_live_test", organization: "acme-sentry" });
      expect(put.status).to.equal(200);
      await until(() => mine.received.length === 1, "integration.status");
      const status = (await api.get("/api/v1/integrations/sentry").set("Authorization", `Bearer ${a.token}`)).body;
      expect(mine.received[0]).to.deep.equal({ event: "integration.status", payload: status });
      expect(status.status).to.equal("connected");
      expect(JSON.stringify(mine.received)).not.to.contain("sntrys_live_test");
      await new Promise((r) => setTimeout(r, 100));
      expect(theirs.received).to.deep.equal([]);
    });
  });

  describe("shutdown", () => {
    it("when the app closes with sockets open, then it closes promptly and the sockets are told", async () => {
      const { a } = await twoOrganizations();
      const { socket } = client({ token: a.token });
      await connected(socket);
      const gone = new Promise<string>((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
      const started = Date.now();
      await app.close();
      expect(Date.now() - started).to.be.below(5000);
      expect(await gone).to.be.oneOf(["io server disconnect", "transport close"]);
    });
  });
});

/** The session cookie a supertest agent holds, as a Cookie header value. */
function cookieOf(agent: ReturnType<typeof supertest.agent>): string {
  const jar = (agent as unknown as { jar: { getCookies(access: object): Array<{ name: string; value: string }> } }).jar;
  const cookies = jar.getCookies({ domain: "127.0.0.1", path: "/", secure: false, script: false });
  const session = cookies.find((c) => c.name === "aftershock.sid");
  if (!session) throw new Error(`no session cookie in the agent (has ${cookies.map((c) => c.name).join(", ")})`);
  return `${session.name}=${session.value}`;
}
