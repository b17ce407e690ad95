/**
 * The socket.io contract of DESIGN.md, in one place: the namespace, the events a client receives,
 * the `watch` request and its acknowledgement, and the room names. Rooms always start with the
 * organization id, so no broadcast can reach a socket of another organization.
 */
export const LIVE_NAMESPACE = "/live";

export const LIVE_EVENTS = {
  deployCreated: "deploy.created",
  deployImpact: "deploy.impact",
  integrationStatus: "integration.status",
} as const;

/**
 * DESIGN.md's deploy object, as far as live/ needs to know it: it is passed through untouched.
 * `live/` does not import `deploys/`; main.ts hands in a loader that returns this shape.
 */
export interface LiveDeploy {
  id: string;
}

/**
 * `watch` payloads: `{"project": "<slug>"}` (DESIGN.md), or `{"organization": true}` for the
 * organization-wide recent deploys page (every project of the caller's organization).
 */
export type WatchRequest = { project: string } | { organization: true };

export type WatchAck = { ok: true } | { ok: false; error: string };

export const organizationRoom = (organizationId: string) => `org:${organizationId}`;
export const organizationDeploysRoom = (organizationId: string) => `org:${organizationId}:deploys`;
export const projectRoom = (organizationId: string, projectId: string) => `org:${organizationId}:project:${projectId}`;

/** Parses a `watch` payload; a string message says what is wrong with it. */
export function parseWatchRequest(payload: unknown): WatchRequest | string {
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) {
    return 'Send {"project": "<project slug>"}.';
  }
  const body = payload as Record<string, unknown>;
  if (body.organization === true && body.project === undefined) return { organization: true };
  const project = body.project;
  if (typeof project !== "string" || !project.trim()) return '"project" must be a project slug.';
  if (project.length > 200) return '"project" is too long to be a project slug.';
  return { project: project.trim() };
}
