import type { Health } from "./judge.js";
import type { ImpactStore } from "./impact-store.js";
import type { ProjectsPort } from "./impact-engine.js";
import type { SparklineBin } from "./sparkline.js";

/** One entry of the deploy object's `impacts` (DESIGN.md), plus display extras for the cards. */
export interface DeployImpactObject {
  impactSource: { id: string; name: string; sentryProject: string | null; sentryEnvironment: string };
  health: Health;
  final: boolean;
  baseline: { count: number; minutes: number };
  after: { count: number; minutes: number };
  ratio: number | null;
  ratioInterval: [number, number] | null;
  pValue: number | null;
  excess: number;
  newIssues: Array<{ shortId: string; permalink: string; firstSeen: string }>;
  explanation: string;
  updatedAt: string;
  finalAt: string | null;
  dispersion: number;
  sparkline: SparklineBin[];
}

export interface DeployHealth {
  health: Health;
  final: boolean;
  impacts: DeployImpactObject[];
}

/**
 * A deploy's overall health is the worst of its sources. "Worst" ranks an undecided source above a
 * good one (a deploy is not healthy while a source is still pending), and no_data lowest: a source
 * Sentry could not answer for says nothing against the others.
 */
const OVERALL_RANK: Record<Health, number> = { unhealthy: 5, ailing: 4, pending: 3, healthy: 2, improved: 1, no_data: 0 };

export function overallHealth(healths: readonly Health[]): Health {
  if (!healths.length) return "no_data";
  return healths.reduce((worst, h) => (OVERALL_RANK[h] > OVERALL_RANK[worst] ? h : worst));
}

export class DeployImpactsReader {
  constructor(
    private readonly impacts: ImpactStore,
    private readonly projects: ProjectsPort,
  ) {}

  async impactsFor(organizationId: string, deployIds: readonly string[]): Promise<Map<string, DeployHealth>> {
    const rows = await this.impacts.forDeploys(organizationId, deployIds);
    const sources = new Map<string, Awaited<ReturnType<ProjectsPort["getImpactSource"]>>>();
    for (const row of rows) {
      if (!sources.has(row.impactSourceId)) sources.set(row.impactSourceId, await this.projects.getImpactSource(organizationId, row.impactSourceId));
    }
    const out = new Map<string, DeployHealth>();
    for (const row of rows) {
      const source = sources.get(row.impactSourceId);
      const impact: DeployImpactObject = {
        impactSource: {
          id: row.impactSourceId,
          name: source?.name ?? "removed source",
          sentryProject: source?.sentryProjectSlug ?? null,
          sentryEnvironment: source?.sentryEnvironment ?? row.environment,
        },
        health: row.health,
        final: row.final,
        baseline: row.baseline,
        after: row.after,
        ratio: row.ratio,
        ratioInterval: row.ratioInterval,
        pValue: row.pValue,
        excess: row.excess,
        newIssues: row.newIssues.map((i) => ({ shortId: i.shortId, permalink: i.permalink, firstSeen: i.firstSeen })),
        explanation: row.explanation,
        updatedAt: row.updatedAt.toISOString(),
        finalAt: row.finalAt ? new Date(row.finalAt).toISOString() : null,
        dispersion: row.dispersion,
        sparkline: row.sparkline ?? [],
      };
      const entry = out.get(row.deployId) ?? { health: "pending" as Health, final: true, impacts: [] };
      entry.impacts.push(impact);
      out.set(row.deployId, entry);
    }
    for (const entry of out.values()) {
      entry.health = overallHealth(entry.impacts.map((i) => i.health));
      entry.final = entry.impacts.every((i) => i.final);
    }
    return out;
  }
}
