/**
 * Port: what deploys/ needs to know about projects. DESIGN.md's arrows forbid deploys/ → projects/,
 * so main.ts hands in the ProjectsService (its ProjectView satisfies DeployProject structurally).
 */
export interface DeployProject {
  id: string;
  slug: string;
  name: string;
  /** Ordered; the project's own list of environment names. */
  environments: string[];
  /** Where a deploy without an environment goes (Sleuth lets CI leave it out). */
  defaultEnvironment: string | null;
  archived: boolean;
}

export interface ProjectLookup {
  findProjectBySlug(organizationId: string, slug: string): Promise<DeployProject | null>;
  /** Throws NotFoundError when the project is not in that organization. */
  getProjectById(organizationId: string, id: string): Promise<DeployProject>;
  listProjects(organizationId: string, options?: { includeArchived?: boolean }): Promise<DeployProject[]>;
}
