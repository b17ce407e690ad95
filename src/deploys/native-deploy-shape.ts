import { ValidationError } from "../errors.js";
import {
  AUTHOR_MAX,
  ENVIRONMENT_INPUT_MAX,
  IDEMPOTENCY_KEY_MAX,
  NAME_MAX,
  Problems,
  httpUrl,
  linkMap,
  tagList,
  text,
  timestamp,
  version,
  type DeployRequest,
} from "./deploy-request.js";

const NATIVE_FIELDS = ["project", "environment", "version", "sha", "timestamp", "author", "url", "tags", "links", "name", "idempotencyKey"];

/**
 * `POST /api/v1/deploys`:
 * `{project, environment, version|sha, timestamp?, author?, url?, tags?, links?, name?, idempotencyKey?}`.
 * Unknown fields are refused: in our own contract a typo ("enviroment", "timestmp") must not pass
 * silently as "now" or as a missing field. The idempotency key may also come as the conventional
 * `Idempotency-Key` header.
 */
export function parseNativeDeploy(body: unknown, idempotencyKeyHeader?: string): DeployRequest {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError("Send a JSON object like {\"project\": \"checkout\", \"environment\": \"production\", \"version\": \"1.4.2\"} with Content-Type: application/json.");
  }
  const b = body as Record<string, unknown>;
  const problems = new Problems();
  for (const key of Object.keys(b)) {
    if (!NATIVE_FIELDS.includes(key)) problems.add(key.slice(0, 60), `Unknown field "${key.slice(0, 60)}"; the fields are ${NATIVE_FIELDS.join(", ")}.`);
  }
  const project = text(problems, "project", b.project, { max: 200, required: true });
  const environment = text(problems, "environment", b.environment, { max: ENVIRONMENT_INPUT_MAX, required: true });
  let v: string | null = null;
  if (b.version === undefined && b.sha === undefined) {
    problems.add("version", "version (or sha) is required.");
  } else {
    const fromVersion = b.version === undefined ? null : version(problems, "version", b.version);
    const fromSha = b.sha === undefined ? null : version(problems, "sha", b.sha);
    if (fromVersion !== null && fromSha !== null && fromVersion !== fromSha) {
      problems.add("version", "Send version or sha, not two different values.");
    }
    v = fromVersion ?? fromSha;
  }
  let tags: string[] = [];
  if (b.tags !== undefined && b.tags !== null) {
    if (Array.isArray(b.tags)) tags = tagList(problems, "tags", b.tags);
    else problems.add("tags", "tags must be a list of text, like [\"hotfix\", \"canary\"].");
  }
  const bodyKey = text(problems, "idempotencyKey", b.idempotencyKey, { max: IDEMPOTENCY_KEY_MAX });
  const headerKey = idempotencyKeyHeader === undefined ? null : text(problems, "Idempotency-Key", idempotencyKeyHeader, { max: IDEMPOTENCY_KEY_MAX });
  if (bodyKey !== null && headerKey !== null && bodyKey !== headerKey) {
    problems.add("idempotencyKey", "The Idempotency-Key header and the idempotencyKey field differ; send one.");
  }
  const request: DeployRequest = {
    project: project ?? "",
    environment,
    environmentMatch: "exact",
    version: v ?? "",
    timestamp: timestamp(problems, "timestamp", b.timestamp),
    startedAt: null,
    author: text(problems, "author", b.author, { max: AUTHOR_MAX }),
    name: text(problems, "name", b.name, { max: NAME_MAX }),
    url: httpUrl(problems, "url", b.url),
    tags,
    links: linkMap(problems, "links", b.links),
    source: "native",
    idempotencyKey: bodyKey ?? headerKey,
  };
  problems.throwIfAny();
  return request;
}
