import type { DataSource, EntityManager } from "typeorm";
import type { DomainEvents } from "../domain-events.js";
import { AuthenticationError, ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from "../errors.js";
import { SLUG_PATTERN } from "../slug.js";
import { decodeCursor, encodeCursor, isUuid } from "./deploy-cursor.js";
import { GithubWebhookSecretEntity, type DeploySource } from "./deploy-entities.js";
import { noImpactSources, toDeployObject, type DeployImpactsReader, type DeployObject, type DeployRecord } from "./deploy-object.js";
import type { DeployRequest } from "./deploy-request.js";
import { GithubWebhookSecrets, verifyGithubSignature } from "./github-webhook-secret.js";
import type { DeployProject, ProjectLookup } from "./project-lookup.js";

/** A deploy may claim to be this far ahead of our clock (CI clocks drift); more is a mistake. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/**
 * The same version reported again for the same environment within this time of an adjacent deploy
 * of it is the same deploy, told by another tool (GitHub's webhook and the CI's own call) or by a
 * retry: it answers with the existing deploy instead of creating a second one. Re-deploying the
 * live version later is a new deploy; going back to an older version is a rollback.
 */
export const REPEAT_WINDOW_MS = 30 * 60_000;
export const PAGE_SIZE_DEFAULT = 25;
export const PAGE_SIZE_MAX = 100;

/** How a registration ended: a new deploy, the deploy that idempotency key made, or a repeat of an adjacent deploy. */
export type RegisterOutcome = "created" | "idempotent" | "repeat";

export interface RegisteredDeploy {
  deploy: DeployRecord;
  project: DeployProject;
  outcome: RegisterOutcome;
  created: boolean;
}

/** Who is rotating a GitHub secret: a structural slice of the accounts Principal. */
export interface SecretActor {
  organizationId: string;
  role: string;
  userEmail: string | null;
}

export interface GithubWebhookStatus {
  configured: boolean;
  lastFour: string | null;
  createdAt: Date | null;
  createdByEmail: string | null;
}

/** A deploy as the impact engine needs it (the shape of its DeploysPort). */
export interface DeployForImpact {
  id: string;
  organizationId: string;
  projectId: string;
  projectSlug: string;
  environment: string;
  /** Deploy time, ms since the epoch. */
  timestamp: number;
}

export interface DeployPage<T> {
  deploys: T[];
  nextCursor: string | null;
}

export interface DeploysServiceDeps {
  dataSource: DataSource;
  projects: ProjectLookup;
  events: DomainEvents;
  /** SECRET_KEY: GitHub webhook secrets are derived from it. */
  secretKey: string;
  impacts?: DeployImpactsReader;
  now?: () => number;
}

interface DeployRow {
  id: string;
  organization_id: string;
  project_id: string;
  environment: string;
  version: string;
  deployed_at: Date;
  started_at: Date | null;
  author: string | null;
  name: string | null;
  url: string | null;
  tags: string[];
  links: Record<string, string> | null;
  source: DeploySource;
  idempotency_key: string | null;
  rollback: boolean;
  rolled_back_by: string | null;
  created_at: Date;
}

function toRecord(row: DeployRow): DeployRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    projectId: row.project_id,
    environment: row.environment,
    version: row.version,
    timestamp: new Date(row.deployed_at),
    startedAt: row.started_at ? new Date(row.started_at) : null,
    author: row.author,
    name: row.name,
    url: row.url,
    tags: row.tags ?? [],
    links: row.links ?? {},
    source: row.source,
    idempotencyKey: row.idempotency_key,
    rollback: row.rollback,
    rolledBackBy: row.rolled_back_by,
    createdAt: new Date(row.created_at),
  };
}

interface ResolvedRequest extends Omit<DeployRequest, "environment" | "timestamp"> {
  projectRef: DeployProject;
  environment: string;
  timestamp: Date;
}

/** Names in messages are echoed back shortened: a 10 KB "environment" must not become a 10 KB error. */
function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/**
 * Deploy registration and reading. Every webhook shape is parsed into a DeployRequest by its parser
 * and ends here, so the rules (known project and environment, time not in the future, idempotency,
 * repeats, rollbacks) hold the same for all four.
 */
export class DeploysService {
  private readonly dataSource: DataSource;
  private readonly projects: ProjectLookup;
  private readonly events: DomainEvents;
  private impacts: DeployImpactsReader;
  private readonly github: GithubWebhookSecrets;
  private readonly now: () => number;

  constructor(deps: DeploysServiceDeps) {
    this.dataSource = deps.dataSource;
    this.projects = deps.projects;
    this.events = deps.events;
    this.impacts = deps.impacts ?? noImpactSources;
    this.github = new GithubWebhookSecrets(deps.secretKey);
    this.now = deps.now ?? Date.now;
  }

  /** main.ts plugs the impact engine in once it exists (it is built after this service). */
  setImpactsReader(reader: DeployImpactsReader): void {
    this.impacts = reader;
  }

  // ── Registration ──────────────────────────────────────────────────────────────────────────────

  async register(organizationId: string, request: DeployRequest): Promise<RegisteredDeploy> {
    const [result] = await this.registerAll(organizationId, [request]);
    return result!;
  }

  /**
   * Registers several deploys all-or-nothing (Sentry's deploy API names several projects at once):
   * every request is checked before anything is written, then one transaction writes them.
   */
  async registerAll(organizationId: string, requests: DeployRequest[]): Promise<RegisteredDeploy[]> {
    const resolved: ResolvedRequest[] = [];
    for (const request of requests) resolved.push(await this.resolve(organizationId, request));
    const results = await this.dataSource.transaction(async (tx) => {
      // One writer per project at a time, on every instance: the idempotency, repeat and rollback
      // checks below read the project's deploys and must not interleave with another registration.
      // A transaction-level advisory lock works on a real server and on the embedded PGlite (whose
      // socket server runs one transaction at a time anyway). Sorted, so two multi-project
      // registrations cannot deadlock.
      const projectIds = [...new Set(resolved.map((r) => r.projectRef.id))].sort();
      for (const id of projectIds) {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`aftershock.deploys:${id}`]);
      }
      const out: RegisteredDeploy[] = [];
      for (const r of resolved) out.push(await this.registerLocked(tx, organizationId, r));
      return out;
    });
    // After commit only: a listener that reads the deploy must find it.
    for (const r of results) {
      if (r.created) {
        this.events.emit("deploy.created", {
          organizationId,
          projectId: r.project.id,
          projectSlug: r.project.slug,
          deployId: r.deploy.id,
        });
      }
    }
    return results;
  }

  /** Checks a request against the project it names; throws the error the caller should see. */
  private async resolve(organizationId: string, request: DeployRequest): Promise<ResolvedRequest> {
    const project = SLUG_PATTERN.test(request.project) ? await this.projects.findProjectBySlug(organizationId, request.project) : null;
    if (!project) {
      const message = `No project ${quote(request.project)} in your organization; create it first or check the slug.`;
      throw new NotFoundError(message, [{ field: "project", message }]);
    }
    if (project.archived) {
      const message = `Project "${project.slug}" is archived; unarchive it to register deploys.`;
      throw new UnprocessableError(message, [{ field: "project", message }], "validation_failed");
    }
    const environment = this.resolveEnvironment(project, request);
    const now = this.now();
    const timestamp = request.timestamp ?? new Date(now);
    if (timestamp.getTime() > now + FUTURE_TOLERANCE_MS) {
      const message = `The deploy time ${timestamp.toISOString()} is more than ${FUTURE_TOLERANCE_MS / 60_000} minutes in the future (server time ${new Date(now).toISOString()}); send when the deploy happened, or leave it out for now.`;
      throw new UnprocessableError(message, [{ field: "timestamp", message }], "validation_failed");
    }
    return { ...request, projectRef: project, environment, timestamp };
  }

  private resolveEnvironment(project: DeployProject, request: DeployRequest): string {
    const valid = project.environments;
    const listing = valid.length ? `Valid environments: ${valid.join(", ")}.` : "The project has no environments yet; add one first.";
    if (request.environment === null) {
      const fallback = project.defaultEnvironment ?? valid[0] ?? null;
      if (fallback === null) {
        const message = `Project "${project.slug}" has no default environment; name one. ${listing}`;
        throw new UnprocessableError(message, [{ field: "environment", message, allowed: valid }], "validation_failed");
      }
      return fallback;
    }
    const wanted = request.environment;
    if (valid.includes(wanted)) return wanted;
    if (request.environmentMatch === "ignore-case") {
      const matches = valid.filter((e) => e.toLowerCase() === wanted.toLowerCase());
      if (matches.length === 1) return matches[0]!;
    }
    const message = `Unknown environment ${quote(wanted)} for project "${project.slug}". ${listing}`;
    throw new UnprocessableError(message, [{ field: "environment", message, allowed: valid }], "validation_failed");
  }

  private async registerLocked(tx: EntityManager, organizationId: string, r: ResolvedRequest): Promise<RegisteredDeploy> {
    const project = r.projectRef;
    const done = (row: DeployRow, outcome: RegisterOutcome): RegisteredDeploy => ({
      deploy: toRecord(row),
      project,
      outcome,
      created: outcome === "created",
    });

    if (r.idempotencyKey !== null) {
      const [existing] = (await tx.query(`SELECT * FROM deploys WHERE project_id = $1 AND idempotency_key = $2`, [
        project.id,
        r.idempotencyKey,
      ])) as DeployRow[];
      if (existing) return done(this.sameDeployOrConflict(existing, r), "idempotent");
    }

    // The deploys right before and right after this one in its environment.
    const [previous] = (await tx.query(
      `SELECT * FROM deploys WHERE project_id = $1 AND environment = $2 AND deployed_at <= $3
        ORDER BY deployed_at DESC, id DESC LIMIT 1`,
      [project.id, r.environment, r.timestamp],
    )) as DeployRow[];
    const [following] = (await tx.query(
      `SELECT * FROM deploys WHERE project_id = $1 AND environment = $2 AND deployed_at > $3
        ORDER BY deployed_at ASC, id ASC LIMIT 1`,
      [project.id, r.environment, r.timestamp],
    )) as DeployRow[];
    const at = r.timestamp.getTime();
    if (previous && previous.version === r.version && at - previous.deployed_at.getTime() <= REPEAT_WINDOW_MS) {
      return done(previous, "repeat");
    }
    if (following && following.version === r.version && following.deployed_at.getTime() - at <= REPEAT_WINDOW_MS) {
      return done(following, "repeat");
    }

    // Going back to a version this environment already ran, with other versions since: a rollback.
    let rolledBackFrom: DeployRow | undefined;
    if (previous && previous.version !== r.version) {
      [rolledBackFrom] = (await tx.query(
        `SELECT * FROM deploys WHERE project_id = $1 AND environment = $2 AND version = $3 AND deployed_at <= $4
          ORDER BY deployed_at DESC, id DESC LIMIT 1`,
        [project.id, r.environment, r.version, r.timestamp],
      )) as DeployRow[];
    }

    // ON CONFLICT DO NOTHING: the unique (project_id, idempotency_key) index is the last word if
    // anything ever gets past the lock (another writer not using it); the loser reads the winner.
    const inserted = (await tx.query(
      `INSERT INTO deploys (organization_id, project_id, environment, version, deployed_at, started_at, author, name, url,
                            tags, links, source, idempotency_key, rollback)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14)
       ON CONFLICT (project_id, idempotency_key) DO NOTHING
       RETURNING *`,
      [
        organizationId,
        project.id,
        r.environment,
        r.version,
        r.timestamp,
        r.startedAt,
        r.author,
        r.name,
        r.url,
        r.tags,
        JSON.stringify(r.links),
        r.source,
        r.idempotencyKey,
        rolledBackFrom !== undefined,
      ],
    )) as DeployRow[];
    const row = inserted[0];
    if (!row) {
      const [existing] = (await tx.query(`SELECT * FROM deploys WHERE project_id = $1 AND idempotency_key = $2`, [
        project.id,
        r.idempotencyKey,
      ])) as DeployRow[];
      if (!existing) throw new Error("deploy insert conflicted but no deploy holds the key");
      return done(this.sameDeployOrConflict(existing, r), "idempotent");
    }

    if (rolledBackFrom) {
      // Everything between the version we went back to and this rollback was rolled back. A deploy
      // already rolled back by an earlier rollback keeps that first mark.
      await tx.query(
        `UPDATE deploys SET rolled_back_by = $1
          WHERE project_id = $2 AND environment = $3
            AND (deployed_at, id) > ($4, $5::uuid) AND deployed_at <= $6
            AND id <> $1 AND rolled_back_by IS NULL`,
        [row.id, project.id, r.environment, rolledBackFrom.deployed_at, rolledBackFrom.id, r.timestamp],
      );
    }
    return done(row, "created");
  }

  /** An idempotency key reused for a different deploy is a CI bug worth a clear 409, not a silent mix-up. */
  private sameDeployOrConflict(existing: DeployRow, r: ResolvedRequest): DeployRow {
    if (existing.environment !== r.environment || existing.version !== r.version) {
      throw new ConflictError(
        `Idempotency key ${quote(r.idempotencyKey ?? "")} was already used for deploy ${existing.id} (version ${quote(existing.version)} in ${quote(existing.environment)}); use a new key for a different deploy.`,
        [{ field: "idempotencyKey", message: "Already used for another deploy.", deployId: existing.id }],
      );
    }
    return existing;
  }

  // ── Reading ───────────────────────────────────────────────────────────────────────────────────

  async getDeployRecord(organizationId: string, id: string): Promise<DeployRecord> {
    // Another organization's deploy is "not found", never "forbidden": ids reveal nothing.
    const rows = isUuid(id)
      ? ((await this.dataSource.query(`SELECT * FROM deploys WHERE id = $1 AND organization_id = $2`, [id, organizationId])) as DeployRow[])
      : [];
    if (!rows[0]) throw new NotFoundError(`No deploy ${quote(id, 40)} in your organization.`);
    return toRecord(rows[0]);
  }

  async getDeploy(organizationId: string, id: string): Promise<DeployObject> {
    const record = await this.getDeployRecord(organizationId, id);
    const [object] = await this.deployObjects(organizationId, [record]);
    return object!;
  }

  /** Deploy objects (DESIGN.md's shape, with impacts) for records of one organization. */
  async deployObjects(organizationId: string, records: DeployRecord[], knownProjects: DeployProject[] = []): Promise<DeployObject[]> {
    if (records.length === 0) return [];
    const slugs = new Map(knownProjects.map((p) => [p.id, p.slug]));
    const missing = [...new Set(records.map((r) => r.projectId))].filter((id) => !slugs.has(id));
    if (missing.length === 1) {
      const p = await this.projects.getProjectById(organizationId, missing[0]!);
      slugs.set(p.id, p.slug);
    } else if (missing.length > 1) {
      for (const p of await this.projects.listProjects(organizationId, { includeArchived: true })) slugs.set(p.id, p.slug);
    }
    const impacts = await this.impacts.impactsFor(organizationId, records.map((r) => r.id));
    return records.map((r) => toDeployObject(r, slugs.get(r.projectId) ?? "", impacts.get(r.id)));
  }

  /**
   * Newest first, keyset-paginated on (deployed_at, id) — an index range scan however deep the
   * page, where OFFSET would read and throw away every earlier row.
   */
  async listDeployRecords(
    organizationId: string,
    filter: { projectId?: string; environment?: string | null; cursor?: string | null; limit?: number },
  ): Promise<DeployPage<DeployRecord>> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? PAGE_SIZE_DEFAULT), 1), PAGE_SIZE_MAX);
    if (filter.projectId !== undefined && !isUuid(filter.projectId)) return { deploys: [], nextCursor: null };
    const where = [`organization_id = $1`];
    const params: unknown[] = [organizationId];
    if (filter.projectId) {
      params.push(filter.projectId);
      where.push(`project_id = $${params.length}`);
    }
    if (filter.environment) {
      params.push(filter.environment);
      where.push(`environment = $${params.length}`);
    }
    if (filter.cursor) {
      const cursor = decodeCursor(filter.cursor);
      params.push(cursor.timestamp, cursor.id);
      where.push(`(deployed_at, id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `SELECT * FROM deploys WHERE ${where.join(" AND ")} ORDER BY deployed_at DESC, id DESC LIMIT $${params.length}`,
      params,
    )) as DeployRow[];
    const page = rows.slice(0, limit).map(toRecord);
    const last = page[page.length - 1];
    return { deploys: page, nextCursor: rows.length > limit && last ? encodeCursor({ timestamp: last.timestamp, id: last.id }) : null };
  }

  async listProjectDeploys(
    organizationId: string,
    projectSlug: string,
    options: { environment?: string | null; cursor?: string | null; limit?: number } = {},
  ): Promise<DeployPage<DeployObject> & { project: DeployProject }> {
    const project = await this.getProject(organizationId, projectSlug);
    const page = await this.listDeployRecords(organizationId, { ...options, projectId: project.id });
    return { project, deploys: await this.deployObjects(organizationId, page.deploys, [project]), nextCursor: page.nextCursor };
  }

  /** Every project's deploys, newest first (a "recent deploys" page). */
  async listRecentDeploys(
    organizationId: string,
    options: { environment?: string | null; cursor?: string | null; limit?: number } = {},
  ): Promise<DeployPage<DeployObject>> {
    const page = await this.listDeployRecords(organizationId, options);
    return { deploys: await this.deployObjects(organizationId, page.deploys), nextCursor: page.nextCursor };
  }

  // ── For the impact engine (its DeploysPort, wired in main.ts) ─────────────────────────────────

  async getDeployForImpact(organizationId: string, deployId: string): Promise<DeployForImpact | null> {
    const rows = isUuid(deployId)
      ? ((await this.dataSource.query(`SELECT * FROM deploys WHERE id = $1 AND organization_id = $2`, [deployId, organizationId])) as DeployRow[])
      : [];
    if (!rows[0]) return null;
    const [deploy] = await this.forImpact(organizationId, rows.map(toRecord));
    return deploy ?? null;
  }

  /** Deploys registered (created_at, not deploy time) since `since`, every organization, oldest first. */
  async listDeploysRegisteredSince(since: Date, limit = 10_000): Promise<DeployForImpact[]> {
    const rows = (await this.dataSource.query(`SELECT * FROM deploys WHERE created_at >= $1 ORDER BY created_at, id LIMIT $2`, [
      since,
      limit,
    ])) as DeployRow[];
    const byOrganization = new Map<string, DeployRecord[]>();
    for (const record of rows.map(toRecord)) {
      byOrganization.set(record.organizationId, [...(byOrganization.get(record.organizationId) ?? []), record]);
    }
    const out: DeployForImpact[] = [];
    for (const [organizationId, records] of byOrganization) out.push(...(await this.forImpact(organizationId, records)));
    return out;
  }

  /** When the next deploy of the same project and environment happened (ms), or null: it cuts the after-window short. */
  async nextDeployAfter(deploy: { id: string; projectId: string; environment: string; timestamp: number }): Promise<number | null> {
    const [row] = (await this.dataSource.query(
      `SELECT deployed_at FROM deploys
        WHERE project_id = $1 AND environment = $2 AND (deployed_at, id) > ($3, $4::uuid)
        ORDER BY deployed_at, id LIMIT 1`,
      [deploy.projectId, deploy.environment, new Date(deploy.timestamp), deploy.id],
    )) as Array<{ deployed_at: Date }>;
    return row ? new Date(row.deployed_at).getTime() : null;
  }

  private async forImpact(organizationId: string, records: DeployRecord[]): Promise<DeployForImpact[]> {
    const slugs = new Map((await this.projects.listProjects(organizationId, { includeArchived: true })).map((p) => [p.id, p.slug]));
    return records.map((r) => ({
      id: r.id,
      organizationId: r.organizationId,
      projectId: r.projectId,
      projectSlug: slugs.get(r.projectId) ?? "",
      environment: r.environment,
      timestamp: r.timestamp.getTime(),
    }));
  }

  async getProject(organizationId: string, slug: string): Promise<DeployProject> {
    const project = SLUG_PATTERN.test(slug) ? await this.projects.findProjectBySlug(organizationId, slug) : null;
    if (!project) throw new NotFoundError(`No project ${quote(slug)} in your organization.`);
    return project;
  }

  /** For Sentry's deploy API without `projects`: the organization's only (unarchived) project. */
  async soleProject(organizationId: string): Promise<DeployProject> {
    const live = (await this.projects.listProjects(organizationId, { includeArchived: false })).filter((p) => !p.archived);
    if (live.length === 1) return live[0]!;
    const message =
      live.length === 0
        ? "Your organization has no projects yet; create one, then name it in projects."
        : `Name the project: send "projects": ["<slug>"] (one of ${live.map((p) => p.slug).join(", ")}).`;
    throw new UnprocessableError(message, [{ field: "projects", message, allowed: live.map((p) => p.slug) }], "validation_failed");
  }

  // ── GitHub webhook secrets ────────────────────────────────────────────────────────────────────

  async githubWebhookStatus(organizationId: string, projectId: string): Promise<GithubWebhookStatus> {
    const row = await this.dataSource.getRepository(GithubWebhookSecretEntity).findOneBy({ projectId, organizationId });
    return {
      configured: Boolean(row),
      lastFour: row?.lastFour ?? null,
      createdAt: row?.createdAt ?? null,
      createdByEmail: row?.createdByEmail ?? null,
    };
  }

  /** Generates (or replaces) the project's GitHub webhook secret. Returned once, here; never stored. */
  async rotateGithubSecret(actor: SecretActor, projectSlug: string): Promise<{ secret: string; project: DeployProject; status: GithubWebhookStatus }> {
    if (actor.role !== "admin") throw new ForbiddenError("Only admins of your organization can set the GitHub webhook secret.");
    const project = await this.getProject(actor.organizationId, projectSlug);
    const nonce = this.github.newNonce();
    const secret = this.github.secretFor(project.id, nonce);
    await this.dataSource.query(
      `INSERT INTO github_webhook_secrets (project_id, organization_id, nonce, last_four, created_by_email, created_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (project_id) DO UPDATE
         SET nonce = EXCLUDED.nonce, last_four = EXCLUDED.last_four, created_by_email = EXCLUDED.created_by_email, created_at = now()`,
      [project.id, actor.organizationId, nonce, secret.slice(-4), actor.userEmail],
    );
    return { secret, project, status: await this.githubWebhookStatus(actor.organizationId, project.id) };
  }

  /**
   * Checks a GitHub delivery's signature against the project's secret; returns the project.
   * Unknown project → 404; no secret yet, or a missing or wrong signature → 401.
   */
  async verifyGithubDelivery(organizationId: string, projectSlug: string, rawBody: Buffer, signature: string | undefined): Promise<DeployProject> {
    const project = await this.getProject(organizationId, projectSlug);
    const row = await this.dataSource.getRepository(GithubWebhookSecretEntity).findOneBy({ projectId: project.id, organizationId });
    if (!row) {
      throw new AuthenticationError(
        `Project "${project.slug}" has no GitHub webhook secret yet: an admin generates one on /projects/${project.slug}/github-webhook.`,
      );
    }
    if (!signature) {
      throw new AuthenticationError("Missing X-Hub-Signature-256: set the project's secret in the GitHub webhook's settings.");
    }
    if (!verifyGithubSignature(this.github.secretFor(project.id, row.nonce), rawBody, signature)) {
      throw new AuthenticationError("X-Hub-Signature-256 does not match: the webhook's secret differs from the project's current one.");
    }
    return project;
  }
}
