/**
 * What the rest of the app may ask about an organization's Sentry (the Add impact dropdown and its
 * environment suggestions), without knowing tokens or HTTP. Implemented by the Sentry connection
 * service; `projects/` depends on this interface only.
 */
export interface SentryProjectOption {
  id: string;
  slug: string;
  name: string;
  environments: string[];
}

export interface SentryDirectory {
  /** Throws SentryNotConnectedError when the organization has no usable connection. */
  listProjects(organizationId: string): Promise<SentryProjectOption[]>;
  /** Sentry's known environments for one project: suggestions only (often empty). */
  listEnvironments(organizationId: string, sentryProjectSlug: string): Promise<string[]>;
}

export class SentryNotConnectedError extends Error {
  constructor(readonly status: "not_connected" | "needs_reconnect" | "error" = "not_connected") {
    super(
      status === "not_connected"
        ? "Sentry is not connected for this organization. An admin can connect it on the Integrations page."
        : status === "needs_reconnect"
          ? "The Sentry connection needs to be reconnected (its token was rejected or expired)."
          : "Sentry could not be reached; try again in a moment.",
    );
    this.name = "SentryNotConnectedError";
  }
}
