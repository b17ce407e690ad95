import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * One Prometheus registry per app instance (not prom-client's global one), so tests can build
 * several apps in one process. Capabilities receive the counters they update from main.ts.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "aftershock_process_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "aftershock_http_requests_total",
      help: "HTTP requests served, by method, route pattern and status.",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "aftershock_http_request_duration_seconds",
      help: "HTTP request duration.",
      labelNames: ["method", "route"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sentryRequests: new Counter({
      name: "aftershock_sentry_requests_total",
      help: "Requests sent to Sentry, by endpoint kind and outcome.",
      labelNames: ["endpoint", "outcome"] as const,
      registers: [registry],
    }),
    jobRuns: new Counter({
      name: "aftershock_job_runs_total",
      help: "Scheduled job runs, by job and outcome (ok, failed, skipped_overlap).",
      labelNames: ["job", "outcome"] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "aftershock_job_duration_seconds",
      help: "Scheduled job duration.",
      labelNames: ["job"] as const,
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 30, 60],
      registers: [registry],
    }),
    deploysRegistered: new Counter({
      name: "aftershock_deploys_registered_total",
      help: "Deploys registered, by webhook source.",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    liveClients: new Gauge({
      name: "aftershock_live_clients",
      help: "Connected socket.io clients on this instance.",
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
