import { ValidationError } from "../errors.js";
import { AUTHOR_MAX, ENVIRONMENT_INPUT_MAX, Problems, httpUrl, text, timestamp, version, type DeployRequest } from "./deploy-request.js";

/**
 * GitHub's `deployment_status` webhook event. Only `state: success` is a deploy; every other state
 * (queued, in_progress, pending, failure, error, inactive) is acknowledged and ignored, so GitHub
 * shows the delivery as fine and nothing half-done is recorded.
 *
 * The idempotency key is the GitHub deployment id: a redelivery (GitHub's "Redeliver" button, or a
 * retry after a timeout) and a second success status of the same deployment are the same deploy.
 */
export type GithubDelivery =
  | { kind: "deploy"; request: DeployRequest }
  | { kind: "ignored"; reason: string };

/** The event body: JSON, or GitHub's `application/x-www-form-urlencoded` form with a `payload` field. */
export function githubPayload(body: unknown): Record<string, unknown> {
  let payload = body;
  if (payload && typeof payload === "object" && !Array.isArray(payload) && typeof (payload as { payload?: unknown }).payload === "string") {
    try {
      payload = JSON.parse((payload as { payload: string }).payload) as unknown;
    } catch {
      throw new ValidationError("The form field `payload` is not valid JSON.");
    }
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) {
    throw new ValidationError("The webhook body is not a GitHub event object; set the webhook's content type to application/json.");
  }
  return payload as Record<string, unknown>;
}

function objectAt(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function parseGithubDeploymentStatus(projectSlug: string, payload: Record<string, unknown>): GithubDelivery {
  const status = objectAt(payload.deployment_status);
  const deployment = objectAt(payload.deployment);
  const repository = objectAt(payload.repository);
  const state = status.state;
  if (typeof state !== "string") {
    throw new ValidationError("The event has no deployment_status.state; is this a deployment_status event?", [
      { field: "deployment_status.state", message: "Missing." },
    ]);
  }
  if (state !== "success") {
    return { kind: "ignored", reason: `deployment_status state is "${state.slice(0, 40)}"; only "success" registers a deploy.` };
  }
  const problems = new Problems();
  const sha = version(problems, "deployment.sha", deployment.sha);
  const environment = text(problems, "deployment_status.environment", status.environment ?? deployment.environment, {
    max: ENVIRONMENT_INPUT_MAX,
    required: true,
  });
  const deploymentId = deployment.id;
  if (typeof deploymentId !== "number" && typeof deploymentId !== "string") problems.add("deployment.id", "deployment.id is required.");
  const creator = objectAt(status.creator).login ?? objectAt(deployment.creator).login ?? objectAt(payload.sender).login;
  const repoUrl = typeof repository.html_url === "string" ? repository.html_url : null;
  const links: Record<string, string> = {};
  const addLink = (name: string, value: unknown) => {
    // Tolerant: GitHub's optional URLs may be empty strings or odd; a bad one is dropped, not fatal.
    const quiet = new Problems();
    const url = httpUrl(quiet, name, value);
    if (url) links[name] = url;
  };
  addLink("Log", status.log_url ?? status.target_url);
  addLink("Environment", status.environment_url);
  if (repoUrl && sha) addLink("Commit", `${repoUrl}/commit/${encodeURIComponent(sha)}`);
  const tags: string[] = [];
  const quiet = new Problems();
  const ref = text(quiet, "ref", deployment.ref, { max: 100 });
  if (ref) tags.push(ref);
  const request: DeployRequest = {
    project: projectSlug,
    environment,
    environmentMatch: "ignore-case",
    version: sha ?? "",
    timestamp: timestamp(problems, "deployment_status.created_at", status.created_at ?? status.updated_at),
    startedAt: null,
    author: text(quiet, "author", creator, { max: AUTHOR_MAX }),
    name: text(quiet, "name", deployment.description, { max: 200 }),
    url: links.Log ?? links.Environment ?? null,
    tags,
    links,
    source: "github",
    idempotencyKey: `github:deployment:${String(deploymentId).slice(0, 40)}`,
  };
  problems.throwIfAny();
  return { kind: "deploy", request };
}
