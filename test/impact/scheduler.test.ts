import { expect } from "chai";
import { Scheduler } from "../../src/impact/scheduler.js";
import { createLogger } from "../../src/logger.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";

async function count(metrics: Metrics, job: string, outcome: string): Promise<number> {
  const metric = await metrics.jobRuns.get();
  return metric.values.find((v) => v.labels.job === job && v.labels.outcome === outcome)?.value ?? 0;
}

describe("scheduler", () => {
  const logger = createLogger("silent");

  it("when a job is asked to run while it is still running, then it does not overlap itself and the skip is counted", async () => {
    const metrics = createMetrics();
    let runs = 0;
    let release!: () => void;
    const scheduler = new Scheduler(
      [{ name: "slow", schedule: "* * * * *", run: () => { runs++; return new Promise<void>((r) => (release = r)); } }],
      { logger, metrics },
    );
    const first = scheduler.runNow("slow");
    const second = scheduler.runNow("slow");
    release();
    await Promise.all([first, second]);
    expect(runs).to.equal(1);
    expect(await count(metrics, "slow", "skipped_overlap")).to.equal(1);
    expect(await count(metrics, "slow", "ok")).to.equal(1);
  });

  it("when a job fails, then the failure is counted and nothing is thrown", async () => {
    const metrics = createMetrics();
    const scheduler = new Scheduler([{ name: "broken", schedule: "* * * * *", run: async () => { throw new Error("boom"); } }], { logger, metrics });
    await scheduler.runNow("broken");
    await scheduler.runNow("broken");
    expect(await count(metrics, "broken", "failed")).to.equal(2);
  });

  it("when runs are requested soon many times, then they coalesce into one run", async () => {
    const metrics = createMetrics();
    let runs = 0;
    const scheduler = new Scheduler([{ name: "poll", schedule: "* * * * *", run: async () => { runs++; } }], { logger, metrics });
    for (let i = 0; i < 20; i++) scheduler.runSoon("poll", 20);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).to.equal(1);
    await scheduler.stop();
  });

  it("when stopped, then a run in flight is awaited and later requests do nothing", async () => {
    const metrics = createMetrics();
    let finished = false;
    let runs = 0;
    const scheduler = new Scheduler(
      [{ name: "job", schedule: "* * * * *", run: async () => { runs++; await new Promise((r) => setTimeout(r, 30)); finished = true; } }],
      { logger, metrics },
    );
    scheduler.start();
    void scheduler.runNow("job");
    scheduler.runSoon("job", 5);
    await scheduler.stop();
    expect(finished).to.equal(true);
    await new Promise((r) => setTimeout(r, 20));
    await scheduler.runNow("job");
    expect(runs).to.equal(1);
  });
});
