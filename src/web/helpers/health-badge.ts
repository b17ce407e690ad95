import { escapeHtml } from "./escape-html.js";

/** Usage: {{healthBadge health}} → a coloured pill that also says the health in words. */
export const HEALTH_LABELS: Readonly<Record<string, string>> = Object.freeze({
  pending: "pending",
  healthy: "healthy",
  ailing: "ailing",
  unhealthy: "unhealthy",
  improved: "improved",
  no_data: "no data",
});

/**
 * The badge's HTML. Colour alone says nothing to a colour-blind reader or a screen reader, so the
 * word (DESIGN.md's own) is always there; app.css adds an icon as decoration. An unknown value is
 * shown as it is, escaped, in the neutral colour. public/live.js builds the same markup live.
 */
export function healthBadge(health: unknown): string {
  const key = typeof health === "string" ? health : "";
  const known = Object.hasOwn(HEALTH_LABELS, key);
  const text = known ? HEALTH_LABELS[key]! : escapeHtml(key || "unknown");
  return `<span class="badge badge-${known ? key : "pending"}" data-health="${escapeHtml(key)}">${text}</span>`;
}
