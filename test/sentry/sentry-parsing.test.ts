import { expect } from "chai";
import { fillBuckets, parseEventsStats, parseEventsTimeseries, sentryDate, toEpochMs } from "../../src/sentry/count-series.js";
import { nextCursor, parseLinkHeader } from "../../src/sentry/link-header.js";
import { RequestGate } from "../../src/sentry/rate-limiter.js";
import { interpretBody, summarise } from "../../src/sentry/response-body.js";

describe("Sentry answer parsing", () => {
  describe("Link header", () => {
    const header =
      '<https://sentry.io/api/0/organizations/acme/projects/?per_page=100&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", ' +
      '<https://sentry.io/api/0/organizations/acme/projects/?per_page=100&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"';

    it("when both rels are present, then next's cursor is followed while results is true", () => {
      expect(parseLinkHeader(header).map((l) => [l.rel, l.results, l.cursor])).to.deep.equal([
        ["previous", false, "0:0:1"],
        ["next", true, "0:100:0"],
      ]);
      expect(nextCursor(header)).to.equal("0:100:0");
      expect(nextCursor(header.replace('results="true"', 'results="false"'))).to.equal(undefined);
    });

    it("when the cursor attribute is missing, then the URL's cursor parameter is used; no header means no next page", () => {
      expect(nextCursor('<https://x.test/a/?cursor=1:200:0&b=1,2>; rel="next"; results="true"')).to.equal("1:200:0");
      expect(nextCursor(null)).to.equal(undefined);
      expect(nextCursor("garbage")).to.equal(undefined);
    });
  });

  describe("count series", () => {
    it("when events-stats has several entries per bucket or is keyed by series, then they are summed", () => {
      expect(parseEventsStats({ data: [[1_700_000_000, [{ count: 2 }, { count: 3 }]], [1_700_000_060, []]] })).to.deep.equal([
        { at: 1_700_000_000_000, value: 5 },
        { at: 1_700_000_060_000, value: 0 },
      ]);
      expect(parseEventsStats({ "count()": { data: [[1_700_000_000, [{ count: 1 }]]] }, Other: { data: [[1_700_000_000, [{ count: 4 }]]] } })).to.deep.equal([
        { at: 1_700_000_000_000, value: 1 },
        { at: 1_700_000_000_000, value: 4 },
      ]);
      expect(parseEventsStats({ data: [] })).to.deep.equal([]);
      expect(() => parseEventsStats("<html>")).to.throw();
    });

    it("when timestamps come in seconds or milliseconds, then both read as the same instant", () => {
      expect(toEpochMs(1_700_000_000)).to.equal(1_700_000_000_000);
      expect(toEpochMs(1_700_000_000_000)).to.equal(1_700_000_000_000);
      const parsed = parseEventsTimeseries({
        timeSeries: [{ yAxis: "count()", values: [{ timestamp: 1_700_000_040, value: 1 }, { timestamp: 1_700_000_100, value: 2 }], meta: { interval: 60 } }],
      });
      expect(parsed.points.map((p) => p.at)).to.deep.equal([1_700_000_040_000, 1_700_000_100_000]);
      expect(parsed.intervalMs).to.equal(60_000);
      expect(parsed.metaInterval).to.equal(60);
    });

    it("when buckets are filled, then points outside [first, last) are dropped and the rest zero-filled", () => {
      const buckets = fillBuckets(0, 180_000, 60_000, [
        { at: -60_000, value: 9 },
        { at: 60_000, value: 4 },
        { at: 60_000, value: 1 },
        { at: 180_000, value: 7 },
      ]);
      expect(buckets).to.deep.equal([
        { start: 0, count: 0 },
        { start: 60_000, count: 5 },
        { start: 120_000, count: 0 },
      ]);
    });

    it("when dates are sent to Sentry, then they are UTC without a zone, as its UI sends them", () => {
      expect(sentryDate(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).to.equal("2026-01-02T03:04:05");
    });
  });

  describe("bodies", () => {
    it("when a 429 sends JSON as text/html, then the JSON detail is read", () => {
      const body = interpretBody('{"detail":"You are attempting to use this endpoint too frequently."}', "text/html");
      expect(body.isHtml).to.equal(false);
      expect(body.detail).to.match(/too frequently/);
    });

    it("when a proxy sends an HTML page or plain text, then it is summarised, never parsed", () => {
      expect(summarise(502, interpretBody("<html><head><title>502 Bad Gateway</title></head></html>", "text/html"))).to.equal("HTTP 502 from proxy (HTML page)");
      expect(summarise(503, interpretBody("upstream connect error", "text/plain"))).to.equal("HTTP 503: upstream connect error");
      expect(summarise(504, interpretBody("", null))).to.equal("HTTP 504");
      expect(interpretBody('{"detail": "cut off', "application/json").json).to.equal(undefined);
    });
  });

  describe("request gate", () => {
    function fakeClock() {
      let now = 1_000_000;
      return { now: () => now, sleep: async (ms: number) => void (now += ms) };
    }

    it("when Remaining reaches 0, then the next request waits until Reset", async () => {
      const clock = fakeClock();
      const gate = new RequestGate({ maxConcurrent: 5, ...clock });
      const release = await gate.acquire("k", 60_000);
      gate.observe("k", new Headers({ "x-sentry-rate-limit-remaining": "0", "x-sentry-rate-limit-reset": String(1_000_000 / 1000 + 7), "x-sentry-rate-limit-limit": "10" }));
      release();
      await gate.acquire("k", 60_000);
      expect(clock.now()).to.equal(1_007_000);
    });

    it("when the wait would be longer than allowed, then acquire refuses with the time to come back", async () => {
      const gate = new RequestGate({ maxConcurrent: 5, ...fakeClock() });
      gate.blockUntil("k", 1_000_000 + 120_000);
      let retryAt: number | undefined;
      await gate.acquire("k", 60_000).catch((e: { retryAt: number }) => (retryAt = e.retryAt));
      expect(retryAt).to.equal(1_120_000);
    });

    it("when ConcurrentLimit is lower than the own cap, then it becomes the cap", async () => {
      const gate = new RequestGate({ maxConcurrent: 5, ...fakeClock() });
      const release = await gate.acquire("k", 1_000);
      gate.observe("k", new Headers({ "x-sentry-rate-limit-concurrentlimit": "3" }));
      release();
      expect(gate.concurrencyLimit).to.equal(3);
      gate.observe("k", new Headers({ "x-sentry-rate-limit-concurrentlimit": "40" }));
      expect(gate.concurrencyLimit).to.equal(5);
    });
  });
});
