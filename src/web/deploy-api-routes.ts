import { Router, type Request } from "express";
import type { DeploysService } from "../deploys/deploys-service.js";
import { parseNativeDeploy } from "../deploys/native-deploy-shape.js";
import { ValidationError } from "../errors.js";
import { principalOf } from "./request-context.js";

/** One optional query parameter as text: `?environment=a&environment=b` is a mistake, not a list. */
export function queryText(req: Request, name: string, max = 500): string | null {
  const value = req.query[name];
  if (value === undefined || value === "") return null;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== "string" || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ValidationError(`Query parameter ${name} must be given once, as text of at most ${max} characters without control characters.`, [
      { field: name, message: "Give it once, as text." },
    ]);
  }
  return value;
}

function queryLimit(req: Request): number | undefined {
  const raw = queryText(req, "limit", 10);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw new ValidationError("limit must be a whole number from 1 to 100.", [{ field: "limit", message: "1 to 100." }]);
  }
  return Number(raw);
}

/**
 * The JSON deploy API, behind the bearer token: `POST /api/v1/deploys` (native registration),
 * `GET /api/v1/projects/:slug/deploys`, `GET /api/v1/deploys/:id`.
 */
export function deployApiRoutes(deps: { deploys: DeploysService }): Router {
  const { deploys } = deps;
  const router = Router();

  router.post("/v1/deploys", async (req, res) => {
    const principal = principalOf(req);
    const request = parseNativeDeploy(req.body, req.get("idempotency-key"));
    const result = await deploys.register(principal.organizationId, request);
    const object = await deploys.deployObjects(principal.organizationId, [result.deploy], [result.project]);
    if (result.created) res.location(`/api/v1/deploys/${result.deploy.id}`);
    res.status(result.created ? 201 : 200).json(object[0]);
  });

  router.get("/v1/projects/:slug/deploys", async (req, res) => {
    const page = await deploys.listProjectDeploys(principalOf(req).organizationId, String(req.params.slug), {
      environment: queryText(req, "environment"),
      cursor: queryText(req, "cursor"),
      limit: queryLimit(req),
    });
    res.json({ deploys: page.deploys, nextCursor: page.nextCursor });
  });

  router.get("/v1/deploys/:id", async (req, res) => {
    res.json(await deploys.getDeploy(principalOf(req).organizationId, String(req.params.id)));
  });

  return router;
}
