import { startSentrySimulator, type SentrySimulator } from "../../tools/sentry-simulator/index.js";
import type { RunningAftershock } from "../../src/main.js";
import { ADMIN } from "../support/test-app.js";

/** The Sentry organization every projects test connects to, in the simulator. */
export const SENTRY_ORG = "acme-sentry";
export const SENTRY_TOKEN = "sntrys_projects-test-token-0123456789";

export interface SentryProjectSeed {
  slug: string;
  id?: string;
  name?: string;
  environments?: string[];
}

export const DEFAULT_SENTRY_PROJECTS: SentryProjectSeed[] = [
  { slug: "backend", id: "4501", name: "Backend API", environments: ["production", "staging"] },
  { slug: "frontend", id: "4502", name: "Web frontend", environments: ["production", "preview"] },
  // Sentry creates environments only once events carry them: a fresh project knows none.
  { slug: "worker", id: "4503", name: "Worker", environments: [] },
];

/** The Sentry simulator with one organization, its projects and a token with the read scopes. */
export async function startSentry(projects: SentryProjectSeed[] = DEFAULT_SENTRY_PROJECTS): Promise<SentrySimulator> {
  const sentry = await startSentrySimulator({ mode: "selfHosted" });
  sentry.addOrganization({ slug: SENTRY_ORG, name: "Acme on Sentry" });
  for (const p of projects) sentry.addProject(SENTRY_ORG, p);
  sentry.addToken({ token: SENTRY_TOKEN, scopes: ["org:read", "project:read", "event:read"] });
  return sentry;
}

/** Connects the Aftershock organization to the simulator through the real connection service. */
export async function connectSentry(app: RunningAftershock, organizationId: string, sentry: SentrySimulator): Promise<void> {
  await app.services.sentry.connectWithToken(organizationId, ADMIN.email, { token: SENTRY_TOKEN, baseUrl: sentry.url, organization: SENTRY_ORG });
}
