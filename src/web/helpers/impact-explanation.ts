/**
 * Usage: {{impactExplanation impact}} → "errors 0.4/min → 3.1/min, ×7.8, p < 0.001, 2 new issues".
 * The judge writes the line; this only composes one from the numbers when an impact has none.
 */
export interface ExplainableImpact {
  health?: unknown;
  explanation?: unknown;
  baseline?: { count?: unknown; minutes?: unknown } | null;
  after?: { count?: unknown; minutes?: unknown } | null;
  ratio?: unknown;
  pValue?: unknown;
  newIssues?: unknown;
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

function rate(part: ExplainableImpact["baseline"]): string | null {
  const count = num(part?.count);
  const minutes = num(part?.minutes);
  if (count === null || minutes === null || minutes <= 0) return null;
  const perMinute = count / minutes;
  return `${perMinute >= 10 ? perMinute.toFixed(0) : perMinute >= 1 ? perMinute.toFixed(1) : perMinute.toFixed(2)}/min`;
}

export function impactExplanation(impact: unknown): string {
  if (!impact || typeof impact !== "object") return "";
  const i = impact as ExplainableImpact;
  if (typeof i.explanation === "string" && i.explanation.trim()) return i.explanation.trim();
  const parts: string[] = [];
  const before = rate(i.baseline);
  const after = rate(i.after);
  if (before && after) parts.push(`errors ${before} → ${after}`);
  const ratio = num(i.ratio);
  if (ratio !== null) parts.push(`×${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}`);
  const p = num(i.pValue);
  if (p !== null) parts.push(p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`);
  const issues = Array.isArray(i.newIssues) ? i.newIssues.length : 0;
  if (issues) parts.push(`${issues} new issue${issues === 1 ? "" : "s"}`);
  if (!parts.length) return i.health === "pending" ? "waiting for error counts from Sentry" : "";
  return parts.join(", ");
}
