import { expect } from "chai";
import * as cheerio from "cheerio";
import type { RunningAftershock } from "../../src/main.js";
import type { SentrySimulator } from "../../tools/sentry-simulator/index.js";
import { connectSentry, startSentry } from "../projects/fixtures.js";
import { csrfFrom, seedOrganization, signedInAgent, startTestApp } from "../support/test-app.js";

type Agent = Awaited<ReturnType<typeof signedInAgent>>;

/** Every field error on a page, by the id of the field it belongs to. */
function fieldErrors(html: string): Record<string, string> {
  const $ = cheerio.load(html);
  const out: Record<string, string> = {};
  $(".field-error[id$='-error']").each((_, el) => {
    out[$(el).attr("id")!.replace(/-error$/, "")] = $(el).text();
  });
  return out;
}

describe("projects pages", () => {
  let app: RunningAftershock;
  let sentry: SentrySimulator | null = null;
  afterEach(async () => {
    await sentry?.close();
    sentry = null;
    await app?.close();
  });

  async function createProject(agent: Agent, fields: Record<string, string>) {
    const page = await agent.get("/projects");
    return agent.post("/projects").type("form").send({ _csrf: csrfFrom(page.text), ...fields });
  }

  async function post(agent: Agent, from: string, action: string, fields: Record<string, unknown> = {}) {
    const page = await agent.get(from);
    return agent.post(action).type("form").send({ _csrf: csrfFrom(page.text), ...fields });
  }

  /** Admin signed in, Sentry connected to the simulator, project "checkout-api" with production and staging. */
  async function connectedSetup() {
    app = await startTestApp();
    sentry = await startSentry();
    const seeded = await seedOrganization(app);
    await connectSentry(app, seeded.organization.id, sentry);
    const agent = await signedInAgent(app);
    const created = await createProject(agent, { name: "Checkout API", environments: "production, staging" });
    expect(created.status).to.equal(303);
    return { ...seeded, agent, settings: "/projects/checkout-api/settings" };
  }

  describe("the project list", () => {
    it("when an admin creates a project, then the settings page opens and the list shows its slug and environments", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      const empty = cheerio.load((await agent.get("/projects")).text);
      expect(empty("[data-testid=projects] tbody").text()).to.contain("No projects yet");
      expect(empty("form[action='/projects'] input[name=name]")).to.have.length(1);

      const created = await createProject(agent, { name: "Checkout API", slug: "", environments: "production, staging" });
      expect(created.status).to.equal(303);
      expect(created.headers.location).to.equal("/projects/checkout-api/settings");
      const settings = cheerio.load((await agent.get(created.headers.location)).text);
      expect(settings("h1").text()).to.contain("Checkout API");
      expect(settings(".flash-success").text()).to.contain("Project Checkout API created");
      expect(settings("[data-testid=environments] li").map((_, li) => settings(li).attr("data-environment")).get()).to.deep.equal([
        "production",
        "staging",
      ]);
      // The deploy list lives at /projects/:slug (another page); settings link to it.
      expect(settings("a[href='/projects/checkout-api']").length).to.be.greaterThan(0);

      const list = cheerio.load((await agent.get("/projects")).text);
      const row = list("tr[data-project=checkout-api]");
      expect(row.find("a[href='/projects/checkout-api']").text()).to.equal("Checkout API");
      expect(row.find("a[href='/projects/checkout-api/settings']")).to.have.length(1);
      expect(row.find(".tag").map((_, t) => list(t).text()).get()).to.deep.equal(["production", "staging"]);
    });

    it("when the create form is invalid, then it re-renders with what was typed and a message by each bad field, and saves nothing", async () => {
      app = await startTestApp();
      const { principal } = await seedOrganization(app);
      const agent = await signedInAgent(app);
      const long = "x".repeat(101);
      const res = await createProject(agent, { name: long, slug: "Not A Slug", environments: `production, ${"e".repeat(65)}` });
      expect(res.status).to.equal(400);
      const $ = cheerio.load(res.text);
      expect($("input[name=name]").val()).to.equal(long);
      expect($("input[name=slug]").val()).to.equal("Not A Slug");
      expect($("input[name=environments]").val()).to.equal(`production, ${"e".repeat(65)}`);
      const errors = fieldErrors(res.text);
      expect(errors.name).to.match(/at most 100 characters/);
      expect(errors.slug).to.match(/lowercase letters, digits and single dashes/);
      expect(errors.environments).to.match(/at most 64 characters/);
      expect(await app.services.projects.listProjects(principal.organizationId, { includeArchived: true })).to.deep.equal([]);

      const blank = await createProject(agent, { name: "   ", environments: "production, production" });
      expect(blank.status).to.equal(400);
      expect(fieldErrors(blank.text).name).to.match(/cannot be empty/);
      expect(fieldErrors(blank.text).environments).to.match(/"production" is listed twice/);
      const noLetters = await createProject(agent, { name: "!!!" });
      expect(noLetters.status).to.equal(400);
      expect(fieldErrors(noLetters.text).name).to.match(/at least one letter or digit/);
    });

    it("when the slug is taken in the organization, then 409 with a message by the slug field", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      expect((await createProject(agent, { name: "Checkout API" })).status).to.equal(303);
      const again = await createProject(agent, { name: "Checkout  api!" });
      expect(again.status).to.equal(409);
      expect(fieldErrors(again.text).slug).to.match(/"checkout-api" is taken \("Checkout API"\)/);
      expect(cheerio.load(again.text)("[role=alert]").text()).to.match(/already exists in your organization/);
      const given = await createProject(agent, { name: "Other", slug: "checkout-api" });
      expect(given.status).to.equal(409);
      expect((await createProject(agent, { name: "Other", slug: "checkout-api-2" })).status).to.equal(303);
    });
  });

  describe("project settings", () => {
    it("when an admin renames, adds and removes environments, archives and unarchives, then the page shows each change", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      await createProject(agent, { name: "Checkout API" });
      const settings = "/projects/checkout-api/settings";

      expect((await post(agent, settings, `${settings}/name`, { name: "Checkout" })).status).to.equal(303);
      let $ = cheerio.load((await agent.get(settings)).text);
      expect($("h1").text()).to.contain("Checkout");
      expect($("[data-testid=project-slug]").text()).to.equal("checkout-api");

      for (const env of ["production", "staging", "canary"]) {
        const added = await post(agent, settings, `${settings}/environments`, { environment: `  ${env} ` });
        expect(added.status).to.equal(303);
      }
      const duplicate = await post(agent, settings, `${settings}/environments`, { environment: "Production" });
      expect(duplicate.status).to.equal(409);
      expect(fieldErrors(duplicate.text).environment).to.equal('"production" is already an environment of Checkout.');
      expect(cheerio.load(duplicate.text)(`form[action="${settings}/environments"] input[name=environment]`).val()).to.equal("Production");
      const tooLong = await post(agent, settings, `${settings}/environments`, { environment: "p".repeat(65) });
      expect(tooLong.status).to.equal(400);
      expect(fieldErrors(tooLong.text).environment).to.match(/at most 64 characters \(this one has 65\)/);
      const control = await post(agent, settings, `${settings}/environments`, { environment: "prod\u0007" });
      expect(control.status).to.equal(400);
      expect(fieldErrors(control.text).environment).to.match(/control characters/);
      const empty = await post(agent, settings, `${settings}/environments`, { environment: "   " });
      expect(empty.status).to.equal(400);
      expect(fieldErrors(empty.text).environment).to.match(/cannot be empty/);

      expect((await post(agent, settings, `${settings}/environments/remove`, { environment: "canary" })).status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($("[data-testid=environments] li").map((_, li) => $(li).attr("data-environment")).get()).to.deep.equal(["production", "staging"]);
      expect($("[data-environment=production]").text()).to.contain("(default)");

      expect((await post(agent, settings, `${settings}/archive`)).status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($("[data-testid=archived-banner]")).to.have.length(1);
      let list = cheerio.load((await agent.get("/projects")).text);
      expect(list("[data-testid=projects] tr[data-project=checkout-api]")).to.have.length(0);
      expect(list(".archived-projects li[data-project=checkout-api]")).to.have.length(1);
      expect((await post(agent, settings, `${settings}/unarchive`)).status).to.equal(303);
      list = cheerio.load((await agent.get("/projects")).text);
      expect(list("[data-testid=projects] tr[data-project=checkout-api]")).to.have.length(1);
    });

    it("when a project does not exist, then its settings page is a 404", async () => {
      app = await startTestApp();
      await seedOrganization(app);
      const agent = await signedInAgent(app);
      const res = await agent.get("/projects/nope/settings");
      expect(res.status).to.equal(404);
      expect(cheerio.load(res.text)("p").first().text()).to.equal('No project "nope" in your organization.');
    });
  });

  describe("Add impact", () => {
    it("when Sentry is connected, then the dropdown lists the organization's Sentry projects and Sentry's environments are suggested", async () => {
      const { agent, settings } = await connectedSetup();
      const $ = cheerio.load((await agent.get(settings)).text);
      const options = $("#add-impact select[name=sentryProject] option")
        .map((_, o) => ({ value: $(o).attr("value"), text: $(o).text() }))
        .get();
      expect(options).to.deep.equal([
        { value: "", text: "Choose a Sentry project…" },
        { value: "backend", text: "backend (Backend API)" },
        { value: "frontend", text: "frontend (Web frontend)" },
        { value: "worker", text: "worker (Worker)" },
      ]);
      expect(JSON.parse($("option[value=backend]").attr("data-environments")!)).to.deep.equal(["production", "staging"]);
      const input = $("#add-impact input[name=sentryEnvironment]");
      expect(input.attr("list")).to.equal("sentry-environment-suggestions");
      expect(input.attr("type") ?? "text").to.equal("text");
      expect($("datalist#sentry-environment-suggestions option").map((_, o) => $(o).attr("value")).get()).to.deep.equal([
        "preview",
        "production",
        "staging",
      ]);
      expect($("#add-impact input[type=checkbox][name=environments]").map((_, c) => $(c).val()).get()).to.deep.equal(["production", "staging"]);
      const radios = $("#add-impact input[type=radio][name=sensitivity]");
      expect(radios.map((_, r) => $(r).val()).get()).to.deep.equal(["low", "medium", "high"]);
      expect($("#add-impact input[name=sensitivity][value=medium]").is("[checked]")).to.equal(true);
      radios.each((_, r) => {
        expect($(r).parent().find(".muted").text().length).to.be.greaterThan(20);
      });
      expect($("#add-impact input[name=name]").attr("placeholder")).to.contain("·");
      expect($("script[src='/assets/impact-source-picker.js']")).to.have.length(1);
    });

    it("when the admin picks a Sentry project and types an environment Sentry has never seen, then the mapping is saved and listed", async () => {
      const { agent, settings, principal } = await connectedSetup();
      const res = await post(agent, settings, `${settings}/impact-sources`, {
        sentryProject: "backend",
        sentryEnvironment: "eu-production",
        environments: ["production"],
        sensitivity: "high",
        name: "",
      });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(`${settings}#impact-sources`);
      const $ = cheerio.load((await agent.get(settings)).text);
      expect($(".flash-success").text()).to.contain("backend · eu-production");
      const row = $("[data-testid=impact-sources] tbody tr[data-source-id]");
      expect(row).to.have.length(1);
      const cell = (col: string) => row.find(`[data-col=${col}]`).text().trim();
      expect(cell("name")).to.equal("backend · eu-production");
      expect(cell("sentry-project")).to.equal("backend");
      expect(cell("sentry-environment")).to.equal("eu-production");
      expect(cell("applies-to")).to.equal("production");
      expect(cell("sensitivity")).to.equal("high");
      expect(cell("status")).to.equal("enabled");
      const project = await app.services.projects.getProjectBySlug(principal.organizationId, "checkout-api");
      const [stored] = await app.services.projects.listImpactSources(principal.organizationId, project.id);
      expect(stored).to.include({ sentryProjectId: "4501", sentryProjectSlug: "backend", sentryEnvironment: "eu-production", sensitivity: "high" });
      expect(stored!.environments).to.deep.equal(["production"]);

      // Several sources per project; none ticked means all environments.
      const second = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "frontend", sentryEnvironment: "production", name: "Web" });
      expect(second.status).to.equal(303);
      const again = cheerio.load((await agent.get(settings)).text);
      const web = again("tr[data-source-id]").filter((_, tr) => again(tr).find("[data-col=name]").text() === "Web");
      expect(web.find("[data-col=applies-to]").text()).to.equal("all environments");
      expect(web.find("[data-col=sensitivity]").text()).to.equal("medium");
    });

    it("when the form is invalid, then each problem is shown by its field with what was typed, and nothing is saved", async () => {
      const { agent, settings, principal } = await connectedSetup();
      const count = async () => {
        const project = await app.services.projects.getProjectBySlug(principal.organizationId, "checkout-api");
        return (await app.services.projects.listImpactSources(principal.organizationId, project.id)).length;
      };

      // Empty environment and a name too long: 400, typed values kept.
      const bad = await post(agent, settings, `${settings}/impact-sources`, {
        sentryProject: "frontend",
        sentryEnvironment: "  ",
        environments: ["staging"],
        sensitivity: "low",
        name: "n".repeat(121),
      });
      expect(bad.status).to.equal(400);
      let errors = fieldErrors(bad.text);
      expect(errors.sentryEnvironment).to.match(/cannot be empty/);
      expect(errors.name).to.match(/at most 120 characters \(this one has 121\)/);
      let $ = cheerio.load(bad.text);
      expect($("#add-impact select[name=sentryProject] option[selected]").attr("value")).to.equal("frontend");
      expect($("#add-impact input[name=environments][value=staging]").is("[checked]")).to.equal(true);
      expect($("#add-impact input[name=environments][value=production]").is("[checked]")).to.equal(false);
      expect($("#add-impact input[name=sensitivity][value=low]").is("[checked]")).to.equal(true);
      expect($("#add-impact input[name=name]").val()).to.equal("n".repeat(121));
      expect($("#add-impact [role=alert]").text()).to.contain("not valid");

      // A Sentry project that does not exist (a forged or stale form): 422 naming it and listing real ones.
      const unknown = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backnd", sentryEnvironment: "production" });
      expect(unknown.status).to.equal(422);
      errors = fieldErrors(unknown.text);
      expect(errors.sentryProject).to.contain('Sentry has no project "backnd"');
      expect(errors.sentryProject).to.contain("backend");
      expect(errors.sentryProject).to.contain("frontend");
      $ = cheerio.load(unknown.text);
      expect($("#add-impact input[name=sentryEnvironment]").val()).to.equal("production");

      // A project environment that is not the project's.
      const wrongEnv = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production", environments: ["qa"] });
      expect(wrongEnv.status).to.equal(422);
      expect(fieldErrors(wrongEnv.text).environments).to.equal('Checkout API has no environment "qa". It has: production, staging.');

      // Slash: Sentry never accepts it in an environment name.
      const slash = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "prod/eu" });
      expect(slash.status).to.equal(400);
      expect(fieldErrors(slash.text).sentryEnvironment).to.match(/cannot contain "\/"/);
      expect(await count()).to.equal(0);

      // Duplicate of an existing mapping: 409 by the environment field.
      expect((await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" })).status).to.equal(303);
      const duplicate = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "4501", sentryEnvironment: "production", name: "Again" });
      expect(duplicate.status).to.equal(409);
      expect(fieldErrors(duplicate.text).sentryEnvironment).to.equal(
        'Checkout API already has an impact source ("backend · production") for Sentry project "backend" in environment "production".',
      );
      expect(cheerio.load(duplicate.text)("#add-impact input[name=name]").val()).to.equal("Again");
      expect(await count()).to.equal(1);
    });

    it("when Sentry is not connected, then the form area says so and links to the Integrations page, and posting is refused", async () => {
      app = await startTestApp();
      const { principal } = await seedOrganization(app);
      const agent = await signedInAgent(app);
      await createProject(agent, { name: "Checkout API", environments: "production" });
      const settings = "/projects/checkout-api/settings";
      const $ = cheerio.load((await agent.get(settings)).text);
      const notice = $("#add-impact [data-testid=sentry-not-connected]");
      expect(notice.text()).to.contain("Sentry is not connected");
      expect(notice.find("a[href='/integrations']").text()).to.match(/Integrations page/);
      expect($("#add-impact form")).to.have.length(0);
      expect($("#add-impact select")).to.have.length(0);

      const res = await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      expect(res.status).to.equal(409);
      expect(cheerio.load(res.text)("#add-impact [data-testid=sentry-not-connected] a[href='/integrations']")).to.have.length(1);
      const project = await app.services.projects.getProjectBySlug(principal.organizationId, "checkout-api");
      expect(await app.services.projects.listImpactSources(principal.organizationId, project.id)).to.deep.equal([]);
    });

    it("when an admin edits, disables, enables and removes a source, then the list follows", async () => {
      const { agent, settings } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      let $ = cheerio.load((await agent.get(settings)).text);
      const id = $("tr[data-source-id]").attr("data-source-id")!;
      const editUrl = `${settings}/impact-sources/${id}/edit`;
      expect($(`a[href='${editUrl}']`)).to.have.length(1);

      const edit = cheerio.load((await agent.get(editUrl)).text);
      expect(edit("select[name=sentryProject] option[selected]").attr("value")).to.equal("backend");
      expect(edit("input[name=sentryEnvironment]").val()).to.equal("production");
      expect(edit("input[name=sensitivity][value=medium]").is("[checked]")).to.equal(true);

      const invalid = await post(agent, editUrl, `${settings}/impact-sources/${id}`, { sentryProject: "frontend", sentryEnvironment: "" });
      expect(invalid.status).to.equal(400);
      expect(fieldErrors(invalid.text).sentryEnvironment).to.match(/cannot be empty/);
      expect(cheerio.load(invalid.text)("select[name=sentryProject] option[selected]").attr("value")).to.equal("frontend");

      const saved = await post(agent, editUrl, `${settings}/impact-sources/${id}`, {
        sentryProject: "frontend",
        sentryEnvironment: "preview",
        environments: ["staging"],
        sensitivity: "low",
        name: "",
      });
      expect(saved.status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      const row = $(`tr[data-source-id=${id}]`);
      // The default name follows the new mapping.
      expect(row.find("[data-col=name]").text()).to.equal("frontend · preview");
      expect(row.find("[data-col=sentry-project]").text().trim()).to.equal("frontend");
      expect(row.find("[data-col=applies-to]").text()).to.equal("staging");
      expect(row.find("[data-col=sensitivity]").text()).to.equal("low");

      expect((await post(agent, settings, `${settings}/impact-sources/${id}/disable`)).status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($(`tr[data-source-id=${id}] [data-col=status]`).text()).to.equal("disabled");
      expect($(`form[action='${settings}/impact-sources/${id}/enable']`)).to.have.length(1);
      expect((await post(agent, settings, `${settings}/impact-sources/${id}/enable`)).status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($(`tr[data-source-id=${id}] [data-col=status]`).text()).to.equal("enabled");

      expect((await post(agent, settings, `${settings}/impact-sources/${id}/remove`)).status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($("tr[data-source-id]")).to.have.length(0);
      expect($(".flash-success").text()).to.contain("removed");
      expect((await agent.get(editUrl)).status).to.equal(404);
    });

    it("when Sentry was disconnected, then sources show as unmapped and can still be edited without a Sentry project", async () => {
      const { agent, settings, organization } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      const id = cheerio.load((await agent.get(settings)).text)("tr[data-source-id]").attr("data-source-id")!;
      await app.services.sentry.disconnect(organization.id);
      let $ = cheerio.load((await agent.get(settings)).text);
      expect($(`tr[data-source-id=${id}] [data-col=sentry-project]`).text()).to.contain("unmapped");
      expect($("#add-impact [data-testid=sentry-not-connected]")).to.have.length(1);

      const editUrl = `${settings}/impact-sources/${id}/edit`;
      const edit = cheerio.load((await agent.get(editUrl)).text);
      expect(edit("[data-testid=sentry-not-connected] a[href='/integrations']")).to.have.length(1);
      expect(edit("select[name=sentryProject]")).to.have.length(0);
      expect(edit("input[name=sentryEnvironment]").val()).to.equal("production");
      const saved = await post(agent, editUrl, `${settings}/impact-sources/${id}`, { sentryEnvironment: "production", sensitivity: "low", name: "Kept" });
      expect(saved.status).to.equal(303);
      $ = cheerio.load((await agent.get(settings)).text);
      expect($(`tr[data-source-id=${id}] [data-col=name]`).text()).to.equal("Kept");
      expect($(`tr[data-source-id=${id}] [data-col=sensitivity]`).text()).to.equal("low");
    });

    it("when an environment is the only one a source applies to, then removing it is refused with a message, and nothing changes", async () => {
      const { agent, settings, principal } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "staging", environments: ["staging"] });
      const res = await post(agent, settings, `${settings}/environments/remove`, { environment: "staging" });
      expect(res.status).to.equal(303);
      const $ = cheerio.load((await agent.get(settings)).text);
      expect($(".flash-error").text()).to.contain('The impact source "backend · staging" applies only to "staging"');
      expect((await app.services.projects.getProjectBySlug(principal.organizationId, "checkout-api")).environments).to.deep.equal(["production", "staging"]);
    });
  });

  describe("CSRF", () => {
    it("when any form of the projects pages is posted without its token, then 403 and nothing changes", async () => {
      const { agent, settings, principal } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      const settingsHtml = (await agent.get(settings)).text;
      const id = cheerio.load(settingsHtml)("tr[data-source-id]").attr("data-source-id")!;
      const pages = ["/projects", settings, `${settings}/impact-sources/${id}/edit`];
      const actions = new Set<string>();
      for (const url of pages) {
        const $ = cheerio.load((await agent.get(url)).text);
        $("main form[method=post]").each((_, form) => {
          // Every form carries the token; posting one without it must fail.
          expect($(form).find("input[type=hidden][name=_csrf]").val(), $(form).attr("action")).to.be.a("string").with.length.greaterThan(20);
          actions.add($(form).attr("action")!);
        });
      }
      expect([...actions].sort()).to.deep.equal(
        [
          "/projects",
          `${settings}/name`,
          `${settings}/environments`,
          `${settings}/environments/remove`,
          `${settings}/impact-sources`,
          `${settings}/impact-sources/${id}`,
          `${settings}/impact-sources/${id}/disable`,
          `${settings}/impact-sources/${id}/remove`,
          `${settings}/archive`,
        ].sort(),
      );
      const before = JSON.stringify(await snapshot(app, principal.organizationId));
      for (const action of [...actions, `${settings}/unarchive`, `${settings}/impact-sources/${id}/enable`]) {
        const fields = { name: "Changed", environment: "production", sentryProject: "frontend", sentryEnvironment: "x", slug: "forged" };
        const missing = await agent.post(action).type("form").send(fields);
        expect(missing.status, action).to.equal(403);
        const forged = await agent.post(action).type("form").send({ ...fields, _csrf: "forged" });
        expect(forged.status, action).to.equal(403);
      }
      expect(JSON.stringify(await snapshot(app, principal.organizationId))).to.equal(before);
    });
  });

  describe("roles and isolation", () => {
    it("when a member opens the pages, then they see projects and sources but no forms, and every change is refused", async () => {
      const { agent, settings, principal } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      const id = cheerio.load((await agent.get(settings)).text)("tr[data-source-id]").attr("data-source-id")!;
      await app.services.accounts.addMember(principal, { email: "dev@example.com", password: "member password", role: "member" });
      const member = await signedInAgent(app, "dev@example.com", "member password");

      const list = cheerio.load((await member.get("/projects")).text);
      expect(list("tr[data-project=checkout-api]")).to.have.length(1);
      expect(list("main form")).to.have.length(0);
      const page = await member.get(settings);
      expect(page.status).to.equal(200);
      const $ = cheerio.load(page.text);
      expect($("tr[data-source-id]").find("[data-col=sentry-project]").text().trim()).to.equal("backend");
      expect($("[data-testid=environments] li")).to.have.length(2);
      expect($("main form")).to.have.length(0);
      expect($("#add-impact")).to.have.length(0);
      expect((await member.get(`${settings}/impact-sources/${id}/edit`)).status).to.equal(403);

      const before = JSON.stringify(await snapshot(app, principal.organizationId));
      const csrf = csrfFrom(page.text);
      for (const [action, fields] of [
        ["/projects", { name: "Member project" }],
        [`${settings}/name`, { name: "Renamed" }],
        [`${settings}/environments`, { environment: "qa" }],
        [`${settings}/environments/remove`, { environment: "production" }],
        [`${settings}/archive`, {}],
        [`${settings}/impact-sources`, { sentryProject: "frontend", sentryEnvironment: "production" }],
        [`${settings}/impact-sources/${id}`, { sentryEnvironment: "x" }],
        [`${settings}/impact-sources/${id}/disable`, {}],
        [`${settings}/impact-sources/${id}/remove`, {}],
      ] as const) {
        const res = await member.post(action).type("form").send({ _csrf: csrf, ...fields });
        expect(res.status, action).to.equal(403);
        expect(cheerio.load(res.text)("main").text()).to.contain("Only admins");
      }
      expect(JSON.stringify(await snapshot(app, principal.organizationId))).to.equal(before);
    });

    it("when a person of another organization tries organization A's project, then it does not exist for them", async () => {
      const { agent, settings, principal } = await connectedSetup();
      await post(agent, settings, `${settings}/impact-sources`, { sentryProject: "backend", sentryEnvironment: "production" });
      const id = cheerio.load((await agent.get(settings)).text)("tr[data-source-id]").attr("data-source-id")!;
      await seedOrganization(app, { orgName: "Beta", email: "b@example.com", password: "beta password" });
      const other = await signedInAgent(app, "b@example.com", "beta password");

      const list = cheerio.load((await other.get("/projects")).text);
      expect(list("tr[data-project]")).to.have.length(0);
      expect((await other.get(settings)).status).to.equal(404);
      expect((await other.get(`${settings}/impact-sources/${id}/edit`)).status).to.equal(404);
      // Beta's own project with the same slug does not open A's source either.
      expect((await createProject(other, { name: "Checkout API" })).status).to.equal(303);
      expect((await other.get(`${settings}/impact-sources/${id}/edit`)).status).to.equal(404);

      const before = JSON.stringify(await snapshot(app, principal.organizationId));
      const csrf = csrfFrom((await other.get("/projects")).text);
      for (const action of [`${settings}/impact-sources/${id}/disable`, `${settings}/impact-sources/${id}/remove`, `${settings}/impact-sources/${id}`]) {
        const res = await other.post(action).type("form").send({ _csrf: csrf, sentryEnvironment: "x" });
        expect(res.status, action).to.equal(404);
      }
      expect(JSON.stringify(await snapshot(app, principal.organizationId))).to.equal(before);
      // Slugs are per organization: both have "checkout-api".
      expect((await app.services.projects.listProjects(principal.organizationId)).map((p) => p.name)).to.deep.equal(["Checkout API"]);
    });
  });
});

/** Everything the projects capability stores for an organization, for "nothing changed" checks. */
async function snapshot(app: RunningAftershock, organizationId: string) {
  const projects = await app.services.projects.listProjects(organizationId, { includeArchived: true });
  return Promise.all(projects.map(async (p) => ({ ...p, sources: await app.services.projects.listImpactSources(organizationId, p.id) })));
}
