export type Role = "admin" | "member";

/**
 * Who is asking, resolved once per request (session or API token) by the web layer. Every service
 * call takes its organization id from here, which is how organizations stay apart: no route picks
 * an organization from the URL or body on its own.
 */
export interface Principal {
  readonly organizationId: string;
  readonly organizationSlug: string;
  readonly organizationName: string;
  readonly role: Role;
  /** Set for a signed-in person, null for an API token. */
  readonly userId: string | null;
  readonly userEmail: string | null;
  /** Set for an API token, null for a person. */
  readonly apiTokenId: string | null;
}
