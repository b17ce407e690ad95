import { ValidationError } from "../errors.js";
import { NAME_MAX, Problems, httpUrl, text, timestamp, version, type DeployRequest } from "./deploy-request.js";

/** Sentry caps environment names at 64 characters; `sentry-cli` users expect the same refusal. */
export const SENTRY_ENVIRONMENT_MAX = 64;

/**
 * The body of Sentry's own deploy API (`POST /api/0/organizations/{org}/releases/{version}/deploys/`):
 * `{environment (required), name, url, dateStarted, dateFinished, projects}`, so
 * `sentry-cli releases deploys new` can point here. `projects` names Aftershock project slugs; when
 * absent the service picks the organization's only project. The deploy time is `dateFinished`
 * (when the new version is live), else `dateStarted`, else now.
 */
export interface SentryDeploy {
  /** Null: not given; the organization must then have exactly one project. */
  projects: string[] | null;
  /** A request per project is made from this template by setting `project`. */
  template: Omit<DeployRequest, "project">;
}

export function parseSentryDeploy(releaseVersion: string, body: unknown): SentryDeploy {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError("Send a JSON object like {\"environment\": \"production\"} with Content-Type: application/json.");
  }
  const b = body as Record<string, unknown>;
  const problems = new Problems();
  const v = version(problems, "version", releaseVersion, "The release version");
  const environment = text(problems, "environment", b.environment, { max: SENTRY_ENVIRONMENT_MAX, required: true });
  const started = timestamp(problems, "dateStarted", b.dateStarted);
  const finished = timestamp(problems, "dateFinished", b.dateFinished);
  if (started && finished && started.getTime() > finished.getTime()) {
    problems.add("dateStarted", "dateStarted is after dateFinished.");
  }
  let projects: string[] | null = null;
  if (b.projects !== undefined && b.projects !== null) {
    if (!Array.isArray(b.projects) || b.projects.length > 50) {
      problems.add("projects", "projects must be a list of at most 50 project slugs.");
    } else if (b.projects.length > 0) {
      const slugs: string[] = [];
      b.projects.forEach((p, i) => {
        const slug = text(problems, `projects[${i}]`, p, { max: 200, required: true, label: "A project" });
        if (slug !== null && !slugs.includes(slug)) slugs.push(slug);
      });
      projects = slugs;
    }
  }
  const template: Omit<DeployRequest, "project"> = {
    environment,
    environmentMatch: "exact",
    version: v ?? "",
    timestamp: finished ?? started,
    startedAt: started,
    author: null,
    name: text(problems, "name", b.name, { max: NAME_MAX }),
    url: httpUrl(problems, "url", b.url),
    tags: [],
    links: {},
    source: "sentry",
    idempotencyKey: null,
  };
  problems.throwIfAny();
  return { projects, template };
}
