import { expect } from "chai";
import { settingsFor } from "../../src/impact/judge-settings.js";
import {
  deployWindow,
  mergeIntervals,
  planFetch,
  settledUntil,
  spanOf,
  subtractIntervals,
  type Interval,
} from "../../src/impact/window-plan.js";

const MIN = 60_000;
const T0 = Date.UTC(2025, 2, 10, 12, 0, 0); // 12:00:00, a bucket boundary
const at = (minutes: number, seconds = 0) => T0 + minutes * MIN + seconds * 1000;
const iv = (start: number, end: number): Interval => ({ start: at(start), end: at(end) });

describe("window plan", () => {
  describe("deployWindow", () => {
    const settings = settingsFor("medium");

    it("when a deploy lands mid-minute, then its bucket starts the after-window and the baseline is the 6 h before", () => {
      const w = deployWindow(at(0, 30), settings);
      expect(w).to.deep.equal({
        baselineStart: at(-360),
        deployAt: at(0),
        afterEnd: at(60),
        finalAt: at(65), // + 5 min settle delay
      });
    });

    it("when a later deploy follows at 12:20:30, then the after-window stops at 12:20", () => {
      const w = deployWindow(at(0), settings, at(20, 30));
      expect(w.afterEnd).to.equal(at(20));
      expect(w.finalAt).to.equal(at(25));
    });

    it("when the later deploy is more than an hour later, then the window keeps its 60 min", () => {
      expect(deployWindow(at(0), settings, at(90)).afterEnd).to.equal(at(60));
      expect(deployWindow(at(0), settings, null).afterEnd).to.equal(at(60));
    });

    it("when the later deploy falls in the same minute, then the after-window is empty, never negative", () => {
      expect(deployWindow(at(0, 10), settings, at(0, 50)).afterEnd).to.equal(at(0));
      expect(deployWindow(at(0, 10), settings, at(-5)).afterEnd).to.equal(at(0));
    });
  });

  describe("interval helpers", () => {
    it("when intervals overlap, touch or are empty, then merge sorts, joins and drops them", () => {
      const merged = mergeIntervals([iv(10, 12), iv(0, 5), iv(5, 7), iv(3, 4), iv(20, 20)]);
      expect(merged).to.deep.equal([iv(0, 7), iv(10, 12)]);
    });

    it("when pieces are removed from the middle and the ends, then subtract leaves the rest", () => {
      const rest = subtractIntervals([iv(0, 10), iv(20, 30)], [iv(-5, 2), iv(4, 6), iv(9, 22), iv(28, 40)]);
      expect(rest).to.deep.equal([iv(2, 4), iv(6, 9), iv(22, 28)]);
    });

    it("when nothing is removed, then subtract returns the merged input", () => {
      expect(subtractIntervals([iv(5, 6), iv(0, 5)], [])).to.deep.equal([iv(0, 6)]);
    });

    it("when a fetch ran at 12:10:30 with a 5 min settle delay, then buckets up to 12:05 are settled", () => {
      expect(settledUntil(at(10, 30), 5 * MIN, MIN)).to.equal(at(5));
      expect(settledUntil(at(10), 5 * MIN, MIN)).to.equal(at(5));
    });

    it("when ranges have holes, then spanOf covers them with one range; none gives null", () => {
      expect(spanOf([iv(30, 31), iv(0, 2), iv(10, 11)])).to.deep.equal(iv(0, 31));
      expect(spanOf([])).to.equal(null);
    });
  });

  describe("planFetch", () => {
    const base = { bucketMs: MIN, settleMs: 5 * MIN };

    it("when nothing was fetched, then the plan is the needed range capped at the current minute", () => {
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled: [], now: at(12, 40) });
      // 12:12 is in progress: not asked for.
      expect(plan).to.deep.equal([iv(-360, 12)]);
    });

    it("when needed edges are not on minutes, then the plan widens them to whole buckets", () => {
      const plan = planFetch({
        ...base,
        needed: [{ start: at(-10, 30), end: at(-2, 10) }],
        settled: [],
        now: at(30),
      });
      // 11:50:30 → 11:50, 11:58:10 → 11:59
      expect(plan).to.deep.equal([iv(-10, -1)]);
    });

    it("when several deploys need overlapping windows, then the plan merges them", () => {
      const plan = planFetch({ ...base, needed: [iv(-360, 60), iv(-330, 90)], settled: [], now: at(200) });
      expect(plan).to.deep.equal([iv(-360, 90)]);
    });

    it("when most of the window is settled, then only the rest is planned", () => {
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled: [iv(-360, 20)], now: at(40) });
      expect(plan).to.deep.equal([iv(20, 40)]);
    });

    it("when the last fetch was too recent for its trailing buckets to settle, then they are fetched again", () => {
      // Fetched at 12:12:00 up to 12:12; with a 5 min delay only buckets up to 12:07 settled.
      const settled = [{ start: at(-360), end: settledUntil(at(12), 5 * MIN, MIN) }];
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled, now: at(13, 5) });
      expect(plan).to.deep.equal([iv(7, 13)]);
    });

    it("when the caller recorded buckets as settled too early, then the plan still refetches the last settle delay", () => {
      // The record claims everything up to 12:13 is settled, but at 12:14:30 only buckets that
      // ended by 12:09 can be.
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled: [iv(-360, 13)], now: at(14, 30) });
      expect(plan).to.deep.equal([iv(9, 14)]);
    });

    it("when a Sentry outage left a gap, then the gap is planned along with the trailing buckets", () => {
      const settled = [iv(-360, -40), iv(-25, 20)];
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled, now: at(30) });
      expect(plan).to.deep.equal([iv(-40, -25), iv(20, 30)]);
      // One request can cover both, from the first missing bucket to now.
      expect(spanOf(plan)).to.deep.equal(iv(-40, 30));
    });

    it("when a settled range has ragged edges, then only its whole buckets count as settled", () => {
      // settled 05:59:30–11:50:30: the buckets 06:00…11:49 are whole, 05:59 and 11:50 are not
      const settled = [{ start: at(-361, 30), end: at(-10, 30) }];
      const plan = planFetch({ ...base, needed: [iv(-361, -5)], settled, now: at(0) });
      expect(plan).to.deep.equal([iv(-361, -360), iv(-10, -5)]);
    });

    it("when everything needed is settled, then the plan is empty", () => {
      const plan = planFetch({ ...base, needed: [iv(-360, 60)], settled: [iv(-400, 60)], now: at(100) });
      expect(plan).to.deep.equal([]);
    });

    it("when the needed window starts in the future, then nothing is planned yet", () => {
      const plan = planFetch({ ...base, needed: [iv(10, 70)], settled: [], now: at(5) });
      expect(plan).to.deep.equal([]);
    });
  });
});
