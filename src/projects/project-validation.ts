import { z } from "zod";
import { ValidationError, type FieldProblem } from "../errors.js";
import { SLUG_PATTERN } from "../slug.js";

/**
 * Input rules for projects and impact sources, shared by the pages and the JSON API (both go
 * through the service, which parses here), so both refuse the same things with the same words.
 */

export const SENSITIVITIES = ["low", "medium", "high"] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

export const PROJECT_NAME_MAX = 100;
export const SLUG_MAX = 60;
export const ENVIRONMENT_MAX = 64;
export const SOURCE_NAME_MAX = 120;
/** A project with more environments than this is almost certainly a script gone wrong. */
export const ENVIRONMENTS_PER_PROJECT_MAX = 50;

// C0 and C1 control characters (line breaks, tabs, NUL, …): invisible in a list, trouble in logs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const typeMessage = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `${what} is required.` : `${what} must be text.`;

/** Trimmed text of 1..max characters without control characters. */
function text(what: string, max: number) {
  return z
    .string({ error: typeMessage(what) })
    .trim()
    .min(1, `${what} cannot be empty (1 to ${max} characters).`)
    .max(max, {
      error: (issue) =>
        `${what} must be at most ${max} characters (this one has ${typeof issue.input === "string" ? issue.input.length : "more"}).`,
    })
    .refine((v) => !CONTROL_CHARACTERS.test(v), `${what} must not contain control characters (line breaks, tabs…).`);
}

export const projectNameSchema = text("Name", PROJECT_NAME_MAX);
export const environmentNameSchema = text("Environment name", ENVIRONMENT_MAX);

export const slugSchema = z
  .string({ error: typeMessage("Slug") })
  .trim()
  .max(SLUG_MAX, `Slug must be at most ${SLUG_MAX} characters.`)
  .refine((v) => SLUG_PATTERN.test(v), 'Use lowercase letters, digits and single dashes, like "checkout-api".');

/** A list of environment names: each valid, none twice (ignoring case, which only confuses people). */
function environmentList(max: number) {
  return z
    .array(environmentNameSchema, { error: "Environments must be a list of names." })
    .max(max, `At most ${max} environments.`)
    .superRefine((names, ctx) => {
      const seen = new Set<string>();
      names.forEach((name, index) => {
        const key = name.toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: "custom", path: [index], message: `"${name}" is listed twice.` });
        seen.add(key);
      });
    });
}

export const createProjectSchema = z.strictObject(
  {
    name: projectNameSchema,
    slug: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? null : v), slugSchema.nullable()).optional(),
    environments: environmentList(ENVIRONMENTS_PER_PROJECT_MAX).optional(),
  },
  { error: unknownOrNotObject },
);
export type CreateProjectInput = z.input<typeof createProjectSchema>;

export const updateProjectSchema = z.strictObject(
  {
    name: projectNameSchema.optional(),
    archived: z.boolean({ error: "Archived must be true or false." }).optional(),
    environments: environmentList(ENVIRONMENTS_PER_PROJECT_MAX).optional(),
  },
  { error: unknownOrNotObject },
);
export type UpdateProjectInput = z.input<typeof updateProjectSchema>;

const sentryEnvironmentSchema = text("Sentry environment", ENVIRONMENT_MAX)
  // Sentry itself refuses these names, so a source mapped to one could never see an event.
  .refine((v) => !v.includes("/"), 'Sentry environment names cannot contain "/".');

const sensitivitySchema = z.enum(SENSITIVITIES, { error: "Sensitivity must be low, medium or high." });

/** Which project environments a source applies to; empty or null means all of them. */
const appliesToSchema = environmentList(ENVIRONMENTS_PER_PROJECT_MAX).nullable();

const sourceNameSchema = text("Display name", SOURCE_NAME_MAX).nullable();

export const createImpactSourceSchema = z.strictObject(
  {
    sentryProject: text("Sentry project", 200),
    sentryEnvironment: sentryEnvironmentSchema,
    environments: appliesToSchema.optional(),
    sensitivity: sensitivitySchema.optional(),
    // An empty name means "use the default", so blank is not an error here.
    name: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? null : v), sourceNameSchema).optional(),
    enabled: z.boolean({ error: "Enabled must be true or false." }).optional(),
  },
  { error: unknownOrNotObject },
);
export type ImpactSourceInput = z.input<typeof createImpactSourceSchema>;

export const updateImpactSourceSchema = createImpactSourceSchema.partial();
export type ImpactSourcePatch = z.input<typeof updateImpactSourceSchema>;

function unknownOrNotObject(issue: { code?: string; input?: unknown }): string | undefined {
  if (issue.code === "invalid_type") return "Send a JSON object.";
  return undefined;
}

/** `environments[1]`, `name`: the field names of the JSON body, which the pages' inputs also use. */
function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || "body";
}

/** Parses or throws a 400 `validation_failed` with one `{field, message}` per problem. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const details: FieldProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ field: fieldOf([...issue.path, key]), message: `Unknown field "${key}".` });
    } else {
      details.push({ field: fieldOf(issue.path), message: issue.message });
    }
  }
  throw invalid(details);
}

export function invalid(details: FieldProblem[], statusCode = 400): ValidationError {
  const summary = details.map((d) => (d.field === "body" ? d.message : `${d.field}: ${d.message}`)).join(" ");
  return new ValidationError(`Some fields are not valid. ${summary}`, details, statusCode);
}
