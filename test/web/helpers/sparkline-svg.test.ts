import { expect } from "chai";
import * as cheerio from "cheerio";
import { SPARKLINE_HEIGHT, SPARKLINE_WIDTH, sparklineSvg } from "../../../src/web/helpers/sparkline-svg.js";

const BIN = 5 * 60_000;
const DEPLOY = Date.UTC(2026, 10, 20, 12, 0, 0);

/** 12 bins before the deploy and 12 from it, as the impact engine stores them. */
function bins(count: (i: number) => number | null, n = 24) {
  const start = DEPLOY - 12 * BIN;
  return Array.from({ length: n }, (_, i) => ({ t: start + i * BIN, count: count(i) }));
}

function parse(svg: string) {
  const $ = cheerio.load(svg, { xml: true });
  return { $, svg: $("svg") };
}

describe("sparklineSvg", () => {
  it("when given 24 five-minute bins around a deploy, then one bar per bin and the deploy marked where it happened", () => {
    const { $, svg } = parse(sparklineSvg(bins((i) => (i < 12 ? 1 : 6)), new Date(DEPLOY).toISOString()));
    expect(svg).to.have.length(1);
    expect(svg.attr("xmlns")).to.equal("http://www.w3.org/2000/svg");
    expect(svg.attr("viewBox")).to.equal(`0 0 ${SPARKLINE_WIDTH} ${SPARKLINE_HEIGHT}`);
    expect(svg.attr("role")).to.equal("img");
    expect($("rect.spark-bin")).to.have.length(24);
    expect(svg.attr("data-bins")).to.equal("24");
    expect($("rect.spark-before")).to.have.length(12);
    expect($("rect.spark-after")).to.have.length(12);
    const marker = $("line.spark-deploy");
    expect(marker).to.have.length(1);
    expect(marker.attr("data-deploy-at")).to.equal(String(DEPLOY));
    // Halfway along the chart: 12 of 24 bins lie before the deploy.
    expect(Number(marker.attr("x1"))).to.equal(SPARKLINE_WIDTH / 2);
    expect(marker.find("title").text()).to.equal("deploy at 12:00 UTC");
    expect(svg.attr("aria-label")).to.contain("12 before, 72 after").and.contain("peak 6");
  });

  it("when counts differ, then taller bars mean more errors, and the tallest fills the chart", () => {
    const { $ } = parse(sparklineSvg(bins((i) => i), DEPLOY));
    const heights = $("rect.spark-bin").map((_, r) => Number($(r).attr("height"))).get();
    for (let i = 2; i < heights.length; i++) expect(heights[i]).to.be.greaterThan(heights[i - 1]!);
    expect(Math.max(...heights)).to.equal(SPARKLINE_HEIGHT - 4);
    const tallest = $("rect.spark-bin").last();
    expect(Number(tallest.attr("y")) + Number(tallest.attr("height"))).to.equal(SPARKLINE_HEIGHT);
    expect(tallest.attr("data-count")).to.equal("23");
    expect(tallest.find("title").text()).to.equal("12:55 UTC: 23 errors");
  });

  it("when Sentry has not answered for some bins, then they are drawn as unknown, not as zero", () => {
    const { $ } = parse(sparklineSvg(bins((i) => (i >= 20 ? null : i === 3 ? 0 : 2)), DEPLOY));
    expect($("rect.spark-bin")).to.have.length(24);
    expect($("rect.spark-unknown")).to.have.length(4);
    expect($("rect.spark-zero")).to.have.length(1);
    expect($("rect.spark-unknown").first().attr("data-count")).to.equal("");
    expect($("rect.spark-unknown").first().find("title").text()).to.contain("no answer from Sentry yet");
  });

  it("when there are no bins yet, then an empty chart still marks the deploy", () => {
    const { $, svg } = parse(sparklineSvg([], DEPLOY));
    expect($("rect.spark-bin")).to.have.length(0);
    expect($("line.spark-deploy")).to.have.length(1);
    expect(Number($("line.spark-deploy").attr("x1"))).to.equal(SPARKLINE_WIDTH / 2);
    expect(svg.attr("aria-label")).to.contain("No error counts");
  });

  it("when the deploy falls inside a bin, then that bin counts as after and the marker sits inside it", () => {
    const at = DEPLOY + 2 * 60_000;
    const { $ } = parse(sparklineSvg(bins(() => 1), at));
    expect($("rect.spark-after")).to.have.length(12);
    const x = Number($("line.spark-deploy").attr("x1"));
    const bin = $("rect.spark-after").first();
    expect(x).to.be.greaterThan(Number(bin.attr("x"))).and.below(Number(bin.attr("x")) + Number(bin.attr("width")) + 1);
  });

  it("when the input is hostile or malformed, then nothing but numbers and escaped text reach the markup", () => {
    const evil = [
      { t: DEPLOY, count: '"><script>alert(1)</script>' },
      { t: "<img onerror=alert(1)>", count: 3 },
      null,
      { t: DEPLOY + BIN, count: -5 },
    ];
    const svg = sparklineSvg(evil, '<script>alert("x")</script>');
    expect(svg).not.to.contain("<script").and.not.to.contain("<img").and.not.to.contain("onerror");
    const { $ } = parse(svg);
    expect($("rect.spark-bin")).to.have.length(2);
    expect($("rect.spark-unknown")).to.have.length(2);
    expect($("line.spark-deploy").attr("data-deploy-at")).to.equal("");
    expect(() => sparklineSvg("not a list", undefined)).not.to.throw();
  });

  it("when called twice with the same input, then the same string comes back (pure)", () => {
    const input = bins((i) => (i * 7) % 5);
    expect(sparklineSvg(input, DEPLOY)).to.equal(sparklineSvg(structuredClone(input), new Date(DEPLOY).toISOString()));
  });
});
