import { expect } from "chai";
import {
  judgeDeploy,
  type BucketCount,
  type Health,
  type JudgeInput,
  type NewIssueSeen,
  type Sensitivity,
  type Verdict,
} from "../../src/impact/judge.js";
import { settingsFor } from "../../src/impact/judge-settings.js";
import { rateDropP } from "../../src/impact/poisson-rate-test.js";
import { exactLowerTail, exactUpperTail, mulberry32, poisson } from "./helpers.js";

const MIN = 60_000;
const D = Date.UTC(2025, 2, 10, 12, 0, 0); // the deploy, on a minute boundary
const at = (minutes: number) => D + minutes * MIN;

/** One bucket per minute in [from, to) (minutes relative to the deploy), count given per minute. */
function minutes(from: number, to: number, count: (minute: number) => number): BucketCount[] {
  const out: BucketCount[] = [];
  for (let m = from; m < to; m++) out.push({ start: at(m), count: count(m) });
  return out;
}
const steady = (perMinute: number) => () => perMinute;
const baseline = (perMinute: number) => minutes(-360, 0, steady(perMinute));

function judge(partial: Partial<JudgeInput> & Pick<JudgeInput, "buckets">): Verdict {
  return judgeDeploy({
    deployAt: D,
    now: at(70),
    sensitivity: "medium",
    newIssues: [],
    ...partial,
  });
}

const issue = (shortId: string, count: number): NewIssueSeen => ({
  shortId,
  permalink: `https://sentry.example/issues/${shortId}/`,
  firstSeen: new Date(at(3)).toISOString(),
  count,
});

/** improved < healthy < ailing < unhealthy; pending and no_data are not judgements. */
const SEVERITY: Partial<Record<Health, number>> = { improved: 0, healthy: 1, ailing: 2, unhealthy: 3 };

describe("judge", () => {
  describe("hand-worked verdicts", () => {
    it("when errors step up from 1/min to 5/min, then unhealthy, resting on the full hour", () => {
      // kb = 360 over 360 min (φ = 1: every 5-minute bucket holds 5), ka = 300 over 60 min.
      // The busiest after-minute (5) counts as the busiest baseline minute (1): tested ka = 296.
      // ρ0 = 1.5: π = 90/450 = 1/5, E[X] = 656/5 = 131 ≪ 296, p ≈ 0 < 0.01·0.4; excess 240 ≥ 10.
      const v = judge({ buckets: [...baseline(1), ...minutes(0, 60, steady(5))] });
      expect(v.health).to.equal("unhealthy");
      expect(v.final).to.equal(true);
      expect(v.checkpointMinutes).to.equal(60);
      expect(v.baseline).to.deep.equal({ count: 360, minutes: 360 });
      expect(v.after).to.deep.equal({ count: 300, minutes: 60 });
      expect(v.ratio).to.equal(5);
      expect(v.excess).to.equal(240);
      expect(v.dispersion).to.equal(1);
      expect(v.pValue).to.be.a("number").and.below(1e-50);
      expect(v.ratioInterval).to.be.an("array");
      expect(v.ratioInterval![0]).to.be.above(4).and.below(5);
      expect(v.ratioInterval![1]).to.be.above(5).and.below(6.5);
      expect(v.explanation).to.contain("errors 1.0/min → 5.0/min, ×5.0, p < 0.001, +240 errors");
      expect(v.finalAt).to.equal(at(65));
    });

    it("when errors rise a little (2/min → 2.5/min), then ailing at 60 min with p = P[Bin(869, 1/7) ≥ 149]", () => {
      // After: 2, 3, 2, 3, … = 150 errors; the busiest minute (3) counts as 2: tested ka = 149.
      // kb = 720 over 360 min, ta = 60: π = 1/7, n = 869: p = 0.01036 (exact sum) < 0.05·0.4 = 0.02,
      // excess 150 − 120 = 30 ≥ 3. ρ0 = 1.5: π = 1/5, E[X] = 174 > 149: not unhealthy.
      // At 30 min: p = P[Bin(794, 1/13) ≥ 74] ≈ 0.04 > 0.05·0.3: the earlier looks are healthy.
      const v = judge({ buckets: [...baseline(2), ...minutes(0, 60, (m) => (m % 2 === 0 ? 2 : 3))] });
      expect(v.health).to.equal("ailing");
      expect(v.checkpointMinutes).to.equal(60);
      expect(v.after).to.deep.equal({ count: 150, minutes: 60 });
      expect(v.excess).to.equal(30);
      expect(v.pValue).to.be.closeTo(exactUpperTail(869, 1, 6, 149), 1e-9);
      expect(v.pValue).to.be.closeTo(0.010360224497830767, 1e-9);
      expect(exactUpperTail(794, 1, 12, 74)).to.be.above(0.05 * 0.3); // the 30-min look
      expect(v.ratio).to.equal(1.25);
    });

    it("when errors stay flat at 2/min, then healthy with p = P[Bin(840, 1/7) ≥ 120]", () => {
      const v = judge({ buckets: [...baseline(2), ...minutes(0, 60, steady(2))] });
      expect(v.health).to.equal("healthy");
      expect(v.ratio).to.equal(1);
      expect(v.excess).to.equal(0);
      expect(v.pValue).to.be.closeTo(exactUpperTail(840, 1, 6, 120), 1e-9);
      expect(v.explanation).to.match(/^healthy at 60 min: errors 2\.0\/min → 2\.0\/min, ×1\.0, p = 0\.\d{3}, \+0 errors$/);
    });

    it("when errors drop from 2/min to 0.5/min, then improved", () => {
      // Raw ka = 30, kb = 720. Improvement test at ρ0 = 2/3: π = 40/400 = 1/10, n = 750,
      // P[X ≤ 30] ≈ 1e-10 < 0.01, and the drop 120 − 30 = 90 ≥ 10.
      const v = judge({ buckets: [...baseline(2), ...minutes(0, 60, (m) => (m % 2 === 0 ? 1 : 0))] });
      expect(v.health).to.equal("improved");
      expect(v.ratio).to.equal(0.25);
      expect(v.excess).to.equal(-90);
      const pDrop = rateDropP({ count: 30, time: 60 }, { count: 720, time: 360 }, 2 / 3);
      expect(pDrop).to.be.closeTo(exactLowerTail(750, 1, 9, 30), 1e-15);
      expect(pDrop).to.be.below(0.01);
      // The reported p-value is the ρ0 = 1 drop test: P[Bin(750, 1/7) ≤ 30].
      expect(v.pValue).to.be.closeTo(exactLowerTail(750, 1, 6, 30), 1e-15);
      expect(v.ratioInterval![1]).to.be.below(0.4);
      expect(v.explanation).to.equal("improved at 60 min: errors 2.0/min → 0.5/min, ×0.25, p < 0.001, −90 errors");
    });

    it("when errors drop only a little (2/min → 1.8/min), then healthy, not improved", () => {
      // ka = 108, 12 fewer than predicted, but at ρ0 = 2/3 E[X] = 82.8 < 108: no evidence of a
      // drop by a third.
      const v = judge({ buckets: [...baseline(2), ...minutes(0, 60, (m) => (m % 10 === 0 ? 0 : 2))] });
      expect(v.after.count).to.equal(108);
      expect(v.health).to.equal("healthy");
    });

    it("when the baseline is bursty (φ ≈ 5), then a rise that is a regression on a steady baseline is healthy", () => {
      // Baseline 5-minute sums alternate 10, 0 (2/min then nothing): mean 5, sample variance
      // 72·25/71, φ = 25.35/5 = 360/71 = 5.0704. Same rate (1/min) as the steady baseline below.
      const bursty = minutes(-360, 0, (m) => (Math.floor((m + 360) / 5) % 2 === 0 ? 2 : 0));
      // After: 96 errors (36 minutes of 2, 24 of 1), never busier than the baseline's 2.
      const after = minutes(0, 60, (m) => (m < 36 ? 2 : 1));
      const v = judge({ buckets: [...bursty, ...after] });
      expect(v.dispersion).to.be.closeTo(360 / 71, 1e-12);
      // ÷ φ: ka = 18.9, kb = 71 → P[X ≥ 18.9 | n = 89.9, π = 1/7] ≈ 0.03 > 0.02.
      expect(v.health).to.equal("healthy");
      const onSteady = judge({ buckets: [...minutes(-360, 0, steady(1)), ...after] });
      expect(onSteady.dispersion).to.equal(1);
      expect(SEVERITY[onSteady.health]).to.be.at.least(SEVERITY.ailing!);
    });

    it("when the baseline had no errors and 5 came after, then ailing with a null ratio and interval", () => {
      // kb = 0: p = π^ka. The lone-burst rule lowers the busiest minute (1) to the baseline's 0:
      // tested ka = 4, p = (1/7)^4 = 4.2e-4 < 0.02, excess 5 ≥ 3; at ρ0 = 1.5, excess < 10.
      const v = judge({ buckets: [...baseline(0), ...minutes(0, 60, (m) => (m % 12 === 0 ? 1 : 0))] });
      expect(v.health).to.equal("ailing");
      expect(v.ratio).to.equal(null);
      expect(v.ratioInterval).to.equal(null);
      expect(v.pValue).to.be.closeTo((1 / 7) ** 4, 1e-12);
      expect(JSON.parse(JSON.stringify(v))).to.deep.equal(v);
    });
  });

  describe("missing data", () => {
    it("when Sentry answered for nothing, then pending while the window is open and no_data once closed", () => {
      const open = judge({ buckets: [], now: at(30) });
      expect(open.health).to.equal("pending");
      expect(open.final).to.equal(false);
      const closed = judge({ buckets: [], now: at(61) });
      expect(closed.health).to.equal("no_data");
      expect(closed.final).to.equal(false); // the after buckets may still come
      expect(closed.explanation).to.contain("no minute of the baseline nor of the after-window");
      const givenUp = judge({ buckets: [], now: at(90) });
      expect(givenUp.health).to.equal("no_data");
      expect(givenUp.final).to.equal(true);
      expect(givenUp.ratio).to.equal(null);
      expect(givenUp.pValue).to.equal(null);
    });

    it("when only the baseline is missing, then no_data at close: there is no rate to compare with", () => {
      const v = judge({ buckets: minutes(0, 60, steady(3)) });
      expect(v.health).to.equal("no_data");
      expect(v.after).to.deep.equal({ count: 180, minutes: 60 });
      expect(v.explanation).to.contain("baseline");
      expect(judge({ buckets: minutes(0, 60, steady(3)), now: at(20) }).health).to.equal("pending");
    });

    it("when only the after-window is missing, then no_data at close", () => {
      const v = judge({ buckets: baseline(2), now: at(61) });
      expect(v.health).to.equal("no_data");
      expect(v.explanation).to.contain("no minute after the deploy");
    });

    it("when half the baseline is unknown, then rates use the known minutes only", () => {
      const half = baseline(2).filter((_, i) => i % 2 === 0);
      const v = judge({ buckets: [...half, ...minutes(0, 60, steady(2))] });
      expect(v.baseline).to.deep.equal({ count: 360, minutes: 180 });
      expect(v.ratio).to.equal(1);
      expect(v.health).to.equal("healthy");
      // No complete 5-minute bucket is left: φ falls back to 1.
      expect(v.dispersion).to.equal(1);
    });

    it("when buckets lie outside both windows, then they are ignored", () => {
      const buckets = [...baseline(2), ...minutes(0, 60, steady(2))];
      const noisy = [...buckets, ...minutes(-400, -360, steady(500)), ...minutes(60, 120, steady(500))];
      expect(judge({ buckets: noisy })).to.deep.equal(judge({ buckets }));
    });

    it("when the buckets come in another order, then the verdict is the same", () => {
      const buckets = [...baseline(1), ...minutes(0, 60, (m) => (m % 3 === 0 ? 4 : 1))];
      const shuffled = [...buckets];
      const random = mulberry32(7);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      expect(judge({ buckets: shuffled })).to.deep.equal(judge({ buckets }));
    });
  });

  describe("provisional and final", () => {
    const buckets = [...baseline(2), ...minutes(0, 60, steady(2))];

    it("when the window has just closed, then the verdict is provisional until the settle delay has passed", () => {
      const closing = judge({ buckets, now: at(60) });
      expect(closing.health).to.equal("healthy");
      expect(closing.checkpointMinutes).to.equal(60);
      expect(closing.final).to.equal(false);
      expect(closing.finalAt).to.equal(at(65));
      const settled = judge({ buckets, now: at(65) });
      expect(settled.final).to.equal(true);
    });

    it("when an after bucket is still missing, then not final until the give-up delay, then final with what there is", () => {
      const gap = buckets.filter((b) => b.start !== at(42));
      expect(judge({ buckets: gap, now: at(65) }).final).to.equal(false);
      expect(judge({ buckets: gap, now: at(65) }).checkpointMinutes).to.equal(30);
      const givenUp = judge({ buckets: gap, now: at(90) });
      expect(givenUp.final).to.equal(true);
      expect(givenUp.checkpointMinutes).to.equal(60);
      expect(givenUp.after).to.deep.equal({ count: 118, minutes: 59 });
    });
  });

  describe("checkpoints", () => {
    const buckets = [...baseline(1), ...minutes(0, 60, steady(1))];

    it("when the first 5 minutes have not elapsed, then pending even with data", () => {
      const v = judge({ buckets, now: at(5) - 1 });
      expect(v.health).to.equal("pending");
      expect(v.checkpointMinutes).to.equal(null);
      expect(v.pValue).to.equal(null);
      expect(v.explanation).to.contain("waiting for the first 5 min");
    });

    it("when 5 minutes have elapsed with their data known, then judged on those 5 minutes", () => {
      const v = judge({ buckets: buckets.filter((b) => b.start < at(5)), now: at(5) });
      expect(v.health).to.equal("healthy");
      expect(v.checkpointMinutes).to.equal(5);
      expect(v.after).to.deep.equal({ count: 5, minutes: 5 });
    });

    it("when a bucket of the first checkpoint is missing, then pending until the give-up delay, then judged on the known minutes", () => {
      const gap = buckets.filter((b) => b.start !== at(3));
      const waiting = judge({ buckets: gap, now: at(6) });
      expect(waiting.health).to.equal("pending");
      expect(waiting.explanation).to.contain("waiting for Sentry");
      const givenUp = judge({ buckets: gap, now: at(35) });
      expect(givenUp.health).to.equal("healthy");
      expect(givenUp.checkpointMinutes).to.equal(5); // 15 and 30 are still waiting for minute 3
      expect(givenUp.after).to.deep.equal({ count: 4, minutes: 4 });
    });

    it("when a regression shows at 15 min and the rest of the hour is quiet, then the health stays unhealthy", () => {
      // 4/min for 15 min (60 errors), then nothing: the full hour has exactly the baseline rate.
      // At 15 min: tested ka = 60 − 3 = 57 vs 15 expected; ρ0 = 1.5: π = 22.5/382.5, n = 417,
      // E[X] = 24.5, p ≈ 1e-8 < 0.01·0.2; excess 45 ≥ 10.
      const spike = [...baseline(1), ...minutes(0, 60, (m) => (m < 15 ? 4 : 0))];
      const at20 = judge({ buckets: spike, now: at(20) });
      expect(at20.health).to.equal("unhealthy");
      expect(at20.checkpointMinutes).to.equal(15);
      const at70 = judge({ buckets: spike, now: at(70) });
      expect(at70.health).to.equal("unhealthy");
      expect(at70.checkpointMinutes).to.equal(15);
      expect(at70.after).to.deep.equal({ count: 60, minutes: 15 });
      expect(at70.final).to.equal(true);
    });

    it("when a rise is tested at 5 min, then it must beat that checkpoint's share of α (0.1 × 0.05)", () => {
      // Baseline 0, 2, 0, 2, … (1/min, busiest minute 2; 5-minute sums 4 and 6, so φ = 1).
      const s = settingsFor("medium");
      expect(s.alphaWeights.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
      expect(s.alphaWeights[0]!).to.be.below(s.alphaWeights[3]!);
      const base = minutes(-360, 0, (m) => (m % 2 === 0 ? 0 : 2));
      // 3/min: tested ka = 15 − 1 = 14, p = P[Bin(374, 5/365) ≥ 14] = 7.9e-4 < 0.005, excess 10.
      const early = judge({ buckets: [...base, ...minutes(0, 5, steady(3))], now: at(5) });
      expect(early.checkpointMinutes).to.equal(5);
      expect(early.dispersion).to.equal(1);
      expect(early.pValue).to.be.closeTo(exactUpperTail(374, 5, 360, 14), 1e-9);
      expect(early.health).to.equal("ailing");
      // 2/min: ka = 10, p = P[Bin(370, 5/365) ≥ 10] = 0.033: below 0.05, not below 0.005.
      const weak = judge({ buckets: [...base, ...minutes(0, 5, steady(2))], now: at(5) });
      expect(weak.pValue).to.be.closeTo(exactUpperTail(370, 5, 360, 10), 1e-9);
      expect(weak.pValue).to.be.closeTo(0.0333, 1e-4);
      expect(weak.health).to.equal("healthy");
    });
  });

  describe("new issues", () => {
    const flat = [...baseline(2), ...minutes(0, 60, steady(2))];

    it("when a new issue has recurred (3 events), then healthy is lifted to ailing and the explanation says so", () => {
      const v = judge({ buckets: flat, newIssues: [issue("API-7", 3), issue("API-8", 1)] });
      expect(v.health).to.equal("ailing");
      expect(v.newIssueCount).to.equal(2);
      expect(v.explanation).to.contain("2 new issues");
      expect(v.explanation).to.contain("API-7 recurred (3 events)");
    });

    it("when new issues have one or two events each, then they are counted but the health stays healthy", () => {
      const v = judge({ buckets: flat, newIssues: [issue("API-8", 1), issue("API-9", 2)] });
      expect(v.health).to.equal("healthy");
      expect(v.newIssueCount).to.equal(2);
      expect(v.explanation).to.contain("2 new issues");
    });

    it("when errors dropped but a new issue recurred, then ailing, not improved", () => {
      const drop = [...baseline(2), ...minutes(0, 60, (m) => (m % 2 === 0 ? 1 : 0))];
      expect(judge({ buckets: drop }).health).to.equal("improved");
      expect(judge({ buckets: drop, newIssues: [issue("API-7", 5)] }).health).to.equal("ailing");
    });

    it("when the verdict is already unhealthy, then a recurring new issue leaves it unhealthy", () => {
      const up = [...baseline(1), ...minutes(0, 60, steady(5))];
      expect(judge({ buckets: up, newIssues: [issue("API-7", 50)] }).health).to.equal("unhealthy");
    });

    it("when still pending, then a recurring new issue does not make a health yet", () => {
      const v = judge({ buckets: flat, now: at(3), newIssues: [issue("API-7", 9)] });
      expect(v.health).to.equal("pending");
      expect(v.newIssueCount).to.equal(1);
    });
  });

  describe("lone bursts", () => {
    it("when one minute after the deploy holds a burst of 300 on a calm baseline, then healthy, and the explanation says why", () => {
      const burst = [...baseline(1), ...minutes(0, 60, (m) => (m === 20 ? 300 : 1))];
      const v = judge({ buckets: burst });
      expect(v.health).to.equal("healthy");
      expect(v.after.count).to.equal(359);
      expect(v.excess).to.equal(299);
      expect(v.explanation).to.contain("lone burst of 300 errors");
    });

    it("when two minutes hold bursts, then only one is forgiven: unhealthy", () => {
      const bursts = [...baseline(1), ...minutes(0, 60, (m) => (m === 20 || m === 40 ? 300 : 1))];
      expect(judge({ buckets: bursts }).health).to.equal("unhealthy");
    });
  });

  describe("a later deploy cuts the window", () => {
    // 1/min for 20 min, then 50/min: the second deploy (at 12:20:30) broke things, not this one.
    const buckets = [...baseline(1), ...minutes(0, 60, (m) => (m < 20 ? 1 : 50))];

    it("when afterEndsAt is 12:20:30, then the window ends at 12:20, is judged healthy and final at 12:25", () => {
      const v = judge({ buckets, afterEndsAt: at(20) + 30_000, now: at(26) });
      expect(v.health).to.equal("healthy");
      expect(v.after).to.deep.equal({ count: 20, minutes: 20 });
      expect(v.checkpointMinutes).to.equal(20);
      expect(v.finalAt).to.equal(at(25));
      expect(v.final).to.equal(true);
    });

    it("when there is no later deploy, then the same data is unhealthy", () => {
      expect(judge({ buckets }).health).to.equal("unhealthy");
    });

    it("when the later deploy falls in the same minute, then no_data: there is no after-window", () => {
      const v = judge({ buckets, afterEndsAt: D + 40_000, now: at(1) });
      expect(v.health).to.equal("no_data");
      expect(v.after.minutes).to.equal(0);
      expect(v.explanation).to.contain("same minute");
    });
  });

  describe("sensitivity", () => {
    const cases: { name: string; after: (m: number) => number; expected: Record<Sensitivity, Health> }[] = [
      {
        // p = 0.0104 (see above): low needs < 0.01·0.4, medium < 0.05·0.4, high < 0.1·0.4.
        name: "2/min → 2.5/min",
        after: (m) => (m % 2 === 0 ? 2 : 3),
        expected: { low: "healthy", medium: "ailing", high: "ailing" },
      },
      {
        // 3, 4, 3, 4, …: 210 errors, tested ka = 208 (busiest 4 → 2), n = 928.
        // ρ0 = 1.25 (high): π = 75/435 = 5/29, p = 3.2e-5 < 0.05·0.4 → unhealthy.
        // ρ0 = 1.5 (medium): π = 1/5, p = 0.0375 > 0.01·0.4 → ailing (ρ0 = 1: p ≈ 1e-13).
        // ρ0 = 2 (low): nowhere near; ρ0 = 1 at 0.01·0.4 → ailing.
        name: "2/min → 3.5/min",
        after: (m) => (m % 2 === 0 ? 3 : 4),
        expected: { low: "ailing", medium: "ailing", high: "unhealthy" },
      },
    ];
    for (const c of cases) {
      it(`when errors go ${c.name}, then low ${c.expected.low}, medium ${c.expected.medium}, high ${c.expected.high}`, () => {
        const buckets = [...baseline(2), ...minutes(0, 60, c.after)];
        for (const sensitivity of ["low", "medium", "high"] as const) {
          expect(judge({ buckets, sensitivity }).health, sensitivity).to.equal(c.expected[sensitivity]);
        }
      });
    }

    it("when the same inputs are judged at each sensitivity, then high is never milder than medium, nor medium than low", () => {
      let strict = 0;
      for (let seed = 1; seed <= 150; seed++) {
        const input = randomInput(seed);
        const [low, medium, high] = (["low", "medium", "high"] as const).map(
          (sensitivity) => judgeDeploy({ ...input, sensitivity }).health,
        );
        if (SEVERITY[low!] === undefined) continue;
        expect(SEVERITY[medium!]!, `seed ${seed}`).to.be.at.least(SEVERITY[low!]!);
        expect(SEVERITY[high!]!, `seed ${seed}`).to.be.at.least(SEVERITY[medium!]!);
        if (SEVERITY[high!]! > SEVERITY[low!]!) strict++;
      }
      expect(strict, "inputs where the sensitivity made a difference").to.be.at.least(10);
    });
  });

  describe("properties", () => {
    it("when errors are added after the deploy, then the verdict never gets better", () => {
      let compared = 0;
      let worse = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const input = randomInput(seed);
        const random = mulberry32(seed * 7919);
        const before = judgeDeploy(input);
        // Add errors to a few known after-buckets: sometimes a burst, sometimes a trickle.
        const more = input.buckets.map((b) => ({ ...b }));
        const after = more.filter((b) => b.start >= D && b.start < at(60));
        const touches = 1 + Math.floor(random() * 8);
        for (let i = 0; i < touches && after.length > 0; i++) {
          const b = after[Math.floor(random() * after.length)]!;
          b.count += random() < 0.3 ? 20 + Math.floor(random() * 300) : 1 + Math.floor(random() * 4);
        }
        const worsened = judgeDeploy({ ...input, buckets: more });
        expect(worsened.health === "pending", `seed ${seed}`).to.equal(before.health === "pending");
        if (SEVERITY[before.health] === undefined) continue;
        compared++;
        expect(SEVERITY[worsened.health]!, `seed ${seed}: ${before.health} → ${worsened.health}`).to.be.at.least(
          SEVERITY[before.health]!,
        );
        if (SEVERITY[worsened.health]! > SEVERITY[before.health]!) worse++;
      }
      expect(compared).to.be.at.least(200);
      expect(worse, "inputs where the added errors changed the health").to.be.at.least(20);
    });

    it("when the judge runs twice on the same input, then it gives the same verdict", () => {
      const input = randomInput(42);
      expect(judgeDeploy(input)).to.deep.equal(judgeDeploy(structuredClone(input)));
    });
  });

  describe("seeded simulations of unchanged deploys", () => {
    it("when errors are flat Poisson noise at 2/min, then healthy in at least 95 of 100 runs", () => {
      const healths = simulate(100, (random) => poisson(random, 2));
      expect(healths.healthy ?? 0, JSON.stringify(healths)).to.be.at.least(95);
    });

    it("when errors are bursty (1/min plus one-minute bursts of 100–500 about every 3 h), then healthy in at least 90 of 100 runs", () => {
      const healths = simulate(100, (random) => {
        const burst = random() < 1 / 180 ? 100 + Math.floor(random() * 401) : 0;
        return poisson(random, 1) + burst;
      });
      expect(healths.healthy ?? 0, JSON.stringify(healths)).to.be.at.least(90);
    });
  });
});

/** `runs` deploys whose minutes (baseline and after alike) come from `perMinute`, judged final. */
function simulate(runs: number, perMinute: (random: () => number) => number): Partial<Record<Health, number>> {
  const healths: Partial<Record<Health, number>> = {};
  for (let seed = 1; seed <= runs; seed++) {
    const random = mulberry32(seed);
    const buckets = minutes(-360, 60, () => perMinute(random));
    const v = judgeDeploy({ deployAt: D, now: at(70), sensitivity: "medium", buckets, newIssues: [] });
    healths[v.health] = (healths[v.health] ?? 0) + 1;
  }
  return healths;
}

/** A varied, seeded deploy: rates, bursts, gaps, rises and drops, clocks and cut windows. */
function randomInput(seed: number): JudgeInput {
  const random = mulberry32(seed);
  const rate = [0, 0.2, 1, 3, 10][Math.floor(random() * 5)]!;
  const factor = [0.3, 1, 1, 1.3, 2, 5][Math.floor(random() * 6)]!;
  const burstiness = random() < 0.3 ? 1 / 120 : 0;
  const gapRate = random() < 0.2 ? 0.05 : 0;
  const buckets: BucketCount[] = [];
  for (let m = -360; m < 60; m++) {
    if (random() < gapRate) continue;
    const mean = m < 0 ? rate : rate * factor;
    const burst = random() < burstiness ? 50 + Math.floor(random() * 300) : 0;
    buckets.push({ start: at(m), count: poisson(random, mean) + burst });
  }
  const now = at([3, 6, 16, 31, 45, 61, 70, 100][Math.floor(random() * 8)]!);
  const afterEndsAt = random() < 0.15 ? at(10 + Math.floor(random() * 40)) : null;
  return { deployAt: D, now, sensitivity: "medium", buckets, newIssues: [], afterEndsAt };
}
