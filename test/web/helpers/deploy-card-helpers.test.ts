import { expect } from "chai";
import * as cheerio from "cheerio";
import { deployFinalAt } from "../../../src/web/helpers/deploy-final-at.js";
import { finalCountdown } from "../../../src/web/helpers/final-countdown.js";
import { healthBadge } from "../../../src/web/helpers/health-badge.js";
import { httpUrl } from "../../../src/web/helpers/http-url.js";
import { impactExplanation } from "../../../src/web/helpers/impact-explanation.js";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const MIN = 60_000;

describe("deploy card helpers", () => {
  it("when a health is rendered as a badge, then it says the health in words as well as in colour", () => {
    for (const [health, word] of [
      ["pending", "pending"],
      ["healthy", "healthy"],
      ["ailing", "ailing"],
      ["unhealthy", "unhealthy"],
      ["improved", "improved"],
      ["no_data", "no data"],
    ] as const) {
      const $ = cheerio.load(healthBadge(health));
      const badge = $("span.badge");
      expect(badge.hasClass(`badge-${health}`), health).to.equal(true);
      expect(badge.attr("data-health")).to.equal(health);
      expect(badge.text()).to.equal(word);
    }
  });

  it("when the health is not one we know, then it is shown escaped in the neutral colour", () => {
    const html = healthBadge('<b onclick="x">');
    expect(html).not.to.contain("<b");
    const $ = cheerio.load(html);
    expect($("span.badge").hasClass("badge-pending")).to.equal(true);
    expect($("span.badge").text()).to.equal('<b onclick="x">');
  });

  it("when the window is open, then the countdown says provisional and the minutes left; once final, nothing", () => {
    const deploy = (finalAt: number | null, final = false) => ({ final, impacts: [{ finalAt: finalAt === null ? null : new Date(finalAt).toISOString() }] });
    expect(finalCountdown(deploy(NOW + 23 * MIN - 10_000), NOW)).to.equal("provisional — final in 23 min");
    expect(finalCountdown(deploy(NOW + 95 * MIN), NOW)).to.equal("provisional — final in 1 h 35 min");
    expect(finalCountdown(deploy(NOW + 120 * MIN), NOW)).to.equal("provisional — final in 2 h");
    expect(finalCountdown(deploy(NOW - MIN), NOW)).to.equal("provisional — final shortly");
    expect(finalCountdown(deploy(null), NOW)).to.equal("provisional");
    expect(finalCountdown(deploy(NOW + 5 * MIN, true), NOW)).to.equal("");
  });

  it("when a deploy has several impact sources, then it is final when the last of their windows closes", () => {
    const at = deployFinalAt({ impacts: [{ finalAt: "2026-11-20T13:05:00.000Z" }, { finalAt: "2026-11-20T13:20:00.000Z" }, { finalAt: null }] });
    expect(at).to.equal("2026-11-20T13:20:00.000Z");
    expect(deployFinalAt({ impacts: [] })).to.equal("");
    expect(deployFinalAt(null)).to.equal("");
  });

  it("when the judge wrote an explanation, then it is the line; when not, one is made from the numbers", () => {
    expect(impactExplanation({ explanation: "unhealthy at 15 min: errors 0.4/min → 3.1/min, ×7.8, p < 0.001" })).to.equal(
      "unhealthy at 15 min: errors 0.4/min → 3.1/min, ×7.8, p < 0.001",
    );
    expect(
      impactExplanation({
        baseline: { count: 144, minutes: 360 },
        after: { count: 93, minutes: 30 },
        ratio: 7.75,
        pValue: 0.00001,
        newIssues: [{ shortId: "A-1" }, { shortId: "A-2" }],
      }),
    ).to.equal("errors 0.40/min → 3.1/min, ×7.8, p < 0.001, 2 new issues");
    expect(impactExplanation({ health: "pending" })).to.equal("waiting for error counts from Sentry");
  });

  it("when a link is not absolute http(s), then it is dropped", () => {
    expect(httpUrl("https://sentry.example.com/issues/1/")).to.equal("https://sentry.example.com/issues/1/");
    expect(httpUrl("javascript:alert(1)")).to.equal("");
    expect(httpUrl("data:text/html,x")).to.equal("");
    expect(httpUrl("/relative")).to.equal("");
    expect(httpUrl(42)).to.equal("");
  });
});
