import { Router, type Request, type Response } from "express";
import type { DeployObject } from "../deploys/deploy-object.js";
import type { DeploysService } from "../deploys/deploys-service.js";
import type { DeployProject } from "../deploys/project-lookup.js";
import { queryText } from "./deploy-api-routes.js";
import { requireLogin, requireRole } from "./authentication.js";
import { principalOf } from "./request-context.js";

const FULL_SHA = /^[0-9a-f]{40}$/i;

/** What a deploy card needs beyond the deploy object: display strings, computed once here. */
function card(deploy: DeployObject) {
  return {
    ...deploy,
    shortVersion: FULL_SHA.test(deploy.version) ? deploy.version.slice(0, 12) : deploy.version,
    linkList: Object.entries(deploy.links).map(([name, url]) => ({ name, url })),
  };
}

function pageHref(slug: string, params: Record<string, string | null>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) query.set(k, v);
  const qs = query.toString();
  return `/projects/${encodeURIComponent(slug)}${qs ? `?${qs}` : ""}`;
}

function githubPayloadUrl(publicUrl: string, orgSlug: string, projectSlug: string): string {
  return `${publicUrl}/api/v1/webhooks/github?org=${encodeURIComponent(orgSlug)}&project=${encodeURIComponent(projectSlug)}`;
}

/**
 * The project page (`/projects/:slug`: its deploys newest first, an environment filter, keyset
 * pages) and the project's GitHub webhook settings, where an admin generates the secret.
 */
export function deployPageRoutes(deps: { deploys: DeploysService; publicUrl: string }): Router {
  const { deploys, publicUrl } = deps;
  const router = Router();

  router.get("/projects/:slug", requireLogin(), async (req, res) => {
    const principal = principalOf(req);
    const environment = queryText(req, "environment", 200);
    const cursor = queryText(req, "cursor", 200);
    const page = await deploys.listProjectDeploys(principal.organizationId, String(req.params.slug), { environment, cursor });
    const { project } = page;
    res.render("pages/project-deploys", {
      title: project.name,
      project,
      environment,
      environments: project.environments.map((name) => ({ name, selected: name === environment })),
      deploys: page.deploys.map(card),
      olderHref: page.nextCursor ? pageHref(project.slug, { environment, cursor: page.nextCursor }) : null,
      newestHref: cursor ? pageHref(project.slug, { environment, cursor: null }) : null,
      githubHref: `/projects/${encodeURIComponent(project.slug)}/github-webhook`,
    });
  });

  router.get("/projects/:slug/github-webhook", requireLogin(), async (req, res) => {
    const project = await deploys.getProject(principalOf(req).organizationId, String(req.params.slug));
    await renderGithubWebhook(req, res, project, null);
  });

  router.post("/projects/:slug/github-secret", requireLogin(), requireRole("admin"), async (req, res) => {
    const { secret, project } = await deploys.rotateGithubSecret(principalOf(req), String(req.params.slug));
    // Shown on this response only, never again (and never put in the session or a flash message).
    res.status(201);
    await renderGithubWebhook(req, res, project, secret);
  });

  async function renderGithubWebhook(req: Request, res: Response, project: DeployProject, secret: string | null): Promise<void> {
    const principal = principalOf(req);
    res.set("Cache-Control", "no-store");
    res.render("pages/project-github-webhook", {
      title: `${project.name} · GitHub webhook`,
      project,
      projectHref: `/projects/${encodeURIComponent(project.slug)}`,
      payloadUrl: githubPayloadUrl(publicUrl, principal.organizationSlug, project.slug),
      status: await deploys.githubWebhookStatus(principal.organizationId, project.id),
      secret,
    });
  }

  return router;
}
