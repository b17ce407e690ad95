import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";

export interface Job {
  name: string;
  /** node-cron expression. */
  schedule: string;
  run: () => Promise<unknown>;
}

/**
 * Every periodic job, registered in one place (main.ts hands the list in). A job never overlaps
 * itself: a run that starts while the previous one is still going is skipped and counted.
 * Failures are logged and counted, never thrown into the process. `stop()` waits for runs in flight.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly soon = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly jobs: readonly Job[],
    private readonly deps: { logger: Logger; metrics: Metrics },
  ) {}

  start(): void {
    for (const job of this.jobs) {
      this.tasks.push(cron.schedule(job.schedule, () => void this.runNow(job.name), { name: job.name, noOverlap: false }));
    }
  }

  /** Runs a job now unless it is already running (then the running one is awaited instead). */
  runNow(name: string): Promise<void> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) return Promise.reject(new Error(`no job named ${name}`));
    const inFlight = this.running.get(name);
    if (inFlight) {
      this.deps.metrics.jobRuns.inc({ job: name, outcome: "skipped_overlap" });
      return inFlight;
    }
    if (this.stopped) return Promise.resolve();
    const stopTimer = this.deps.metrics.jobDuration.startTimer({ job: name });
    const run = (async () => {
      try {
        const result = await job.run();
        this.deps.metrics.jobRuns.inc({ job: name, outcome: "ok" });
        this.deps.logger.debug({ job: name, result }, "job finished");
      } catch (error) {
        this.deps.metrics.jobRuns.inc({ job: name, outcome: "failed" });
        this.deps.logger.error({ err: error, job: name }, "job failed");
      } finally {
        stopTimer();
        this.running.delete(name);
      }
    })();
    this.running.set(name, run);
    return run;
  }

  /**
   * Asks for a run shortly, coalescing requests: a burst of deploys registered together causes one
   * extra run after `delayMs`, not one per deploy.
   */
  runSoon(name: string, delayMs = 1000): void {
    if (this.stopped || this.soon.has(name)) return;
    const timer = setTimeout(() => {
      this.soon.delete(name);
      void this.runNow(name);
    }, delayMs);
    timer.unref();
    this.soon.set(name, timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.soon.values()) clearTimeout(timer);
    this.soon.clear();
    for (const task of this.tasks) await task.stop();
    await Promise.all(this.running.values());
  }
}
