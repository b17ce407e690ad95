import { Router, type Request, type Response } from "express";
import { AppError } from "../errors.js";
import {
  defaultSourceName,
  SENSITIVITIES,
  type ImpactSourceView,
  type ProjectsService,
  type ProjectView,
  type SentryChoices,
} from "../projects/projects-service.js";
import { requireLogin, requireRole } from "./authentication.js";
import { flash, principalOf } from "./request-context.js";

/** One line per sensitivity, shown by its radio button. */
const SENSITIVITY_HELP: Record<(typeof SENSITIVITIES)[number], { label: string; help: string }> = {
  low: { label: "Low", help: "Only large, clear rises in errors: for noisy services where some extra errors are normal." },
  medium: { label: "Medium", help: "The default: a significant rise of at least a few errors." },
  high: { label: "High", help: "Smaller rises, sooner: for critical services where a few new errors already matter." },
};

const PICKER_SCRIPT = "/assets/impact-source-picker.js";

type Errors = Record<string, string>;

/**
 * Field messages of a refused form, keyed by the page's input names (`environments[2]` from the
 * service is the `environments` input here). Null when the error is not about the form's fields.
 */
function formErrors(error: unknown): { errors: Errors; message: string; status: number } | null {
  if (!(error instanceof AppError) || (error.statusCode >= 500 && error.statusCode !== 503)) return null;
  const errors: Errors = {};
  for (const d of error.details as Array<{ field?: string; message?: string }>) {
    if (!d?.field || !d.message) continue;
    const field = d.field.replace(/[[.].*$/, "");
    errors[field] = errors[field] ? `${errors[field]} ${d.message}` : d.message;
  }
  if (!Object.keys(errors).length) return null;
  return { errors, message: error.message, status: error.statusCode };
}

/** Checkbox groups arrive as a string (one ticked) or an array (several); none ticked → absent. */
function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === "string" ? [value] : [];
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

interface ImpactFormValues {
  sentryProject: string;
  sentryEnvironment: string;
  environments: string[];
  sensitivity: string;
  name: string;
}

function impactValuesFrom(body: Record<string, unknown> | undefined): ImpactFormValues {
  return {
    sentryProject: text(body?.sentryProject),
    sentryEnvironment: text(body?.sentryEnvironment),
    environments: list(body?.environments),
    sensitivity: text(body?.sensitivity) || "medium",
    name: text(body?.name),
  };
}

function impactValuesOf(source: ImpactSourceView): ImpactFormValues {
  return {
    sentryProject: source.sentryProjectSlug ?? "",
    sentryEnvironment: source.sentryEnvironment,
    environments: source.environments ?? [],
    sensitivity: source.sensitivity,
    // A default name is shown as the placeholder, so it keeps following the mapping.
    name: source.name === defaultSourceName(source.sentryProjectSlug, source.sentryEnvironment) ? "" : source.name,
  };
}

/** What the impact source form partial needs: the dropdown, suggestions, checkboxes, radios. */
function impactForm(project: ProjectView, choices: SentryChoices, values: ImpactFormValues, errors: Errors) {
  const selected = choices.projects.find((p) => p.slug === values.sentryProject || p.id === values.sentryProject);
  return {
    connected: choices.status === "connected",
    sentryStatus: choices.status,
    sentryMessage: choices.status === "connected" ? null : choices.message,
    sentryProjects: choices.projects.map((p) => ({
      slug: p.slug,
      label: p.name && p.name !== p.slug ? `${p.slug} (${p.name})` : p.slug,
      selected: p === selected,
      environments: JSON.stringify(p.environments),
    })),
    manyProjects: choices.projects.length > 5,
    // Without JavaScript the suggestions are every environment Sentry knows; the script narrows them
    // to the chosen project's.
    sentryEnvironments: selected?.environments.length ? selected.environments : choices.environments,
    allEnvironmentsJson: JSON.stringify(choices.environments),
    environmentChoices: project.environments.map((name) => ({ name, checked: values.environments.includes(name) })),
    noProjectEnvironments: project.environments.length === 0,
    sensitivities: SENSITIVITIES.map((value) => ({ value, ...SENSITIVITY_HELP[value], checked: values.sensitivity === value })),
    namePlaceholder: values.sentryEnvironment && selected ? defaultSourceName(selected.slug, values.sentryEnvironment) : "<Sentry project> · <environment>",
    values,
    errors,
  };
}

function sourceRow(source: ImpactSourceView) {
  return {
    ...source,
    mapped: source.sentryProjectId !== null,
    appliesTo: source.environments ? source.environments.join(", ") : "all environments",
  };
}

/**
 * The projects pages: the list (and create form), and each project's settings: name, archive,
 * environments, and its impact sources with the Add impact form. Members see everything; only
 * admins get forms. Every change is a POST with the CSRF field and answers with a redirect (or the
 * same page re-rendered with what was typed and a message by each bad field).
 */
export function projectPageRoutes(deps: { projects: ProjectsService }): Router {
  const { projects } = deps;
  const router = Router();
  const admin = [requireLogin(), requireRole("admin")];
  const settingsUrl = (slug: string) => `/projects/${encodeURIComponent(slug)}/settings`;

  async function renderList(req: Request, res: Response, extra: Record<string, unknown> = {}): Promise<void> {
    const { organizationId } = principalOf(req);
    const [all, counts] = await Promise.all([projects.listProjects(organizationId, { includeArchived: true }), projects.impactSourceCounts(organizationId)]);
    const rows = all.map((p) => ({ ...p, impactSources: counts[p.id] ?? 0 }));
    res.render("pages/projects", {
      title: "Projects",
      projects: rows.filter((p) => !p.archived),
      archivedProjects: rows.filter((p) => p.archived),
      ...extra,
    });
  }

  async function renderSettings(req: Request, res: Response, slug: string, extra: { addValues?: ImpactFormValues; addErrors?: Errors; [key: string]: unknown } = {}) {
    const { organizationId } = principalOf(req);
    const project = await projects.getProjectBySlug(organizationId, slug);
    const sources = await projects.listImpactSources(organizationId, project.id);
    const isAdmin = principalOf(req).role === "admin";
    // Members cannot add sources, so Sentry is not asked on their behalf.
    const choices = isAdmin ? await projects.sentryChoices(organizationId) : null;
    res.render("pages/project-settings", {
      title: `${project.name} · Settings`,
      project,
      sources: sources.map(sourceRow),
      addForm: choices
        ? impactForm(project, choices, extra.addValues ?? impactValuesFrom(undefined), extra.addErrors ?? {})
        : null,
      scripts: [PICKER_SCRIPT],
      ...extra,
    });
  }

  router.get("/projects", requireLogin(), async (req, res) => {
    await renderList(req, res);
  });

  router.post("/projects", ...admin, async (req, res) => {
    const form = { name: text(req.body?.name), slug: text(req.body?.slug), environments: text(req.body?.environments) };
    try {
      const project = await projects.createProject(principalOf(req), {
        name: form.name,
        slug: form.slug.trim() || null,
        // Typed as "production, staging" (commas or new lines).
        environments: form.environments.split(/[,\n]/).map((e) => e.trim()).filter(Boolean),
      });
      flash(req, "success", `Project ${project.name} created. Next: add its environments and an impact source (Add impact).`);
      res.redirect(303, settingsUrl(project.slug));
    } catch (error) {
      const refused = formErrors(error);
      if (!refused) throw error;
      res.status(refused.status);
      await renderList(req, res, { form, errors: refused.errors, error: refused.message });
    }
  });

  router.get("/projects/:slug/settings", requireLogin(), async (req, res) => {
    await renderSettings(req, res, String(req.params.slug));
  });

  router.post("/projects/:slug/settings/name", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const name = text(req.body?.name);
    try {
      await projects.renameProject(principalOf(req), slug, name);
      flash(req, "success", "Project renamed. Its slug (and so CI's URLs) stays the same.");
      res.redirect(303, settingsUrl(slug));
    } catch (error) {
      const refused = formErrors(error);
      if (!refused) throw error;
      res.status(refused.status);
      await renderSettings(req, res, slug, { renameValue: name, renameErrors: refused.errors });
    }
  });

  router.post("/projects/:slug/settings/archive", ...admin, async (req, res) => {
    const project = await projects.archiveProject(principalOf(req), String(req.params.slug));
    flash(req, "success", `${project.name} archived: it left the project list; its deploys and settings are kept.`);
    res.redirect(303, settingsUrl(project.slug));
  });

  router.post("/projects/:slug/settings/unarchive", ...admin, async (req, res) => {
    const project = await projects.unarchiveProject(principalOf(req), String(req.params.slug));
    flash(req, "success", `${project.name} is back in the project list.`);
    res.redirect(303, settingsUrl(project.slug));
  });

  router.post("/projects/:slug/settings/environments", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const environment = text(req.body?.environment);
    try {
      const project = await projects.addEnvironment(principalOf(req), slug, environment);
      flash(req, "success", `Environment "${project.environments.at(-1)}" added.`);
      res.redirect(303, `${settingsUrl(slug)}#environments`);
    } catch (error) {
      const refused = formErrors(error);
      if (!refused) throw error;
      res.status(refused.status);
      await renderSettings(req, res, slug, { environmentValue: environment, environmentErrors: refused.errors });
    }
  });

  router.post("/projects/:slug/settings/environments/remove", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const environment = text(req.body?.environment);
    try {
      await projects.removeEnvironment(principalOf(req), slug, environment);
      flash(req, "success", `Environment "${environment}" removed.`);
    } catch (error) {
      // E.g. a source applies only to it: say why on the page rather than on an error page.
      if (!(error instanceof AppError) || error.statusCode !== 409) throw error;
      flash(req, "error", error.message);
    }
    res.redirect(303, `${settingsUrl(slug)}#environments`);
  });

  router.post("/projects/:slug/settings/impact-sources", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const values = impactValuesFrom(req.body);
    try {
      const source = await projects.createImpactSource(principalOf(req), slug, {
        sentryProject: values.sentryProject,
        sentryEnvironment: values.sentryEnvironment,
        environments: values.environments,
        sensitivity: values.sensitivity as (typeof SENSITIVITIES)[number],
        name: values.name,
      });
      flash(req, "success", `Impact source “${source.name}” added: deploys will be judged on its errors.`);
      res.redirect(303, `${settingsUrl(slug)}#impact-sources`);
    } catch (error) {
      const refused = formErrors(error);
      if (!refused) throw error;
      res.status(refused.status);
      await renderSettings(req, res, slug, { addValues: values, addErrors: refused.errors, addError: refused.message });
    }
  });

  async function renderEdit(req: Request, res: Response, slug: string, id: string, values?: ImpactFormValues, errors: Errors = {}, error?: string) {
    const { organizationId } = principalOf(req);
    const project = await projects.getProjectBySlug(organizationId, slug);
    const source = await projects.getProjectImpactSource(organizationId, slug, id);
    const choices = await projects.sentryChoices(organizationId);
    res.render("pages/project-impact-source-edit", {
      title: `Edit ${source.name}`,
      project,
      source: sourceRow(source),
      form: impactForm(project, choices, values ?? impactValuesOf(source), errors),
      error,
      scripts: [PICKER_SCRIPT],
    });
  }

  router.get("/projects/:slug/settings/impact-sources/:id/edit", ...admin, async (req, res) => {
    await renderEdit(req, res, String(req.params.slug), String(req.params.id));
  });

  router.post("/projects/:slug/settings/impact-sources/:id", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const id = String(req.params.id);
    const values = impactValuesFrom(req.body);
    try {
      const source = await projects.updateImpactSource(principalOf(req), slug, id, {
        // Absent when Sentry is not connected (no dropdown): the mapping then stays as it is.
        ...(req.body?.sentryProject !== undefined ? { sentryProject: values.sentryProject } : {}),
        sentryEnvironment: values.sentryEnvironment,
        environments: values.environments,
        sensitivity: values.sensitivity as (typeof SENSITIVITIES)[number],
        name: values.name,
      });
      flash(req, "success", `Impact source “${source.name}” saved.`);
      res.redirect(303, `${settingsUrl(slug)}#impact-sources`);
    } catch (error) {
      const refused = formErrors(error);
      if (!refused) throw error;
      res.status(refused.status);
      await renderEdit(req, res, slug, id, values, refused.errors, refused.message);
    }
  });

  for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
    router.post(`/projects/:slug/settings/impact-sources/:id/${action}`, ...admin, async (req, res) => {
      const slug = String(req.params.slug);
      const source = await projects.updateImpactSource(principalOf(req), slug, String(req.params.id), { enabled });
      flash(req, "success", `Impact source “${source.name}” ${enabled ? "enabled" : "disabled: new deploys are not judged on it"}.`);
      res.redirect(303, `${settingsUrl(slug)}#impact-sources`);
    });
  }

  router.post("/projects/:slug/settings/impact-sources/:id/remove", ...admin, async (req, res) => {
    const slug = String(req.params.slug);
    const id = String(req.params.id);
    const source = await projects.getProjectImpactSource(principalOf(req).organizationId, slug, id);
    await projects.deleteImpactSource(principalOf(req), slug, id);
    flash(req, "success", `Impact source “${source.name}” removed.`);
    res.redirect(303, `${settingsUrl(slug)}#impact-sources`);
  });

  return router;
}
