import { Router } from "express";
import type { Database } from "../db/database.js";
import type { Metrics } from "../metrics.js";

/** Liveness, readiness and metrics: no session, no auth (put /metrics behind your proxy if needed). */
export function healthRoutes(deps: { db: Database; metrics: Metrics; isShuttingDown: () => boolean }): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: "shutting_down" });
      return;
    }
    if (!(await deps.db.isReachable())) {
      res.status(503).json({ status: "database_unreachable" });
      return;
    }
    const pending = await deps.db.pendingMigrations();
    if (pending.length) {
      res.status(503).json({ status: "migrations_pending", pending });
      return;
    }
    res.json({ status: "ready", database: deps.db.mode });
  });
  router.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
