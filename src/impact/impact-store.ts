import type { DataSource, EntityManager } from "typeorm";
import { affectedRows } from "../db/query-result.js";
import type { Health, NewIssueSeen, Verdict } from "./judge.js";
import type { SparklineBin } from "./sparkline.js";

export interface ImpactRow {
  deployId: string;
  impactSourceId: string;
  organizationId: string;
  projectId: string;
  projectSlug: string;
  environment: string;
  deployAt: number;
  afterEndsAt: number | null;
  health: Health;
  final: boolean;
  finalAt: number | null;
  baseline: { count: number; minutes: number };
  after: { count: number; minutes: number };
  ratio: number | null;
  ratioInterval: [number, number] | null;
  pValue: number | null;
  excess: number;
  dispersion: number;
  newIssues: NewIssueSeen[];
  explanation: string;
  sparkline: SparklineBin[] | null;
  updatedAt: Date;
}

interface RawImpact {
  deploy_id: string;
  impact_source_id: string;
  organization_id: string;
  project_id: string;
  project_slug: string;
  environment: string;
  deploy_at: Date;
  after_ends_at: Date | null;
  health: Health;
  final: boolean;
  final_at: Date | null;
  baseline_count: number;
  baseline_minutes: number;
  after_count: number;
  after_minutes: number;
  ratio: number | null;
  ratio_low: number | null;
  ratio_high: number | null;
  p_value: number | null;
  excess: number;
  dispersion: number;
  new_issues: NewIssueSeen[];
  explanation: string;
  sparkline: SparklineBin[] | null;
  updated_at: Date;
}

function fromRaw(r: RawImpact): ImpactRow {
  return {
    deployId: r.deploy_id,
    impactSourceId: r.impact_source_id,
    organizationId: r.organization_id,
    projectId: r.project_id,
    projectSlug: r.project_slug,
    environment: r.environment,
    deployAt: r.deploy_at.getTime(),
    afterEndsAt: r.after_ends_at?.getTime() ?? null,
    health: r.health,
    final: r.final,
    finalAt: r.final_at?.getTime() ?? null,
    baseline: { count: r.baseline_count, minutes: r.baseline_minutes },
    after: { count: r.after_count, minutes: r.after_minutes },
    ratio: r.ratio,
    ratioInterval: r.ratio_low !== null && r.ratio_high !== null ? [r.ratio_low, r.ratio_high] : null,
    pValue: r.p_value,
    excess: r.excess,
    dispersion: r.dispersion,
    newIssues: r.new_issues ?? [],
    explanation: r.explanation,
    sparkline: r.sparkline,
    updatedAt: r.updated_at,
  };
}

/** One row per deploy × impact source: the verdict as last judged. */
export class ImpactStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Creates pending rows; existing ones are left alone (idempotent under races and restarts). */
  async createPending(rows: ReadonlyArray<{
    deployId: string;
    impactSourceId: string;
    organizationId: string;
    projectId: string;
    projectSlug: string;
    environment: string;
    deployAt: number;
    afterEndsAt: number | null;
  }>): Promise<number> {
    let created = 0;
    for (const r of rows) {
      const result = await this.dataSource.query(
        `INSERT INTO deploy_impacts (deploy_id, impact_source_id, organization_id, project_id, project_slug, environment, deploy_at, after_ends_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (deploy_id, impact_source_id) DO NOTHING RETURNING deploy_id`,
        [r.deployId, r.impactSourceId, r.organizationId, r.projectId, r.projectSlug, r.environment, new Date(r.deployAt), r.afterEndsAt === null ? null : new Date(r.afterEndsAt)],
      );
      if (Array.isArray(result) && result.length) created++;
    }
    return created;
  }

  /**
   * A new deploy cuts short the after-windows of earlier, still open deploys of the same project
   * and environment: from then on errors belong to the new deploy.
   */
  async cutAfterWindows(organizationId: string, projectId: string, environment: string, deployAt: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE deploy_impacts SET after_ends_at = $4
        WHERE organization_id = $1 AND project_id = $2 AND environment = $3 AND NOT final
          AND deploy_at < $4 AND (after_ends_at IS NULL OR after_ends_at > $4)`,
      [organizationId, projectId, environment, new Date(deployAt)],
    );
  }

  async existingDeployIds(deployIds: readonly string[]): Promise<Set<string>> {
    if (!deployIds.length) return new Set();
    const rows: Array<{ deploy_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT deploy_id FROM deploy_impacts WHERE deploy_id = ANY($1::uuid[])`,
      [deployIds],
    );
    return new Set(rows.map((r) => r.deploy_id));
  }

  async openImpacts(): Promise<ImpactRow[]> {
    const rows: RawImpact[] = await this.dataSource.query(`SELECT * FROM deploy_impacts WHERE NOT final ORDER BY deploy_at`);
    return rows.map(fromRaw);
  }

  async forDeploys(organizationId: string, deployIds: readonly string[]): Promise<ImpactRow[]> {
    if (!deployIds.length) return [];
    const rows: RawImpact[] = await this.dataSource.query(
      `SELECT * FROM deploy_impacts WHERE organization_id = $1 AND deploy_id = ANY($2::uuid[]) ORDER BY impact_source_id`,
      [organizationId, deployIds],
    );
    return rows.map(fromRaw);
  }

  async saveVerdict(row: ImpactRow, verdict: Verdict, newIssues: NewIssueSeen[], sparkline: SparklineBin[], final: boolean): Promise<void> {
    await this.dataSource.query(
      `UPDATE deploy_impacts SET health = $3, final = $4, final_at = $5, baseline_count = $6, baseline_minutes = $7,
              after_count = $8, after_minutes = $9, ratio = $10, ratio_low = $11, ratio_high = $12, p_value = $13,
              excess = $14, dispersion = $15, new_issues = $16, explanation = $17, sparkline = $18, updated_at = now()
        WHERE deploy_id = $1 AND impact_source_id = $2`,
      [
        row.deployId,
        row.impactSourceId,
        verdict.health,
        final,
        new Date(verdict.finalAt),
        verdict.baseline.count,
        verdict.baseline.minutes,
        verdict.after.count,
        verdict.after.minutes,
        finite(verdict.ratio),
        finite(verdict.ratioInterval?.[0]),
        finite(verdict.ratioInterval?.[1]),
        finite(verdict.pValue),
        verdict.excess,
        verdict.dispersion,
        JSON.stringify(newIssues),
        verdict.explanation,
        JSON.stringify(sparkline),
      ],
    );
  }

  /** Sentry disconnect: impacts are derived from Sentry, so they go with it. */
  async deleteForOrganization(tx: EntityManager, organizationId: string): Promise<number> {
    return affectedRows(await tx.query(`DELETE FROM deploy_impacts WHERE organization_id = $1`, [organizationId]));
  }
}

function finite(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
