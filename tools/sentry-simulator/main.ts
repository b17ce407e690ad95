/**
 * A Sentry stand-in for demos: `npm run sentry-simulator` (or `npx tsx tools/sentry-simulator/main.ts`).
 *
 * Environment:
 *   SENTRY_SIMULATOR_PORT or PORT     port (default 9100)
 *   SENTRY_SIMULATOR_HOST             interface (default 127.0.0.1)
 *   SENTRY_SIMULATOR_MODE             saas (default: rate-limit headers, regionUrl) or selfHosted
 *   SENTRY_SIMULATOR_TOKEN            the demo auth token (default sntrys_demo_aftershock_local)
 *   SENTRY_OAUTH_CLIENT_ID / _SECRET  OAuth client (generated and printed when unset)
 *   SENTRY_SIMULATOR_REDIRECT_URIS    comma-separated allowed redirect URI prefixes
 *                                     (default PUBLIC_URL or http://localhost:3000/)
 *
 * Point Aftershock at it with SENTRY_URL=http://127.0.0.1:9100, organization `acme`.
 */
import { randomBytes } from "node:crypto";
import { startSentrySimulator } from "./sentry-simulator.js";

const MINUTE = 60_000;
const port = Number(process.env.SENTRY_SIMULATOR_PORT ?? process.env.PORT ?? 9100);
const host = process.env.SENTRY_SIMULATOR_HOST ?? "127.0.0.1";
const mode = process.env.SENTRY_SIMULATOR_MODE === "selfHosted" ? "selfHosted" : "saas";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, not "${process.env.SENTRY_SIMULATOR_PORT ?? process.env.PORT}"`);
  process.exit(1);
}

const sim = await startSentrySimulator({ port, host, mode, ingestLagMinutes: 2 });
const now = Date.now();

sim.addOrganization({ slug: "acme", name: "Acme Corp" });
const backend = sim.addProject("acme", { slug: "backend", name: "Backend API", platform: "python", environments: ["production", "staging"] });
const frontend = sim.addProject("acme", { slug: "frontend", name: "Web Frontend", platform: "javascript-react", environments: ["production", "staging"] });
const worker = sim.addProject("acme", { slug: "worker", name: "Job Worker", platform: "node", environments: ["production"] });

// backend/production: a steady 4 errors a minute with bursts, stepping up to 12 in 30 minutes:
// register a deploy then and watch it turn unhealthy.
sim.setErrorStream("acme", "backend", "production", {
  seed: "demo-backend",
  baseRatePerMinute: 4,
  steps: [{ at: now + 30 * MINUTE, ratePerMinute: 12 }],
  bursts: { perHour: 1, min: 20, max: 60 },
});
sim.setErrorStream("acme", "backend", "staging", { seed: "demo-backend-staging", baseRatePerMinute: 0.5 });
sim.setErrorStream("acme", "frontend", "production", {
  seed: "demo-frontend",
  baseRatePerMinute: 10,
  bursts: { perHour: 0.5, min: 50, max: 150 },
});
sim.setErrorStream("acme", "frontend", "staging", { seed: "demo-frontend-staging", baseRatePerMinute: 1 });
sim.setErrorStream("acme", "worker", "production", {
  seed: "demo-worker",
  baseRatePerMinute: 0.2,
  spikes: [{ at: now - 2 * 60 * MINUTE, count: 40 }],
});

sim.addIssue("acme", "backend", { environment: "production", firstSeen: now - 3 * 86_400_000, lastSeen: now, count: 5120, title: "KeyError: 'user'" });
sim.addIssue("acme", "backend", { environment: "production", firstSeen: now + 31 * MINUTE, count: 57, title: "TimeoutError in checkout" });
sim.addIssue("acme", "frontend", { environment: "production", firstSeen: now - 20 * MINUTE, count: 2, title: "TypeError: undefined is not a function" });
sim.addIssue("acme", "worker", { environment: "production", firstSeen: now - 2 * 60 * MINUTE, count: 40, title: "ConnectionResetError" });

const token = process.env.SENTRY_SIMULATOR_TOKEN ?? "sntrys_demo_aftershock_local";
sim.addToken({ token, scopes: ["org:read", "project:read", "event:read"] });

const clientId = process.env.SENTRY_OAUTH_CLIENT_ID ?? randomBytes(16).toString("hex");
const clientSecret = process.env.SENTRY_OAUTH_CLIENT_SECRET ?? randomBytes(32).toString("hex");
const redirectUris = (process.env.SENTRY_SIMULATOR_REDIRECT_URIS ?? process.env.PUBLIC_URL ?? "http://localhost:3000/")
  .split(",")
  .map((u) => u.trim())
  .filter(Boolean);
sim.registerOAuthClient({ clientId, clientSecret, redirectUris });

console.log(`Sentry simulator (${mode}) at ${sim.url}
  organization: acme
  projects:     backend (id ${backend.id}), frontend (id ${frontend.id}), worker (id ${worker.id})
  environments: production, staging
  auth token:   ${token}   (scopes org:read project:read event:read)
  OAuth client: SENTRY_OAUTH_CLIENT_ID=${clientId}
                SENTRY_OAUTH_CLIENT_SECRET=${process.env.SENTRY_OAUTH_CLIENT_SECRET ? "(from the environment)" : clientSecret}
                redirect URIs starting with: ${redirectUris.join(", ")}
  backend/production steps up from 4 to 12 errors a minute at ${new Date(now + 30 * MINUTE).toISOString()}.
Use SENTRY_URL=${sim.url} in Aftershock. Ctrl-C stops.`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
