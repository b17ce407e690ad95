/** Usage: <time datetime="{{isoTime createdAt}}"> — machine-readable timestamp. */
export function isoTime(value: unknown): string {
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}
