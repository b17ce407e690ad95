import supertest from "supertest";
import type { RunningAftershock } from "../../src/main.js";
import { seedOrganization } from "../support/test-app.js";

/** An organization with an admin token and one project ("checkout": production, staging). */
export async function seedDeployProject(
  app: RunningAftershock,
  options: { org?: { orgName: string; email: string; password: string }; slug?: string; environments?: string[] } = {},
) {
  const seeded = await seedOrganization(app, options.org);
  const project = await app.services.projects.createProject(seeded.principal, {
    name: options.slug ? `Project ${options.slug}` : "Checkout",
    slug: options.slug ?? "checkout",
    environments: options.environments ?? ["production", "staging"],
  });
  const api = supertest(app.server);
  const postDeploy = (body: Record<string, unknown>, token = seeded.token) =>
    api.post("/api/v1/deploys").set("Authorization", `Bearer ${token}`).send(body);
  return { ...seeded, project, api, postDeploy };
}

export const SHA_A = "a".repeat(40);
export const SHA_B = "b".repeat(40);
export const SHA_C = "c".repeat(40);

/** A time `minutes` before now, as ISO 8601 (whole milliseconds). */
export function minutesAgo(minutes: number, now = Date.now()): string {
  return new Date(now - minutes * 60_000).toISOString();
}

export async function deployRowCount(app: RunningAftershock): Promise<number> {
  const [row] = await app.db.dataSource.query(`SELECT count(*)::int AS n FROM deploys`);
  return row.n as number;
}
