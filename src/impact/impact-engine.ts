import { randomUUID } from "node:crypto";
import type { DeployForImpact } from "../deploys/deploys-service.js";
import type { DomainEvents } from "../domain-events.js";
import type { Logger } from "../logger.js";
import type { SentryClient } from "../sentry/sentry-client.js";
import { SentryNotConnectedError } from "../sentry/sentry-directory.js";
import { SentryError } from "../sentry/sentry-errors.js";
import { settingsFor } from "./judge-settings.js";
import { judgeDeploy, type BucketCount, type NewIssueSeen, type Sensitivity, type Verdict } from "./judge.js";
import type { ImpactRow, ImpactStore } from "./impact-store.js";
import type { SeriesRow, SeriesStore } from "./series-store.js";
import { buildSparkline } from "./sparkline.js";
import { deployWindow, mergeIntervals, planFetch, spanOf, type Interval } from "./window-plan.js";

/** A deploy as the engine needs it: deploys/ owns the shape (impact/ may import deploys/, not the reverse). */
export type { DeployForImpact };

export interface ImpactSourceForImpact {
  id: string;
  name: string;
  sentryProjectSlug: string | null;
  sentryProjectId: string | null;
  sentryEnvironment: string;
  sensitivity: Sensitivity;
  enabled: boolean;
}

/** What the engine asks of deploys/ (wired in main.ts). */
export interface DeploysPort {
  getDeployForImpact(organizationId: string, deployId: string): Promise<DeployForImpact | null>;
  /** Deploys registered (not deployed) since the given time, any organization: crash-safe reconciliation. */
  listDeploysRegisteredSince(since: Date): Promise<DeployForImpact[]>;
  /** The first later deploy of the same project and environment, for cutting the after-window short. */
  nextDeployAfter(deploy: DeployForImpact): Promise<number | null>;
}

/** What the engine asks of projects/ (wired in main.ts). */
export interface ProjectsPort {
  impactSourcesForDeploy(organizationId: string, projectId: string, environment: string): Promise<ImpactSourceForImpact[]>;
  getImpactSource(organizationId: string, id: string): Promise<ImpactSourceForImpact | null>;
}

/** What the engine asks of sentry/. */
export interface SentryPort {
  isUsable(organizationId: string): Promise<boolean>;
  withClient<T>(organizationId: string, work: (client: SentryClient, sentryOrganization: string) => Promise<T>): Promise<T>;
}

export interface ImpactEngineDeps {
  series: SeriesStore;
  impacts: ImpactStore;
  deploys: DeploysPort;
  projects: ProjectsPort;
  sentry: SentryPort;
  events: DomainEvents;
  logger: Logger;
  now?: () => number;
  /** Identifies this instance in series leases. */
  instanceId?: string;
}

/** A lease outlives any sane poll; a crashed instance's lease frees the series after this. */
const LEASE_MS = 2 * 60_000;
/** Two instances ticking in the same minute: the second sees the series was just polled and skips. */
const MIN_POLL_INTERVAL_MS = 30_000;
/** New issues are asked for at most this often per series (counts are asked every tick). */
const ISSUES_POLL_INTERVAL_MS = 5 * 60_000;
/** Deploys registered this recently are checked for missing impact rows at every tick. */
const RECONCILE_MS = 3 * 3600_000;
/** Raw buckets are kept this long (DESIGN: bounded storage; finals keep their sparkline). */
export const BUCKET_RETENTION_MS = 8 * 24 * 3600_000;

interface SeriesData {
  buckets: BucketCount[];
  issues: NewIssueSeen[];
  issuesPolledAt: number | null;
  /** False for a source without a usable Sentry mapping: nothing will ever arrive. */
  mapped: boolean;
}

const NO_DATA: SeriesData = { buckets: [], issues: [], issuesPolledAt: null, mapped: false };

export interface TickReport {
  seriesPolled: number;
  sentryCalls: number;
  verdictsChanged: number;
  failures: number;
}

/**
 * The impact engine: keeps each open deploy's verdict current. Per tick it takes the open impacts,
 * groups them by error series (Sentry project + environment), polls each series once under a lease
 * (one Sentry call per series: counts, or every few minutes new issues), then re-judges every open
 * impact from the stored series with the pure judge. Sentry traffic therefore grows with series,
 * never with deploys.
 */
export class ImpactEngine {
  private readonly now: () => number;
  readonly instanceId: string;

  constructor(private readonly deps: ImpactEngineDeps) {
    this.now = deps.now ?? Date.now;
    this.instanceId = deps.instanceId ?? `instance-${randomUUID()}`;
  }

  /** A new deploy: pending impact rows at once (no Sentry), and earlier open windows cut short. */
  async onDeployCreated(organizationId: string, deployId: string): Promise<void> {
    const deploy = await this.deps.deploys.getDeployForImpact(organizationId, deployId);
    if (!deploy) return;
    await this.deps.impacts.cutAfterWindows(deploy.organizationId, deploy.projectId, deploy.environment, deploy.timestamp);
    await this.createImpactRows(deploy);
  }

  private async createImpactRows(deploy: DeployForImpact): Promise<number> {
    const sources = await this.deps.projects.impactSourcesForDeploy(deploy.organizationId, deploy.projectId, deploy.environment);
    if (!sources.length) return 0;
    const afterEndsAt = await this.deps.deploys.nextDeployAfter(deploy);
    return this.deps.impacts.createPending(
      sources.map((s) => ({
        deployId: deploy.id,
        impactSourceId: s.id,
        organizationId: deploy.organizationId,
        projectId: deploy.projectId,
        projectSlug: deploy.projectSlug,
        environment: deploy.environment,
        deployAt: deploy.timestamp,
        afterEndsAt,
      })),
    );
  }

  /** Impact rows for recently registered deploys that lack them (a crash between insert and event). */
  async reconcile(): Promise<number> {
    const recent = await this.deps.deploys.listDeploysRegisteredSince(new Date(this.now() - RECONCILE_MS));
    const have = await this.deps.impacts.existingDeployIds(recent.map((d) => d.id));
    let created = 0;
    for (const deploy of recent) if (!have.has(deploy.id)) created += await this.createImpactRows(deploy);
    return created;
  }

  async tick(): Promise<TickReport> {
    const report: TickReport = { seriesPolled: 0, sentryCalls: 0, verdictsChanged: 0, failures: 0 };
    await this.reconcile();
    const open = await this.deps.impacts.openImpacts();
    if (!open.length) return report;

    // Impact sources, once per tick.
    const sources = new Map<string, ImpactSourceForImpact | null>();
    for (const row of open) {
      if (!sources.has(row.impactSourceId)) {
        sources.set(row.impactSourceId, await this.deps.projects.getImpactSource(row.organizationId, row.impactSourceId));
      }
    }

    // Group open impacts by series.
    const groups = new Map<string, { organizationId: string; sentryProjectId: string; sentryEnvironment: string; rows: ImpactRow[] }>();
    const unmapped: ImpactRow[] = [];
    for (const row of open) {
      const source = sources.get(row.impactSourceId);
      if (!source || !source.sentryProjectId || !source.enabled) {
        unmapped.push(row);
        continue;
      }
      const key = `${row.organizationId}\u0000${source.sentryProjectId}\u0000${source.sentryEnvironment}`;
      let group = groups.get(key);
      if (!group) {
        group = { organizationId: row.organizationId, sentryProjectId: source.sentryProjectId, sentryEnvironment: source.sentryEnvironment, rows: [] };
        groups.set(key, group);
      }
      group.rows.push(row);
    }

    for (const group of groups.values()) {
      const series = await this.deps.series.ensureSeries(group);
      try {
        const calls = await this.pollSeries(series, group.rows);
        if (calls > 0) report.seriesPolled++;
        report.sentryCalls += calls;
      } catch (error) {
        report.failures++;
        this.deps.logger.warn({ err: error, seriesId: series.id }, "polling a Sentry series failed");
      }
      const data = await this.loadSeriesData(series.id, group.rows);
      for (const row of group.rows) {
        if (await this.judge(row, data, sources.get(row.impactSourceId)!.sensitivity)) report.verdictsChanged++;
      }
    }
    // Sources without a usable Sentry mapping still close: with no data the judge says no_data.
    for (const row of unmapped) {
      if (await this.judge(row, NO_DATA, sources.get(row.impactSourceId)?.sensitivity ?? "medium")) report.verdictsChanged++;
    }
    return report;
  }

  /** Polls one series under its lease; answers how many Sentry calls it made (0 or 1). */
  private async pollSeries(series: SeriesRow, rows: ImpactRow[]): Promise<number> {
    if (!(await this.deps.sentry.isUsable(series.organizationId))) return 0;
    const now = this.now();
    if (!(await this.deps.series.tryLease(series.id, this.instanceId, now, LEASE_MS, MIN_POLL_INTERVAL_MS))) return 0;
    let issuesPolled = false;
    let error: string | null = null;
    let calls = 0;
    try {
      const settings = settingsFor("medium"); // windows and buckets do not depend on sensitivity
      const windows = rows.map((r) => deployWindow(r.deployAt, settings, r.afterEndsAt));
      const needed = mergeIntervals(windows.map((w) => ({ start: w.baselineStart, end: w.afterEnd })));
      const span = spanOf(needed)!;
      const settled = await this.deps.series.settledIntervals(series.id, span, settings.bucketMs, settings.settleMs);
      const plan = planFetch({ needed, settled, now, bucketMs: settings.bucketMs, settleMs: settings.settleMs });

      const earliestDeploy = Math.min(...rows.map((r) => r.deployAt));
      const windowClosedSincePoll = windows.some((w) => w.afterEnd <= now && (series.issuesPolledAt ?? 0) < w.afterEnd);
      const issuesDue = series.issuesPolledAt === null || now - series.issuesPolledAt >= ISSUES_POLL_INTERVAL_MS || windowClosedSincePoll;
      // One Sentry call per series per tick: counts first (the verdict rests on them), new issues
      // when no counts are missing or they are due; counts missed then are fetched next tick.
      const countsNow = plan.length > 0 && (!issuesDue || series.lastPolledAt === null);
      if (countsNow) {
        const range: Interval = spanOf(plan)!;
        const buckets = await this.deps.sentry.withClient(series.organizationId, (client, org) =>
          client.errorCounts({ org, projectId: series.sentryProjectId, environment: series.sentryEnvironment, start: new Date(range.start), end: new Date(range.end) }),
        );
        calls++;
        await this.deps.series.upsertBuckets(series.id, buckets, now);
      } else if (issuesDue) {
        const issues = await this.deps.sentry.withClient(series.organizationId, (client, org) =>
          client.issuesFirstSeenSince({ org, projectId: series.sentryProjectId, environment: series.sentryEnvironment, since: new Date(earliestDeploy) }),
        );
        calls++;
        await this.deps.series.upsertIssues(series.id, issues);
        issuesPolled = true;
      }
    } catch (caught) {
      error = caught instanceof SentryError || caught instanceof SentryNotConnectedError ? caught.message : String(caught);
      throw caught;
    } finally {
      await this.deps.series.releaseLease(series.id, this.instanceId, now, { issuesPolled, error });
    }
    return calls;
  }

  /** Everything the open impacts of one series need, read once (not once per deploy). */
  private async loadSeriesData(seriesId: string, rows: ImpactRow[]): Promise<SeriesData> {
    const settings = settingsFor("medium");
    const span = spanOf(rows.map((r) => {
      const w = deployWindow(r.deployAt, settings, r.afterEndsAt);
      return { start: w.baselineStart, end: w.afterEnd };
    }))!;
    return {
      buckets: await this.deps.series.buckets(seriesId, span),
      issues: await this.deps.series.issuesFirstSeenIn(seriesId, span),
      issuesPolledAt: await this.deps.series.issuesPolledAt(seriesId),
      mapped: true,
    };
  }

  /** Re-judges one impact from stored data; saves and announces it only when something changed. */
  private async judge(row: ImpactRow, data: SeriesData, sensitivity: Sensitivity): Promise<boolean> {
    const now = this.now();
    const settings = settingsFor(sensitivity);
    const window = deployWindow(row.deployAt, settings, row.afterEndsAt);
    const buckets = data.buckets.filter((b) => b.start >= window.baselineStart && b.start < window.afterEnd);
    const firstSeenIn = (i: NewIssueSeen) => {
      const t = Date.parse(i.firstSeen);
      return t >= row.deployAt && t < window.afterEnd;
    };
    const newIssues = data.issues.filter(firstSeenIn);
    const verdict = judgeDeploy({ deployAt: row.deployAt, now, sensitivity, buckets, newIssues, afterEndsAt: row.afterEndsAt });
    const sparkline = buildSparkline(buckets, window.deployAt, window.afterEnd);
    // Final only once new issues were asked for after the window closed (or we gave up waiting).
    const issuesCurrent = !data.mapped || (data.issuesPolledAt !== null && data.issuesPolledAt >= window.afterEnd) || now >= window.afterEnd + settings.giveUpMs;
    const final = verdict.final && issuesCurrent;
    if (!this.changed(row, verdict, newIssues, final, sparkline)) return false;
    await this.deps.impacts.saveVerdict(row, verdict, newIssues, sparkline, final);
    this.deps.events.emit("deploy.impact", {
      organizationId: row.organizationId,
      projectId: row.projectId,
      projectSlug: row.projectSlug,
      deployId: row.deployId,
    });
    return true;
  }

  private changed(row: ImpactRow, v: Verdict, newIssues: unknown[], final: boolean, sparkline: unknown): boolean {
    return (
      row.health !== v.health ||
      row.final !== final ||
      row.baseline.count !== v.baseline.count ||
      row.baseline.minutes !== v.baseline.minutes ||
      row.after.count !== v.after.count ||
      row.after.minutes !== v.after.minutes ||
      row.explanation !== v.explanation ||
      JSON.stringify(row.newIssues) !== JSON.stringify(newIssues) ||
      JSON.stringify(row.sparkline) !== JSON.stringify(sparkline)
    );
  }

  /** Bounded storage: drop raw buckets and issues no open window or sparkline needs. */
  async prune(): Promise<{ buckets: number; issues: number }> {
    return this.deps.series.prune(this.now() - BUCKET_RETENTION_MS);
  }
}
