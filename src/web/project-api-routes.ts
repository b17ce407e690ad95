import { Router, type Request } from "express";
import type { ImpactSourceView, ProjectsService, ProjectView } from "../projects/projects-service.js";
import { requireRole } from "./authentication.js";
import { principalOf } from "./request-context.js";

/** The project object of the API: DESIGN.md's `{slug, name, environments}` plus a few read-only fields. */
export function projectJson(project: ProjectView) {
  return {
    slug: project.slug,
    name: project.name,
    environments: project.environments,
    defaultEnvironment: project.defaultEnvironment,
    archived: project.archived,
    createdAt: project.createdAt.toISOString(),
  };
}

/** `sentryProject` is null after a Sentry disconnect, until someone maps the source again. */
export function impactSourceJson(source: ImpactSourceView, projectSlug: string) {
  return {
    id: source.id,
    project: projectSlug,
    name: source.name,
    sentryProject: source.sentryProjectId ? { id: source.sentryProjectId, slug: source.sentryProjectSlug } : null,
    sentryEnvironment: source.sentryEnvironment,
    environments: source.environments,
    sensitivity: source.sensitivity,
    enabled: source.enabled,
    createdAt: source.createdAt.toISOString(),
    updatedAt: source.updatedAt.toISOString(),
  };
}

const slugOf = (req: Request) => String(req.params.slug);

/**
 * JSON API of projects and impact sources (DESIGN.md "Public contracts"). Mounted inside the
 * token-protected router: the token's organization is the only one these routes ever see, so a
 * project of another organization is simply "not found". Writes need an admin token.
 */
export function projectApiRoutes(deps: { projects: ProjectsService }): Router {
  const { projects } = deps;
  const router = Router();

  router.get("/v1/projects", async (req, res) => {
    const includeArchived = req.query.includeArchived === "true" || req.query.includeArchived === "1";
    const list = await projects.listProjects(principalOf(req).organizationId, { includeArchived });
    res.json(list.map(projectJson));
  });

  router.post("/v1/projects", requireRole("admin"), async (req, res) => {
    const project = await projects.createProject(principalOf(req), req.body);
    res.status(201).location(`/api/v1/projects/${project.slug}`).json(projectJson(project));
  });

  router.get("/v1/projects/:slug", async (req, res) => {
    res.json(projectJson(await projects.getProjectBySlug(principalOf(req).organizationId, slugOf(req))));
  });

  /** `{name?, archived?, environments?}`: environments replaces the list (removals as on the settings page). */
  router.patch("/v1/projects/:slug", requireRole("admin"), async (req, res) => {
    res.json(projectJson(await projects.updateProject(principalOf(req), slugOf(req), req.body)));
  });

  router.get("/v1/projects/:slug/impact-sources", async (req, res) => {
    const { organizationId } = principalOf(req);
    const project = await projects.getProjectBySlug(organizationId, slugOf(req));
    const sources = await projects.listImpactSources(organizationId, project.id);
    res.json(sources.map((s) => impactSourceJson(s, project.slug)));
  });

  router.post("/v1/projects/:slug/impact-sources", requireRole("admin"), async (req, res) => {
    const source = await projects.createImpactSource(principalOf(req), slugOf(req), req.body);
    res
      .status(201)
      .location(`/api/v1/projects/${slugOf(req)}/impact-sources/${source.id}`)
      .json(impactSourceJson(source, slugOf(req)));
  });

  router.get("/v1/projects/:slug/impact-sources/:id", async (req, res) => {
    const source = await projects.getProjectImpactSource(principalOf(req).organizationId, slugOf(req), String(req.params.id));
    res.json(impactSourceJson(source, slugOf(req)));
  });

  router.patch("/v1/projects/:slug/impact-sources/:id", requireRole("admin"), async (req, res) => {
    const source = await projects.updateImpactSource(principalOf(req), slugOf(req), String(req.params.id), req.body);
    res.json(impactSourceJson(source, slugOf(req)));
  });

  router.delete("/v1/projects/:slug/impact-sources/:id", requireRole("admin"), async (req, res) => {
    await projects.deleteImpactSource(principalOf(req), slugOf(req), String(req.params.id));
    res.status(204).end();
  });

  return router;
}
