/**
 * Usage: data-final-at="{{deployFinalAt deploy}}" → when the last of the deploy's impact windows
 * closes (ISO 8601), or "" when no impact knows it yet.
 */
export function deployFinalAt(deploy: unknown): string {
  const impacts = (deploy as { impacts?: unknown } | null)?.impacts;
  if (!Array.isArray(impacts)) return "";
  let latest = Number.NaN;
  for (const impact of impacts) {
    const at = Date.parse(String((impact as { finalAt?: unknown } | null)?.finalAt ?? ""));
    if (!Number.isNaN(at) && !(at <= latest)) latest = at;
  }
  return Number.isNaN(latest) ? "" : new Date(latest).toISOString();
}
