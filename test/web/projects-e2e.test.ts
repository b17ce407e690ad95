import { expect } from "chai";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Browser } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import type { RunningAftershock } from "../../src/main.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import type { SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { connectSentry, DEFAULT_SENTRY_PROJECTS, startSentry } from "../projects/fixtures.js";
import { ADMIN, seedOrganization, startTestApp } from "../support/test-app.js";

const OUTPUT = path.join(PROJECT_ROOT, "test-output");

describe("Add impact in a browser (headless Chromium)", function () {
  this.timeout(90_000);
  let app: RunningAftershock;
  let sentry: SentrySimulator;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  afterEach(async () => {
    await sentry?.close();
    await app?.close();
  });

  it("when an admin creates a project, adds production, picks a Sentry project and types a new environment, then the mapping shows on the settings page", async () => {
    app = await startTestApp();
    // Enough Sentry projects for the search box to appear.
    const many = [...DEFAULT_SENTRY_PROJECTS, ...Array.from({ length: 9 }, (_, i) => ({ slug: `service-${i + 1}`, environments: ["production"] }))];
    sentry = await startSentry(many);
    const { organization } = await seedOrganization(app);
    await connectSentry(app, organization.id, sentry);

    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    // Only the app under test: nothing else leaves the browser.
    await context.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/).*/, (route) => route.abort());
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });

    await page.goto(`${app.url}/login`);
    await page.fill("input[name=email]", ADMIN.email);
    await page.fill("input[name=password]", ADMIN.password);
    await Promise.all([page.waitForURL(`${app.url}/projects`), page.click("button[type=submit]")]);

    await page.fill("#create-project input[name=name]", "Checkout API");
    await Promise.all([page.waitForURL(/\/projects\/checkout-api\/settings$/), page.click("#create-project button[type=submit]")]);
    expect(await page.textContent("h1")).to.contain("Checkout API");

    await page.fill("#environments input[name=environment]", "production");
    await Promise.all([page.waitForURL(/#environments$/), page.click("#environments button:has-text('Add environment')")]);
    expect(await page.locator("[data-testid=environments] [data-environment]").allTextContents()).to.have.length(1);

    await page.click("[data-testid=open-add-impact]");
    const form = page.locator("#add-impact form");
    // The script reveals the search box; typing narrows the list and picks the one match.
    const search = form.locator("[data-picker-search]");
    expect(await search.isVisible()).to.equal(true);
    await search.fill("backe");
    expect(await form.locator("select[name=sentryProject]").inputValue()).to.equal("backend");
    // Suggestions narrowed to the chosen Sentry project's environments.
    const suggestions = await page.locator("#sentry-environment-suggestions option").evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(suggestions).to.deep.equal(["production", "staging"]);
    // Pick it from the list too (as a person would), then type an environment Sentry has never seen.
    await form.locator("select[name=sentryProject]").selectOption("backend");
    await form.locator("input[name=sentryEnvironment]").fill("eu-canary");
    expect(await form.locator("input[name=name]").getAttribute("placeholder")).to.equal("backend · eu-canary");
    await form.locator("input[name=environments][value=production]").check();
    await form.locator("input[name=sensitivity][value=high]").check();
    await Promise.all([page.waitForURL(/#impact-sources$/), form.locator("button[type=submit]").click()]);

    const row = page.locator("[data-testid=impact-sources] tr[data-source-id]");
    expect(await row.count()).to.equal(1);
    expect((await row.locator("[data-col=name]").textContent())?.trim()).to.equal("backend · eu-canary");
    expect((await row.locator("[data-col=sentry-project]").textContent())?.trim()).to.equal("backend");
    expect((await row.locator("[data-col=sentry-environment]").textContent())?.trim()).to.equal("eu-canary");
    expect((await row.locator("[data-col=applies-to]").textContent())?.trim()).to.equal("production");
    expect((await row.locator("[data-col=sensitivity]").textContent())?.trim()).to.equal("high");
    expect(await page.locator(".flash-success").textContent()).to.contain("backend · eu-canary");

    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, "projects-add-impact.png"), fullPage: true });
    expect(pageErrors).to.deep.equal([]);

    // The same mapping through the service the impact engine uses.
    const project = await app.services.projects.getProjectBySlug(organization.id, "checkout-api");
    const sources = await app.services.projects.impactSourcesForDeploy(organization.id, project.id, "production");
    expect(sources.map((s) => [s.sentryProjectSlug, s.sentryProjectId, s.sentryEnvironment])).to.deep.equal([["backend", "4501", "eu-canary"]]);
    await context.close();
  });
});
