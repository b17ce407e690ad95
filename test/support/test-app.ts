import supertest from "supertest";
import { loadConfig, type Config } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startAftershock, type RunningAftershock, type ServiceOverrides } from "../../src/main.js";
import { resetDatabase, testDatabase } from "./test-database.js";

export const TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-aes";
export const ADMIN = { email: "admin@example.com", password: "correct horse battery", orgName: "Acme" };

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ PORT: "0", SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent", DATA_DIR: "/tmp/aftershock-test-data", ...env });
}

/** The real server on port 0 against the shared, freshly reset test database. */
export async function startTestApp(
  options: { env?: Record<string, string>; reset?: boolean; loginLimit?: { windowMs: number; limit: number }; overrides?: ServiceOverrides } = {},
): Promise<RunningAftershock> {
  if (options.reset !== false) await resetDatabase();
  const config = testConfig(options.env);
  return startAftershock({
    config,
    db: await testDatabase(),
    logger: createLogger(config.logLevel),
    loginLimit: options.loginLimit ?? { windowMs: 60_000, limit: 1000 },
    overrides: options.overrides,
    // Tests tick the impact engine themselves, on their own clock.
    scheduler: false,
  });
}

/** Extracts the CSRF token a page rendered (hidden field or meta tag). */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html) ?? /name="csrf-token" content="([^"]+)"/.exec(html);
  if (!match) throw new Error("no CSRF token in page");
  return match[1]!;
}

/** A supertest agent (keeps cookies) signed in as the given user. */
export async function signedInAgent(app: RunningAftershock, email = ADMIN.email, password = ADMIN.password) {
  const agent = supertest.agent(app.server);
  const page = await agent.get("/login");
  const res = await agent.post("/login").type("form").send({ _csrf: csrfFrom(page.text), email, password });
  if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
  return agent;
}

/** Creates the first organization and admin through the service; returns an admin API token. */
export async function seedOrganization(app: RunningAftershock, input = ADMIN) {
  const { organization, userId } = await app.services.accounts.createOrganizationWithAdmin(input);
  const principal = (await app.services.accounts.principalForUser(userId, organization.id))!;
  const { token } = await app.services.accounts.createApiToken(principal, { name: "test", role: "admin" });
  return { organization, userId, principal, token };
}
