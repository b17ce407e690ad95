import type { DeploySource } from "./deploy-entities.js";
import type { DeployDetails } from "./deploy-request.js";

/** A stored deploy as plain data (no ORM types leave src/deploys/). */
export interface DeployRecord extends DeployDetails {
  id: string;
  organizationId: string;
  projectId: string;
  environment: string;
  version: string;
  /** When the deploy happened (finished); its impact is measured from here. */
  timestamp: Date;
  rollback: boolean;
  /** The rollback deploy that went back past this one, if any. */
  rolledBackBy: string | null;
  createdAt: Date;
}

export type DeployHealth = "pending" | "healthy" | "ailing" | "unhealthy" | "improved" | "no_data";

/** The impact part of a deploy object, as the impact engine reports it. */
export interface DeployImpactSummary {
  /** The worst health over the deploy's impact sources. */
  health: DeployHealth | string;
  /** True once every impact window has closed. */
  final: boolean;
  /** DESIGN.md's impact objects ({impactSource, health, final, baseline, after, ratio, …}). */
  impacts: object[];
}

/**
 * Port: the impact engine (src/impact/, built later) tells the deploy object its health and
 * impacts. deploys/ must not import impact/ (the arrow points the other way), so main.ts hands in
 * an implementation; until then `noImpactSources` answers for every deploy.
 */
export interface DeployImpactsReader {
  impactsFor(organizationId: string, deployIds: string[]): Promise<Map<string, DeployImpactSummary>>;
}

/** What a deploy shows before any impact source judged it: pending, not final, no impacts. */
export const PENDING_IMPACT: DeployImpactSummary = Object.freeze({ health: "pending", final: false, impacts: [] as object[] });

export const noImpactSources: DeployImpactsReader = {
  async impactsFor() {
    return new Map();
  },
};

/** DESIGN.md's deploy object, plus `name`, `links`, `rolledBack` and `rolledBackBy` (additive). */
export interface DeployObject {
  id: string;
  project: string;
  environment: string;
  version: string;
  timestamp: string;
  author: string | null;
  url: string | null;
  tags: string[];
  source: DeploySource;
  rollback: boolean;
  health: string;
  final: boolean;
  impacts: object[];
  name: string | null;
  links: Record<string, string>;
  rolledBack: boolean;
  rolledBackBy: string | null;
}

/**
 * The one place the deploy object's shape is written. The API, the native POST, socket.io's
 * `deploy.created`/`deploy.impact` and the deploy cards all use it, so they cannot drift apart.
 */
export function toDeployObject(deploy: DeployRecord, projectSlug: string, impact: DeployImpactSummary = PENDING_IMPACT): DeployObject {
  return {
    id: deploy.id,
    project: projectSlug,
    environment: deploy.environment,
    version: deploy.version,
    timestamp: deploy.timestamp.toISOString(),
    author: deploy.author,
    url: deploy.url,
    tags: [...deploy.tags],
    source: deploy.source,
    rollback: deploy.rollback,
    health: impact.health,
    final: impact.final,
    impacts: impact.impacts,
    name: deploy.name,
    links: { ...deploy.links },
    rolledBack: deploy.rolledBackBy !== null,
    rolledBackBy: deploy.rolledBackBy,
  };
}
