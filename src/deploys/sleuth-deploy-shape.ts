import { ValidationError } from "../errors.js";
import { AUTHOR_MAX, ENVIRONMENT_INPUT_MAX, Problems, linkMap, tagList, text, timestamp, version, type DeployRequest } from "./deploy-request.js";

/**
 * Sleuth's `register_deploy` body, JSON or form-encoded, so Sleuth's CI actions and scripts only
 * need a new host: `sha` (required), `environment` (default: the project's default environment),
 * `date` (ISO 8601), `tags` (a JSON array or a comma-separated string of `#name`s), `email`
 * (author), `links` (a JSON object, `links[Name]=url` form fields, or `Name=url` pairs),
 * `ignore_if_duplicate`. Fields Sleuth knows and we do not use (`branch`, `commits`, `files`,
 * `pull_requests`) and anything else are ignored, as a drop-in must not refuse what Sleuth accepts.
 */
export interface SleuthDeploy {
  request: DeployRequest;
  ignoreIfDuplicate: boolean;
}

export function parseSleuthDeploy(projectSlug: string, body: unknown): SleuthDeploy {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError("Missing body: send sha (and optionally environment, date, tags, email, links) as JSON or form fields.");
  }
  const b = body as Record<string, unknown>;
  const problems = new Problems();
  const sha = version(problems, "sha", b.sha);
  const request: DeployRequest = {
    project: projectSlug,
    environment: text(problems, "environment", b.environment, { max: ENVIRONMENT_INPUT_MAX }),
    environmentMatch: "exact",
    version: sha ?? "",
    timestamp: timestamp(problems, "date", b.date),
    startedAt: null,
    author: text(problems, "email", b.email, { max: AUTHOR_MAX }),
    name: null,
    url: null,
    tags: sleuthTags(problems, b.tags),
    links: linkMap(problems, "links", sleuthLinks(problems, b.links)),
    source: "sleuth",
    idempotencyKey: null,
  };
  problems.throwIfAny();
  return { request, ignoreIfDuplicate: isTrue(b.ignore_if_duplicate) };
}

function isTrue(value: unknown): boolean {
  if (value === true) return true;
  return typeof value === "string" && /^(true|1|yes|on)$/i.test(value.trim());
}

/** Sleuth writes tags as "#name"; we store the name, as native tags are written. */
function sleuthTags(problems: Problems, value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        list = Array.isArray(parsed) ? parsed : [trimmed];
      } catch {
        problems.add("tags", "tags looks like a JSON list but is not valid JSON.");
        return [];
      }
    } else list = trimmed.split(",");
  } else {
    problems.add("tags", "tags must be a comma-separated string like \"#hotfix,#canary\" or a list.");
    return [];
  }
  const names = list.map((t) => (typeof t === "string" ? t.trim().replace(/^#/, "").trim() : t)).filter((t) => t !== "");
  return tagList(problems, "tags", names);
}

/** Turns Sleuth's link spellings into one name → URL object (checked by linkMap afterwards). */
function sleuthLinks(problems: Problems, value: unknown): unknown {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "object" && !Array.isArray(value)) return value;
  const pairs: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== "string") {
        problems.add("links", "links must be an object of name → URL or name=url text.");
        return undefined;
      }
      pairs.push(item);
    }
  } else if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("{")) {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        problems.add("links", "links looks like a JSON object but is not valid JSON.");
        return undefined;
      }
    }
    // "Build=https://ci/1, Docs=https://docs" or one per line. Split only where a new "name=" starts,
    // so commas inside a URL survive.
    pairs.push(...trimmed.split(/\r?\n|,\s*(?=[^,=\s/]+=)/));
  } else {
    problems.add("links", "links must be an object of name → URL or name=url text.");
    return undefined;
  }
  const entries: Array<[string, string]> = [];
  for (const pair of pairs.map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      problems.add("links", `"${pair.slice(0, 60)}" is not a name=url link.`);
      return undefined;
    }
    entries.push([pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()]);
  }
  return Object.fromEntries(entries);
}
