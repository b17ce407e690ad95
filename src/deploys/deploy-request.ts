import { ValidationError, type FieldProblem } from "../errors.js";
import type { DeploySource } from "./deploy-entities.js";

/**
 * What every webhook shape is normalised into before the service sees it. The four parsers
 * (native, Sleuth, GitHub, Sentry) only translate their body into this and check form; whether the
 * project and environment exist, and whether the time is too far ahead, is the service's call.
 */
export interface DeployRequest extends DeployDetails {
  /** Project slug in the caller's organization. */
  project: string;
  /** Null: the project's default environment (Sleuth lets CI leave it out). */
  environment: string | null;
  /** GitHub environments are typed elsewhere, so they match ignoring case when nothing matches exactly. */
  environmentMatch: "exact" | "ignore-case";
  version: string;
  /** Null: now. */
  timestamp: Date | null;
}

/** What a deploy says about itself besides where and when, the same in a request and in a stored record. */
export interface DeployDetails {
  startedAt: Date | null;
  author: string | null;
  name: string | null;
  url: string | null;
  tags: string[];
  links: Record<string, string>;
  source: DeploySource;
  idempotencyKey: string | null;
}

export const VERSION_MAX = 200;
export const ENVIRONMENT_INPUT_MAX = 200;
export const AUTHOR_MAX = 200;
export const NAME_MAX = 200;
export const URL_MAX = 2048;
export const TAG_MAX = 100;
export const TAGS_PER_DEPLOY_MAX = 50;
export const LINK_NAME_MAX = 100;
export const LINKS_PER_DEPLOY_MAX = 20;
export const IDEMPOTENCY_KEY_MAX = 200;

// C0 and C1 control characters: NUL cannot even be stored in PostgreSQL text, and line breaks in a
// version or tag are a script bug, not data.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Collects field problems so a caller hears about every bad field at once. */
export class Problems {
  readonly list: FieldProblem[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  throwIfAny(): void {
    if (this.list.length === 0) return;
    const summary = this.list.length === 1 ? this.list[0]!.message : `${this.list.length} fields are not right: ${this.list.map((p) => p.field).join(", ")}.`;
    throw new ValidationError(summary, this.list);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Trimmed single-line text of 1..max characters, or null when absent/empty and not required.
 * Numbers are accepted as text (a version of 42 is "42"), since form bodies and scripts blur them.
 */
export function text(
  problems: Problems,
  field: string,
  value: unknown,
  options: { max: number; required?: boolean; label?: string },
): string | null {
  const label = options.label ?? field;
  if (value === undefined || value === null || value === "") {
    if (options.required) problems.add(field, `${label} is required.`);
    return null;
  }
  if (typeof value === "number" && Number.isFinite(value)) value = String(value);
  if (typeof value !== "string") {
    problems.add(field, `${label} must be text, not ${describe(value)}.`);
    return null;
  }
  const trimmed = value.trim();
  if (!trimmed) {
    if (options.required) problems.add(field, `${label} cannot be blank.`);
    return null;
  }
  if (trimmed.length > options.max) {
    problems.add(field, `${label} must be at most ${options.max} characters (this one has ${trimmed.length}).`);
    return null;
  }
  if (CONTROL_CHARACTERS.test(trimmed)) {
    problems.add(field, `${label} must not contain control characters (line breaks, tabs, NUL…).`);
    return null;
  }
  return trimmed;
}

/** An absolute http(s) URL: these become links on the deploy card, so no javascript: or data: URLs. */
export function httpUrl(problems: Problems, field: string, value: unknown, label = field): string | null {
  const raw = text(problems, field, value, { max: URL_MAX, label });
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    problems.add(field, `${label} must be an absolute http(s) URL like https://ci.example.com/runs/42.`);
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    problems.add(field, `${label} must be an http or https URL.`);
    return null;
  }
  return raw;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * ISO 8601 date and time ("2024-05-01T12:30:00Z", "2024-05-01T14:30:00.123+02:00"). Without an
 * offset the time is UTC, as Sentry reads it. Parsed by hand: `Date.parse` accepts "May 1" and reads
 * offset-less times as local time, which would move deploys by the server's timezone.
 */
export function parseIsoTime(value: string): Date | null {
  const m = ISO_8601.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = "0", frac = "", zone = "Z"] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return null;
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const ms = Number((frac + "000").slice(0, 3));
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  return new Date(time);
}

/** Deploys before this are surely a unit mistake (seconds for milliseconds, a zeroed date). */
const EARLIEST_DEPLOY = Date.UTC(1970, 0, 2);

export function timestamp(problems: Problems, field: string, value: unknown, label = field): Date | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") {
    problems.add(field, `${label} must be an ISO 8601 time like 2024-05-01T12:30:00Z, not ${describe(value)}.`);
    return null;
  }
  const parsed = value.length <= 64 ? parseIsoTime(value) : null;
  if (!parsed) {
    problems.add(field, `${label} must be an ISO 8601 time like 2024-05-01T12:30:00Z.`);
    return null;
  }
  if (parsed.getTime() < EARLIEST_DEPLOY) {
    problems.add(field, `${label} is before 1970; send the deploy's real time.`);
    return null;
  }
  return parsed;
}

export function version(problems: Problems, field: string, value: unknown, label = field): string | null {
  return text(problems, field, value, { max: VERSION_MAX, required: true, label });
}

/** A list of tags: each trimmed, 1..100 characters, duplicates dropped, order kept. */
export function tagList(problems: Problems, field: string, values: unknown[]): string[] {
  if (values.length > TAGS_PER_DEPLOY_MAX) {
    problems.add(field, `At most ${TAGS_PER_DEPLOY_MAX} tags.`);
    return [];
  }
  const out: string[] = [];
  values.forEach((value, index) => {
    const tag = text(problems, `${field}[${index}]`, value, { max: TAG_MAX, label: "A tag" });
    if (tag !== null && !out.includes(tag)) out.push(tag);
  });
  return out;
}

/** `{ "Build": "https://…" }`: names 1..100 characters, http(s) URLs. */
export function linkMap(problems: Problems, field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null || value === "") return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.add(field, `${field} must be an object of name → URL, not ${describe(value)}.`);
    return {};
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LINKS_PER_DEPLOY_MAX) {
    problems.add(field, `At most ${LINKS_PER_DEPLOY_MAX} links.`);
    return {};
  }
  const out: Array<[string, string]> = [];
  for (const [rawName, rawUrl] of entries) {
    const name = text(problems, `${field}.${rawName.slice(0, 40)}`, rawName, { max: LINK_NAME_MAX, required: true, label: "A link name" });
    const url = httpUrl(problems, `${field}.${rawName.slice(0, 40)}`, rawUrl, `Link "${rawName.slice(0, 40)}"`);
    if (name !== null && url !== null) out.push([name, url]);
  }
  // fromEntries defines own properties, so a link named "__proto__" stays a link.
  return Object.fromEntries(out);
}

export function emptyToNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}
