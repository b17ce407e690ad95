import { expect } from "chai";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import supertest from "supertest";
import { PROJECT_ROOT } from "../../src/paths.js";
import { engineWorld, MINUTE, SENTRY_TOKEN, type EngineWorld } from "../impact/engine-fixture.js";
import { ADMIN } from "../support/test-app.js";

const OUTPUT = path.join(PROJECT_ROOT, "test-output");

/**
 * A structural fingerprint of a card: tags, attributes (classes sorted) and trimmed text, with the
 * clock-dependent texts (relative time, countdown) left out. Plain JavaScript run in the page (a
 * string, so tsx's helpers do not end up in it).
 */
const CARD_FINGERPRINT = `(id) => {
  const canon = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const text = (node.textContent || "").replace(/\\s+/g, " ").trim();
      return text || null;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    const attrs = [...node.attributes]
      .filter((a) => a.name !== "xmlns")
      .map((a) => [a.name, a.name === "class" ? a.value.split(/\\s+/).filter((c) => c && c !== "deploy-card-new").sort().join(" ") : a.value])
      .sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const clockText = node.matches("time.deploy-time, p.deploy-countdown");
    return { tag: node.localName, attrs, children: clockText ? [] : [...node.childNodes].map(canon).filter((c) => c !== null) };
  };
  const card = document.querySelector('article.deploy-card[data-deploy-id="' + id + '"]');
  return card ? canon(card) : null;
}`;

async function cardFingerprint(page: Page, id: string): Promise<unknown> {
  return page.evaluate(`(${CARD_FINGERPRINT})(${JSON.stringify(id)})`);
}

describe("live deploy cards in a browser (headless Chromium)", function () {
  this.timeout(180_000);
  let browser: Browser;
  let world: EngineWorld | null = null;
  let context: BrowserContext | null = null;

  before(async function () {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  afterEach(async () => {
    await context?.close();
    context = null;
    await world?.close();
    world = null;
  });

  /** A signed-in page on `pathname`, with its live script connected; errors in the page are collected. */
  async function openSignedIn(pathname: string): Promise<{ page: Page; pageErrors: string[] }> {
    context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    // Only the app under test: nothing else leaves the browser.
    await context.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/).*/, (route) => route.abort());
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    const app = world!.app;
    await page.goto(`${app.url}/login`);
    await page.fill("input[name=email]", ADMIN.email);
    await page.fill("input[name=password]", ADMIN.password);
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("button[type=submit]")]);
    await page.goto(`${app.url}${pathname}`);
    await page.waitForSelector("[data-live-deploys][data-live=connected][data-live-synced]");
    // Set once; a reload would lose it.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    return { page, pageErrors };
  }

  async function stillSamePage(page: Page): Promise<boolean> {
    return page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
  }

  it("when a deploy is posted and its errors then rise, then its card appears and turns unhealthy without a reload, as the server would render it", async () => {
    world = await engineWorld({ sources: [{ project: "shop", sentryProject: "backend", stream: { seed: 21, baseRatePerMinute: 1 } }] });
    // The app's clock near the browser's, so relative times and countdowns read sensibly.
    world.clock.now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const deployAt = world.clock.now;
    const { page, pageErrors } = await openSignedIn("/projects/shop");
    expect(await page.locator("article.deploy-card").count()).to.equal(0);

    const posted = Date.now();
    const res = await supertest(world.app.server)
      .post("/api/v1/deploys")
      .set("Authorization", `Bearer ${world.apiToken}`)
      .send({ project: "shop", environment: "production", version: "v2.0.0", author: "<img src=x onerror=alert(1)>", url: "https://ci.example.com/runs/42", tags: ["release"] });
    expect(res.status).to.equal(201);
    const id = res.body.id as string;
    const card = page.locator(`article.deploy-card[data-deploy-id="${id}"]`);
    await card.waitFor({ timeout: 5000 });
    // Timings are not asserted (a loaded CI machine is no benchmark); the delay is reported instead.
    console.log(`      live card appeared ${Date.now() - posted} ms after the webhook answered`);
    expect(await stillSamePage(page)).to.equal(true);
    expect(await page.locator("[data-empty-state]").count()).to.equal(0);
    expect(await card.locator(".deploy-version").textContent()).to.equal("v2.0.0");
    expect(await card.locator(".deploy-version a").getAttribute("href")).to.equal("https://ci.example.com/runs/42");
    // CI's text is text: shown as typed, never markup.
    expect(await card.locator(".deploy-author").textContent()).to.equal("<img src=x onerror=alert(1)>");
    expect(await card.locator(".deploy-author img").count()).to.equal(0);
    expect(await card.locator(".deploy-health").textContent()).to.equal("pending");

    // The pending impact row arrives (deploy.impact from the engine) with its countdown.
    await world.app.services.impact.engine.tick();
    await page.waitForSelector(`article.deploy-card[data-deploy-id="${id}"] li.impact[data-health=pending]`);
    expect(await card.locator(".deploy-countdown").textContent()).to.match(/^provisional — final in (1 h( \d+ min)?|\d+ min)$/);

    // Errors jump eightfold from the deploy on; the engine polls once a (simulated) minute.
    world.sim.setErrorStream("acme-sentry", "backend", "production", { seed: 21, baseRatePerMinute: 1, steps: [{ at: deployAt, ratePerMinute: 8 }] });
    const unhealthy = page.locator(`article.deploy-card[data-deploy-id="${id}"][data-health=unhealthy]`);
    for (let minute = 1; minute <= 30 && (await unhealthy.count()) === 0; minute++) {
      world.clock.now += MINUTE;
      await world.app.services.impact.engine.tick();
      await page.waitForTimeout(50);
    }
    await unhealthy.waitFor({ timeout: 5000 });
    expect(await stillSamePage(page)).to.equal(true);
    expect(await card.locator(".deploy-health").textContent()).to.equal("unhealthy");
    expect(await card.locator(".deploy-health .badge").getAttribute("class")).to.contain("badge-unhealthy");
    const impact = card.locator("li.impact");
    expect(await impact.getAttribute("data-health")).to.equal("unhealthy");
    expect(await impact.locator(".impact-explanation").textContent()).to.match(/^unhealthy at \d+ min: errors [\d.]+\/min → [\d.]+\/min/);
    expect(await impact.locator("svg.sparkline line.spark-deploy").count()).to.equal(1);
    expect(await impact.locator("svg.sparkline rect.spark-after:not(.spark-unknown)").count()).to.be.greaterThan(0);
    expect(await card.locator(".deploy-countdown").isVisible()).to.equal(true);

    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, "live-deploy-card-unhealthy.png"), fullPage: true });

    // What the script built equals what the server renders for the same deploy.
    const live = await cardFingerprint(page, id);
    await page.reload();
    await page.waitForSelector("[data-live-deploys][data-live=connected][data-live-synced]");
    const rendered = await cardFingerprint(page, id);
    expect(rendered).to.be.an("object");
    expect(live).to.deep.equal(rendered);
    expect(await page.locator("article.deploy-card").count()).to.equal(1);

    // Sentry now rejects the token: the banner shows, live, on the next poll.
    expect(await page.locator("[data-integration-banner]").isVisible()).to.equal(false);
    world.sim.revokeToken(SENTRY_TOKEN);
    world.clock.now += MINUTE;
    await world.app.services.impact.engine.tick();
    await page.locator("[data-integration-banner]").waitFor({ state: "visible", timeout: 5000 });
    expect(await page.locator("[data-integration-banner-title]").textContent()).to.equal("Sentry needs reconnecting.");
    await page.screenshot({ path: path.join(OUTPUT, "live-deploy-card-reconnect-banner.png"), fullPage: true });
    expect(pageErrors).to.deep.equal([]);
  });

  it("when the connection drops and deploys land meanwhile, then on reconnect they appear once, in order", async () => {
    world = await engineWorld({ sources: [{ project: "shop", sentryProject: "backend", stream: { seed: 3, baseRatePerMinute: 1 } }] });
    world.clock.now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const { page, pageErrors } = await openSignedIn("/deploys");
    const api = supertest(world.app.server);
    const post = async (version: string, minutesAgo: number) => {
      const res = await api
        .post("/api/v1/deploys")
        .set("Authorization", `Bearer ${world!.apiToken}`)
        .send({ project: "shop", environment: "production", version, timestamp: new Date(world!.clock.now - minutesAgo * MINUTE).toISOString() });
      expect(res.status).to.equal(201);
      return res.body.id as string;
    };
    const first = await post("v1", 3);
    await page.locator(`article.deploy-card[data-deploy-id="${first}"]`).waitFor({ timeout: 5000 });
    // The organization-wide page names the project.
    expect(await page.locator(`article.deploy-card[data-deploy-id="${first}"] a.deploy-project`).getAttribute("href")).to.equal("/projects/shop");

    // Cut the socket from the server side; the client reconnects by itself.
    const synced = await page.getAttribute("[data-live-deploys]", "data-live-synced");
    for (const socket of world.app.live.namespace.sockets.values()) socket.conn.close();
    await page.waitForSelector("[data-live-deploys][data-live=disconnected]");
    // While it is away: two deploys it never hears of live (one older than the card shown).
    const missedNew = await post("v3", 1);
    const missedOld = await post("v0", 5);
    await page.waitForFunction((before) => {
      const list = document.querySelector("[data-live-deploys]");
      return list?.getAttribute("data-live") === "connected" && list.getAttribute("data-live-synced") !== before;
    }, synced);
    const ids = await page.locator("article.deploy-card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-deploy-id")));
    expect(ids).to.deep.equal([missedNew, first, missedOld]);
    expect(await stillSamePage(page)).to.equal(true);
    expect(pageErrors).to.deep.equal([]);
  });
});
