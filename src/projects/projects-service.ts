import { QueryFailedError, type DataSource, type EntityManager } from "typeorm";
import type { Principal } from "../accounts/principal.js";
import { AppError, ConflictError, ForbiddenError, NotFoundError, type FieldProblem } from "../errors.js";
import { SentryNotConnectedError, type SentryDirectory, type SentryProjectOption } from "../sentry/sentry-directory.js";
import { slugify } from "../slug.js";
import { ImpactSourceEntity, ProjectEntity } from "./project-entities.js";
import {
  createImpactSourceSchema,
  createProjectSchema,
  environmentNameSchema,
  ENVIRONMENTS_PER_PROJECT_MAX,
  invalid,
  parseInput,
  SLUG_MAX,
  SOURCE_NAME_MAX,
  updateImpactSourceSchema,
  updateProjectSchema,
  type CreateProjectInput,
  type ImpactSourceInput,
  type ImpactSourcePatch,
  type Sensitivity,
  type UpdateProjectInput,
} from "./project-validation.js";

export { SENSITIVITIES, type Sensitivity, type CreateProjectInput, type UpdateProjectInput, type ImpactSourceInput, type ImpactSourcePatch } from "./project-validation.js";

export interface ProjectView {
  id: string;
  slug: string;
  name: string;
  /** Ordered; the first is the default. */
  environments: string[];
  defaultEnvironment: string | null;
  archived: boolean;
  createdAt: Date;
}

export interface ImpactSourceView {
  id: string;
  projectId: string;
  name: string;
  /** Both null after a Sentry disconnect: the source stays, unmapped, until someone maps it again. */
  sentryProjectId: string | null;
  sentryProjectSlug: string | null;
  sentryEnvironment: string;
  /** Null: applies to every environment of the project. */
  environments: string[] | null;
  sensitivity: Sensitivity;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What the Add impact form offers, or why it cannot offer anything. */
export type SentryChoices =
  | { status: "connected"; projects: SentryProjectOption[]; environments: string[] }
  | { status: "not_connected" | "needs_reconnect" | "error"; message: string; projects: []; environments: [] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUGGESTIONS_SHOWN = 5;
/** The settings page waits this long for Sentry's project list before saying Sentry is slow. */
export const SENTRY_CHOICES_TIMEOUT_MS = 8_000;

class SentryTooSlow extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SentryTooSlow()), ms);
  });
  // The late answer (or failure) is dropped; the connection service still records its outcome.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function projectView(p: ProjectEntity): ProjectView {
  return {
    id: p.id,
    slug: p.slug,
    name: p.name,
    environments: [...p.environments],
    defaultEnvironment: p.environments[0] ?? null,
    archived: p.archivedAt !== null,
    createdAt: p.createdAt,
  };
}

function sourceView(s: ImpactSourceEntity): ImpactSourceView {
  return {
    id: s.id,
    projectId: s.projectId,
    name: s.name,
    sentryProjectId: s.sentryProjectId,
    sentryProjectSlug: s.sentryProjectSlug,
    sentryEnvironment: s.sentryEnvironment,
    environments: s.environments && s.environments.length ? [...s.environments] : null,
    sensitivity: s.sensitivity,
    enabled: s.enabled,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** "backend · production", cut to the display-name limit (Sentry slugs can be long). */
export function defaultSourceName(sentryProjectSlug: string | null, sentryEnvironment: string): string {
  return `${sentryProjectSlug ?? "(unmapped)"} · ${sentryEnvironment}`.slice(0, SOURCE_NAME_MAX);
}

function requireAdmin(principal: Principal): void {
  if (principal.role !== "admin") throw new ForbiddenError("Only admins of your organization can change projects and impact sources.");
}

function pgCode(error: unknown): string | undefined {
  return error instanceof QueryFailedError ? (error.driverError as { code?: string } | undefined)?.code : undefined;
}

/**
 * Why Sentry cannot answer, as an app error the pages and the API both show. Besides the
 * directory's own SentryNotConnectedError, the client's SentryError kinds are recognised by shape,
 * so this module does not depend on the client's classes.
 */
function sentryProblem(error: unknown): { status: "not_connected" | "needs_reconnect" | "error"; appError: AppError } | null {
  const where = "An admin can fix it on the Integrations page (/integrations).";
  const field = (message: string) => [{ field: "sentryProject", message }];
  if (error instanceof SentryNotConnectedError) {
    if (error.status === "error") {
      return { status: "error", appError: new AppError(503, "sentry_unavailable", error.message, field(error.message)) };
    }
    const message = error.status === "not_connected" ? error.message : `${error.message} ${where}`;
    return { status: error.status, appError: new AppError(409, `sentry_${error.status}`, message, field(message)) };
  }
  const kind = (error as { kind?: unknown } | null)?.kind;
  if (error instanceof Error && typeof kind === "string") {
    if (kind === "needs_reconnect" || kind === "permission") {
      const message = `Sentry refused the request: ${error.message} ${where}`;
      return { status: "needs_reconnect", appError: new AppError(409, "sentry_needs_reconnect", message, field(message)) };
    }
    const message = `Sentry could not list its projects right now (${error.message}); try again in a moment.`;
    return { status: "error", appError: new AppError(503, "sentry_unavailable", message, field(message)) };
  }
  return null;
}

/** A few real Sentry project slugs to offer when one was mistyped: similar ones first. */
function suggestions(projects: SentryProjectOption[], typed: string): string {
  const needle = typed.toLowerCase();
  const score = (p: SentryProjectOption) => (p.slug.includes(needle) || needle.includes(p.slug) ? 0 : p.slug[0] === needle[0] ? 1 : 2);
  const ranked = [...projects].sort((a, b) => score(a) - score(b) || a.slug.localeCompare(b.slug));
  const shown = ranked.slice(0, SUGGESTIONS_SHOWN).map((p) => p.slug);
  const more = projects.length - shown.length;
  return shown.join(", ") + (more > 0 ? ` (and ${more} more)` : "");
}

/**
 * Projects (deployable things with hand-typed environments) and their impact sources ("Add
 * impact": which Sentry project and environment tell whether a deploy hurt). Every read and write
 * is scoped by the organization id of the caller; writes need an admin.
 */
export class ProjectsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sentry: SentryDirectory,
    private readonly options: { sentryChoicesTimeoutMs?: number } = {},
  ) {}

  // ---- projects -------------------------------------------------------------------------------

  async listProjects(organizationId: string, options: { includeArchived?: boolean } = {}): Promise<ProjectView[]> {
    const query = this.dataSource
      .getRepository(ProjectEntity)
      .createQueryBuilder("p")
      .where("p.organization_id = :organizationId", { organizationId })
      .orderBy("lower(p.name)", "ASC")
      .addOrderBy("p.slug", "ASC");
    if (!options.includeArchived) query.andWhere("p.archived_at IS NULL");
    return (await query.getMany()).map(projectView);
  }

  async findProjectBySlug(organizationId: string, slug: string): Promise<ProjectView | null> {
    if (typeof slug !== "string" || slug.length > 200) return null;
    const row = await this.dataSource.getRepository(ProjectEntity).findOneBy({ organizationId, slug });
    return row ? projectView(row) : null;
  }

  async getProjectBySlug(organizationId: string, slug: string): Promise<ProjectView> {
    const project = await this.findProjectBySlug(organizationId, slug);
    if (!project) throw projectNotFound(slug);
    return project;
  }

  async getProjectById(organizationId: string, id: string): Promise<ProjectView> {
    const row = UUID.test(id) ? await this.dataSource.getRepository(ProjectEntity).findOneBy({ organizationId, id }) : null;
    if (!row) throw new NotFoundError(`No project with id "${id}" in your organization.`);
    return projectView(row);
  }

  async createProject(principal: Principal, input: CreateProjectInput): Promise<ProjectView> {
    requireAdmin(principal);
    const parsed = parseInput(createProjectSchema, input);
    const slug = parsed.slug ?? slugify(parsed.name, SLUG_MAX);
    if (!slug) {
      throw invalid([{ field: "name", message: "The name needs at least one letter or digit to make a slug from; or give a slug." }]);
    }
    const repository = this.dataSource.getRepository(ProjectEntity);
    const taken = await repository.findOneBy({ organizationId: principal.organizationId, slug });
    if (taken) throw slugTaken(slug, taken);
    try {
      const saved = await repository.save(
        repository.create({ organizationId: principal.organizationId, slug, name: parsed.name, environments: parsed.environments ?? [], archivedAt: null }),
      );
      return projectView(saved);
    } catch (error) {
      // Two admins creating the same slug at once: the unique key decides, the loser gets the same 409.
      if (pgCode(error) === "23505") throw slugTaken(slug, null);
      throw error;
    }
  }

  /** Rename, archive/unarchive, and replace the environment list (removals as in removeEnvironment), in one transaction. */
  async updateProject(principal: Principal, slug: string, patch: UpdateProjectInput): Promise<ProjectView> {
    requireAdmin(principal);
    const parsed = parseInput(updateProjectSchema, patch);
    return this.dataSource.transaction(async (tx) => {
      const project = await this.lockProject(tx, principal.organizationId, slug);
      if (parsed.name !== undefined) project.name = parsed.name;
      if (parsed.archived !== undefined) project.archivedAt = parsed.archived ? (project.archivedAt ?? new Date()) : null;
      if (parsed.environments !== undefined) {
        const removed = project.environments.filter((e) => !parsed.environments!.includes(e));
        await this.pruneSourceEnvironments(tx, project, removed);
        project.environments = parsed.environments;
      }
      return projectView(await tx.getRepository(ProjectEntity).save(project));
    });
  }

  async renameProject(principal: Principal, slug: string, name: string): Promise<ProjectView> {
    return this.updateProject(principal, slug, { name });
  }

  /** Archived projects leave the list but keep their slug, deploys and sources. */
  async archiveProject(principal: Principal, slug: string): Promise<ProjectView> {
    return this.updateProject(principal, slug, { archived: true });
  }

  async unarchiveProject(principal: Principal, slug: string): Promise<ProjectView> {
    return this.updateProject(principal, slug, { archived: false });
  }

  async addEnvironment(principal: Principal, slug: string, environment: string): Promise<ProjectView> {
    requireAdmin(principal);
    const parsed = environmentNameSchema.safeParse(environment);
    if (!parsed.success) throw invalid([{ field: "environment", message: parsed.error.issues[0]!.message }]);
    const name = parsed.data;
    return this.dataSource.transaction(async (tx) => {
      const project = await this.lockProject(tx, principal.organizationId, slug);
      const same = project.environments.find((e) => e.toLowerCase() === name.toLowerCase());
      if (same) {
        const message = `"${same}" is already an environment of ${project.name}.`;
        throw new ConflictError(message, [{ field: "environment", message }]);
      }
      if (project.environments.length >= ENVIRONMENTS_PER_PROJECT_MAX) {
        throw invalid([{ field: "environment", message: `A project can have at most ${ENVIRONMENTS_PER_PROJECT_MAX} environments.` }]);
      }
      project.environments = [...project.environments, name];
      return projectView(await tx.getRepository(ProjectEntity).save(project));
    });
  }

  /**
   * Removes an environment; impact sources limited to a list of environments lose it from their
   * list. A source that applied to that environment alone is not silently widened to "all": the
   * removal is refused until it is changed.
   */
  async removeEnvironment(principal: Principal, slug: string, environment: string): Promise<ProjectView> {
    requireAdmin(principal);
    return this.dataSource.transaction(async (tx) => {
      const project = await this.lockProject(tx, principal.organizationId, slug);
      if (!project.environments.includes(environment)) {
        throw new NotFoundError(`Project "${project.slug}" has no environment "${environment}".`);
      }
      await this.pruneSourceEnvironments(tx, project, [environment]);
      project.environments = project.environments.filter((e) => e !== environment);
      return projectView(await tx.getRepository(ProjectEntity).save(project));
    });
  }

  // ---- impact sources -------------------------------------------------------------------------

  async listImpactSources(organizationId: string, projectId: string): Promise<ImpactSourceView[]> {
    if (!UUID.test(projectId)) return [];
    const rows = await this.dataSource.getRepository(ImpactSourceEntity).find({
      where: { organizationId, projectId },
      order: { createdAt: "ASC", id: "ASC" },
    });
    return rows.map(sourceView);
  }

  /** How many impact sources each project has (for the project list), by project id. */
  async impactSourceCounts(organizationId: string): Promise<Record<string, number>> {
    const rows: Array<{ project_id: string; count: number }> = await this.dataSource.query(
      `SELECT project_id, count(*)::int AS count FROM impact_sources WHERE organization_id = $1 GROUP BY project_id`,
      [organizationId],
    );
    return Object.fromEntries(rows.map((r) => [r.project_id, r.count]));
  }

  /** Enabled, Sentry-mapped sources that apply to that environment of that project (the impact engine calls this). */
  async impactSourcesForDeploy(organizationId: string, projectId: string, environment: string): Promise<ImpactSourceView[]> {
    if (!UUID.test(projectId)) return [];
    const rows = await this.dataSource
      .getRepository(ImpactSourceEntity)
      .createQueryBuilder("s")
      .where("s.organization_id = :organizationId AND s.project_id = :projectId", { organizationId, projectId })
      .andWhere("s.enabled AND s.sentry_project_id IS NOT NULL")
      .andWhere("(s.environments IS NULL OR cardinality(s.environments) = 0 OR :environment = ANY(s.environments))", { environment })
      .orderBy("s.created_at", "ASC")
      .addOrderBy("s.id", "ASC")
      .getMany();
    return rows.map(sourceView);
  }

  async getImpactSource(organizationId: string, id: string): Promise<ImpactSourceView> {
    const row = UUID.test(id) ? await this.dataSource.getRepository(ImpactSourceEntity).findOneBy({ organizationId, id }) : null;
    if (!row) throw new NotFoundError(`No impact source with id "${id}" in your organization.`);
    return sourceView(row);
  }

  /** One source, looked up under its project: a source of another project is not found there. */
  async getProjectImpactSource(organizationId: string, projectSlug: string, id: string): Promise<ImpactSourceView> {
    const project = await this.getProjectBySlug(organizationId, projectSlug);
    return sourceView(await this.sourceOfProject(organizationId, project, id));
  }

  /** The Add impact form's Sentry projects and environment suggestions, or why there are none. */
  async sentryChoices(organizationId: string): Promise<SentryChoices> {
    try {
      // A page must not hang on a slow Sentry (the client retries for a while): say so instead.
      const listed = await within(this.sentry.listProjects(organizationId), this.options.sentryChoicesTimeoutMs ?? SENTRY_CHOICES_TIMEOUT_MS);
      const projects = [...listed].sort((a, b) => a.slug.localeCompare(b.slug));
      const environments = [...new Set(projects.flatMap((p) => p.environments))].sort((a, b) => a.localeCompare(b));
      return { status: "connected", projects, environments };
    } catch (error) {
      if (error instanceof SentryTooSlow) {
        const seconds = Math.max(1, Math.round((this.options.sentryChoicesTimeoutMs ?? SENTRY_CHOICES_TIMEOUT_MS) / 1000));
        return { status: "error", message: `Sentry did not list its projects within ${seconds} s; reload the page to try again.`, projects: [], environments: [] };
      }
      const problem = sentryProblem(error);
      if (!problem) throw error;
      return { status: problem.status, message: problem.appError.message, projects: [], environments: [] };
    }
  }

  async createImpactSource(principal: Principal, projectSlug: string, input: ImpactSourceInput): Promise<ImpactSourceView> {
    requireAdmin(principal);
    const parsed = parseInput(createImpactSourceSchema, input);
    const project = await this.getProjectBySlug(principal.organizationId, projectSlug);
    const problems: FieldProblem[] = [];
    const environments = appliesTo(project, parsed.environments ?? null, problems);
    const sentryProject = await this.resolveSentryProject(principal.organizationId, parsed.sentryProject, problems);
    if (problems.length || !sentryProject) throw invalid(problems, 422);
    await this.assertNotDuplicate(principal.organizationId, project, sentryProject, parsed.sentryEnvironment, null);
    const repository = this.dataSource.getRepository(ImpactSourceEntity);
    try {
      const saved = await repository.save(
        repository.create({
          organizationId: principal.organizationId,
          projectId: project.id,
          name: parsed.name ?? defaultSourceName(sentryProject.slug, parsed.sentryEnvironment),
          sentryProjectId: sentryProject.id,
          sentryProjectSlug: sentryProject.slug,
          sentryEnvironment: parsed.sentryEnvironment,
          environments,
          sensitivity: parsed.sensitivity ?? "medium",
          enabled: parsed.enabled ?? true,
        }),
      );
      return sourceView(saved);
    } catch (error) {
      if (pgCode(error) === "23505") throw duplicateSource(project, sentryProject.slug, parsed.sentryEnvironment);
      throw error;
    }
  }

  /**
   * Changes what is given. Sentry is asked only when the Sentry project changes, so disabling or
   * renaming a source works while Sentry is down or disconnected.
   */
  async updateImpactSource(principal: Principal, projectSlug: string, id: string, patch: ImpactSourcePatch): Promise<ImpactSourceView> {
    requireAdmin(principal);
    const parsed = parseInput(updateImpactSourceSchema, patch);
    const project = await this.getProjectBySlug(principal.organizationId, projectSlug);
    const source = await this.sourceOfProject(principal.organizationId, project, id);
    const problems: FieldProblem[] = [];
    const wasDefaultName = source.name === defaultSourceName(source.sentryProjectSlug, source.sentryEnvironment);

    let sentryProject = source.sentryProjectId ? { id: source.sentryProjectId, slug: source.sentryProjectSlug ?? source.sentryProjectId } : null;
    const sentryProjectChanges =
      parsed.sentryProject !== undefined && parsed.sentryProject !== source.sentryProjectId && parsed.sentryProject !== source.sentryProjectSlug;
    const environments = parsed.environments !== undefined ? appliesTo(project, parsed.environments, problems) : source.environments;
    if (sentryProjectChanges) sentryProject = await this.resolveSentryProject(principal.organizationId, parsed.sentryProject!, problems);
    if (problems.length) throw invalid(problems, 422);
    const sentryEnvironment = parsed.sentryEnvironment ?? source.sentryEnvironment;
    const mappingChanges = sentryProjectChanges || sentryEnvironment !== source.sentryEnvironment;
    if (mappingChanges && sentryProject) {
      await this.assertNotDuplicate(principal.organizationId, project, sentryProject, sentryEnvironment, source.id);
    }

    source.sentryProjectId = sentryProject?.id ?? null;
    source.sentryProjectSlug = sentryProject?.slug ?? null;
    source.sentryEnvironment = sentryEnvironment;
    source.environments = environments;
    if (parsed.name !== undefined && parsed.name !== null) source.name = parsed.name;
    // A name nobody chose follows the mapping; one typed by a person stays.
    else if (parsed.name === null || (wasDefaultName && mappingChanges)) source.name = defaultSourceName(source.sentryProjectSlug, sentryEnvironment);
    if (parsed.sensitivity !== undefined) source.sensitivity = parsed.sensitivity;
    if (parsed.enabled !== undefined) source.enabled = parsed.enabled;
    source.updatedAt = new Date();
    try {
      return sourceView(await this.dataSource.getRepository(ImpactSourceEntity).save(source));
    } catch (error) {
      if (pgCode(error) === "23505") throw duplicateSource(project, source.sentryProjectSlug ?? "", sentryEnvironment);
      throw error;
    }
  }

  async deleteImpactSource(principal: Principal, projectSlug: string, id: string): Promise<void> {
    requireAdmin(principal);
    const project = await this.getProjectBySlug(principal.organizationId, projectSlug);
    const source = await this.sourceOfProject(principal.organizationId, project, id);
    try {
      await this.dataSource.getRepository(ImpactSourceEntity).delete({ id: source.id, organizationId: principal.organizationId });
    } catch (error) {
      // Should impact records ever refer to sources without ON DELETE CASCADE, say so instead of a 500.
      if (pgCode(error) === "23503") {
        throw new ConflictError(`The impact source "${source.name}" has recorded impacts and cannot be removed; disable it instead.`);
      }
      throw error;
    }
  }

  /** Used by Sentry disconnect, inside its transaction: null every source's Sentry mapping; returns how many. */
  async clearSentryMappings(tx: EntityManager, organizationId: string): Promise<number> {
    const result = await tx
      .createQueryBuilder()
      .update(ImpactSourceEntity)
      .set({ sentryProjectId: null, sentryProjectSlug: null, updatedAt: () => "now()" })
      .where("organization_id = :organizationId AND (sentry_project_id IS NOT NULL OR sentry_project_slug IS NOT NULL)", { organizationId })
      .execute();
    return result.affected ?? 0;
  }

  // ---- internals ------------------------------------------------------------------------------

  private async lockProject(tx: EntityManager, organizationId: string, slug: string): Promise<ProjectEntity> {
    // FOR UPDATE: two admins editing the environment list at once must not lose each other's change.
    const project = await tx
      .getRepository(ProjectEntity)
      .createQueryBuilder("p")
      .setLock("pessimistic_write")
      .where("p.organization_id = :organizationId AND p.slug = :slug", { organizationId, slug })
      .getOne();
    if (!project) throw projectNotFound(slug);
    return project;
  }

  private async pruneSourceEnvironments(tx: EntityManager, project: ProjectEntity, removed: string[]): Promise<void> {
    if (!removed.length) return;
    const repository = tx.getRepository(ImpactSourceEntity);
    const sources = await repository.findBy({ organizationId: project.organizationId, projectId: project.id });
    for (const source of sources) {
      if (!source.environments?.length || !source.environments.some((e) => removed.includes(e))) continue;
      const kept = source.environments.filter((e) => !removed.includes(e));
      if (!kept.length) {
        const only = source.environments.map((e) => `"${e}"`).join(", ");
        const message = `The impact source "${source.name}" applies only to ${only}; change which environments it applies to, or remove it, first.`;
        throw new ConflictError(message, [{ field: "environment", message }]);
      }
      source.environments = kept;
      source.updatedAt = new Date();
      await repository.save(source);
    }
  }

  private async sourceOfProject(organizationId: string, project: ProjectView, id: string): Promise<ImpactSourceEntity> {
    const row = UUID.test(id)
      ? await this.dataSource.getRepository(ImpactSourceEntity).findOneBy({ organizationId, projectId: project.id, id })
      : null;
    if (!row) throw new NotFoundError(`No impact source with id "${id}" on project "${project.slug}".`);
    return row;
  }

  /** The Sentry project named by id or slug, or null with a problem naming it and a few that exist. */
  private async resolveSentryProject(
    organizationId: string,
    typed: string,
    problems: FieldProblem[],
  ): Promise<{ id: string; slug: string } | null> {
    let projects: SentryProjectOption[];
    try {
      projects = await this.sentry.listProjects(organizationId);
    } catch (error) {
      const problem = sentryProblem(error);
      throw problem ? problem.appError : error;
    }
    const found =
      projects.find((p) => p.id === typed) ?? projects.find((p) => p.slug === typed) ?? projects.find((p) => p.slug.toLowerCase() === typed.toLowerCase());
    if (found) return { id: found.id, slug: found.slug };
    problems.push({
      field: "sentryProject",
      message: projects.length
        ? `Sentry has no project "${typed}" in the connected organization. Projects there: ${suggestions(projects, typed)}.`
        : `Sentry has no project "${typed}": the connected Sentry organization has no projects (or the token cannot see them).`,
    });
    return null;
  }

  private async assertNotDuplicate(
    organizationId: string,
    project: ProjectView,
    sentryProject: { id: string; slug: string },
    sentryEnvironment: string,
    exceptId: string | null,
  ): Promise<void> {
    const rows = await this.dataSource.getRepository(ImpactSourceEntity).findBy({
      organizationId,
      projectId: project.id,
      sentryProjectId: sentryProject.id,
      sentryEnvironment,
    });
    const other = rows.find((r) => r.id !== exceptId);
    if (other) throw duplicateSource(project, sentryProject.slug, sentryEnvironment, other.name);
  }
}

/** Checks "applies to" against the project's environments; empty means all (stored as null). */
function appliesTo(project: ProjectView, environments: string[] | null, problems: FieldProblem[]): string[] | null {
  if (!environments || environments.length === 0) return null;
  const unknown = environments.filter((e) => !project.environments.includes(e));
  if (unknown.length) {
    const known = project.environments.length ? `It has: ${project.environments.join(", ")}.` : "It has none yet; add them first.";
    problems.push({
      field: "environments",
      message: `${project.name} has no environment ${unknown.map((e) => `"${e}"`).join(", ")}. ${known}`,
    });
    return null;
  }
  // Stored in the project's order, whatever order they were given in.
  return project.environments.filter((e) => environments.includes(e));
}

function projectNotFound(slug: string): NotFoundError {
  return new NotFoundError(`No project "${slug}" in your organization.`);
}

function slugTaken(slug: string, existing: ProjectEntity | null): ConflictError {
  const owner = existing ? ` ("${existing.name}"${existing.archivedAt ? ", archived" : ""})` : "";
  const message = `A project with the slug "${slug}" already exists in your organization${owner}. Choose another slug.`;
  return new ConflictError(message, [{ field: "slug", message: `"${slug}" is taken${owner}; choose another slug.` }]);
}

function duplicateSource(project: ProjectView, sentrySlug: string, sentryEnvironment: string, existingName?: string): ConflictError {
  const which = existingName ? ` ("${existingName}")` : "";
  const message = `${project.name} already has an impact source${which} for Sentry project "${sentrySlug}" in environment "${sentryEnvironment}".`;
  return new ConflictError(message, [{ field: "sentryEnvironment", message }]);
}
