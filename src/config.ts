import { readFileSync } from "node:fs";
import path from "node:path";
import cron from "node-cron";
import { z } from "zod";

/**
 * All configuration, parsed and validated once at start. A bad value stops the process with one
 * line per variable naming it and what is wrong. Any secret may instead come from a file named by
 * `<NAME>_FILE` (Docker/Kubernetes secrets), which wins over nothing but loses to the variable itself
 * being set twice: setting both is refused as ambiguous.
 */
export interface Config {
  readonly port: number;
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  /** Null in embedded mode until the database layer generates one into DATA_DIR. */
  readonly secretKey: string | null;
  readonly sentryUrl: string;
  readonly sentryOAuth: { readonly clientId: string; readonly clientSecret: string } | null;
  readonly publicUrl: string;
  readonly trustProxy: boolean | number | string;
  readonly pollCron: string;
  readonly init: {
    readonly orgName: string;
    readonly adminEmail: string;
    readonly adminPassword: string;
    readonly apiToken: string | null;
  } | null;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

const SECRET_NAMES = [
  "DATABASE_URL",
  "SECRET_KEY",
  "SENTRY_OAUTH_CLIENT_SECRET",
  "INIT_ADMIN_PASSWORD",
  "INIT_API_TOKEN",
] as const;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === "http:" || u.protocol === "https:";
      } catch {
        return false;
      }
    }, `must be an http(s) URL like ${what}`)
    .transform((v) => v.replace(/\/+$/, ""));

const schema = z
  .object({
    PORT: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === "" ? "3000" : v))
      .refine((v) => /^\d+$/.test(v) && Number(v) <= 65535, "must be a port number from 0 to 65535")
      .transform(Number),
    DATABASE_URL: optionalText.refine(
      (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
      "must be a postgres:// or postgresql:// URL",
    ),
    DATA_DIR: optionalText.transform((v) => path.resolve(v ?? "./data")),
    SECRET_KEY: optionalText.refine(
      (v) => v === undefined || v.length >= 32,
      "must be at least 32 characters (try: openssl rand -base64 48)",
    ),
    SENTRY_URL: optionalText.pipe(httpUrl("https://sentry.io").optional()),
    SENTRY_OAUTH_CLIENT_ID: optionalText,
    SENTRY_OAUTH_CLIENT_SECRET: optionalText,
    PUBLIC_URL: optionalText.pipe(httpUrl("https://aftershock.example.com").optional()),
    TRUST_PROXY: optionalText,
    POLL_CRON: optionalText.refine(
      (v) => v === undefined || cron.validate(v),
      'must be a cron expression like "* * * * *" (every minute)',
    ),
    INIT_ORG_NAME: optionalText.refine((v) => v === undefined || v.length <= 100, "must be at most 100 characters"),
    INIT_ADMIN_EMAIL: optionalText.refine(
      (v) => v === undefined || z.email().safeParse(v).success,
      "must be an email address",
    ),
    INIT_ADMIN_PASSWORD: optionalText.refine(
      (v) => v === undefined || v.length >= 10,
      "must be at least 10 characters",
    ),
    INIT_API_TOKEN: optionalText.refine(
      (v) => v === undefined || (v.length >= 20 && v.length <= 200 && /^[\x21-\x7e]+$/.test(v)),
      "must be 20 to 200 printable characters without spaces",
    ),
    LOG_LEVEL: optionalText.pipe(
      z
        .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
          error: "must be one of fatal, error, warn, info, debug, trace, silent",
        })
        .optional(),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL && !env.SECRET_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["SECRET_KEY"],
        message: "is required when DATABASE_URL is set (every instance must share it)",
      });
    }
    if (Boolean(env.SENTRY_OAUTH_CLIENT_ID) !== Boolean(env.SENTRY_OAUTH_CLIENT_SECRET)) {
      ctx.addIssue({
        code: "custom",
        path: [env.SENTRY_OAUTH_CLIENT_ID ? "SENTRY_OAUTH_CLIENT_SECRET" : "SENTRY_OAUTH_CLIENT_ID"],
        message: "must be set together with its pair to enable Connect with OAuth",
      });
    }
    const init = [env.INIT_ORG_NAME, env.INIT_ADMIN_EMAIL, env.INIT_ADMIN_PASSWORD];
    if (init.some(Boolean) && !init.every(Boolean)) {
      for (const [name, value] of [
        ["INIT_ORG_NAME", env.INIT_ORG_NAME],
        ["INIT_ADMIN_EMAIL", env.INIT_ADMIN_EMAIL],
        ["INIT_ADMIN_PASSWORD", env.INIT_ADMIN_PASSWORD],
      ] as const) {
        if (!value) {
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: "is needed too: INIT_ORG_NAME, INIT_ADMIN_EMAIL and INIT_ADMIN_PASSWORD go together",
          });
        }
      }
    }
    if (env.INIT_API_TOKEN && !env.INIT_ORG_NAME) {
      ctx.addIssue({ code: "custom", path: ["INIT_API_TOKEN"], message: "needs INIT_ORG_NAME, INIT_ADMIN_EMAIL and INIT_ADMIN_PASSWORD" });
    }
  });

/** Reads `<NAME>_FILE` secrets into the environment copy; problems are reported like any other. */
function resolveSecretFiles(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_NAMES) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) {
      problems.push(`${name}_FILE: cannot be used together with ${name}; set only one`);
      continue;
    }
    try {
      resolved[name] = readFileSync(file, "utf8").trim();
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  return resolved;
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value; // an express "trust proxy" list such as "loopback, 10.0.0.0/8"
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const resolved = resolveSecretFiles(env, problems);
  const parsed = schema.safeParse(resolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${String(issue.path[0] ?? "config")}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const config: Config = {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: e.DATA_DIR,
    secretKey: e.SECRET_KEY ?? null,
    sentryUrl: e.SENTRY_URL ?? "https://sentry.io",
    sentryOAuth:
      e.SENTRY_OAUTH_CLIENT_ID && e.SENTRY_OAUTH_CLIENT_SECRET
        ? { clientId: e.SENTRY_OAUTH_CLIENT_ID, clientSecret: e.SENTRY_OAUTH_CLIENT_SECRET }
        : null,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    pollCron: e.POLL_CRON ?? "* * * * *",
    init:
      e.INIT_ORG_NAME && e.INIT_ADMIN_EMAIL && e.INIT_ADMIN_PASSWORD
        ? {
            orgName: e.INIT_ORG_NAME,
            adminEmail: e.INIT_ADMIN_EMAIL.toLowerCase(),
            adminPassword: e.INIT_ADMIN_PASSWORD,
            apiToken: e.INIT_API_TOKEN ?? null,
          }
        : null,
    logLevel: e.LOG_LEVEL ?? "info",
  };
  return Object.freeze(config);
}

/**
 * SECRET_KEY is required with DATABASE_URL (every instance must share it). In embedded mode, where
 * one process owns DATA_DIR, a key is generated there on first start so that "npm start" needs no
 * setup, and reused afterwards so sessions and stored tokens survive restarts.
 */
export async function resolveSecretKey(config: Config): Promise<string> {
  if (config.secretKey) return config.secretKey;
  const { mkdir, readFile, writeFile } = await import("node:fs/promises");
  const { randomBytes } = await import("node:crypto");
  const file = path.join(config.dataDir, "secret-key");
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const generated = randomBytes(48).toString("base64url");
  await writeFile(file, generated + "\n", { mode: 0o600, flag: "wx" }).catch(async (error) => {
    // Another process won the race: use its key.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  });
  return (await readFile(file, "utf8")).trim();
}
