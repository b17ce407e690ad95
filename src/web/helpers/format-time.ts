/** Usage: {{formatTime createdAt}} → "2026-11-23 14:05 UTC" */
export function formatTime(value: unknown): string {
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) return "";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
