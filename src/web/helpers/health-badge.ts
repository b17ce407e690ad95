import { escapeHtml } from "./escape-html.js";

/** Usage: {{healthBadge health}} → a coloured pill that also says the health in words (and an icon). */
export const HEALTH_LABELS: Readonly<Record<string, { text: string; icon: string }>> = Object.freeze({
  pending: { text: "Pending", icon: "…" },
  healthy: { text: "Healthy", icon: "✓" },
  ailing: { text: "Ailing", icon: "!" },
  unhealthy: { text: "Unhealthy", icon: "✕" },
  improved: { text: "Improved", icon: "↓" },
  no_data: { text: "No data", icon: "?" },
});

/**
 * The badge's HTML. Colour alone says nothing to a colour-blind reader or a screen reader, so the
 * word is always there; the icon is decoration. An unknown value is shown as it is, escaped, in
 * the neutral colour. public/live.js builds the same markup for cards that arrive live.
 */
export function healthBadge(health: unknown): string {
  const key = typeof health === "string" ? health : "";
  const known = Object.hasOwn(HEALTH_LABELS, key) ? HEALTH_LABELS[key]! : null;
  const cssKey = known ? key : "pending";
  const text = known ? known.text : escapeHtml(key || "unknown");
  const icon = known ? known.icon : "?";
  return (
    `<span class="badge badge-${cssKey}" data-health="${escapeHtml(key)}">` +
    `<span class="badge-icon" aria-hidden="true">${icon}</span> ${text}</span>`
  );
}
