/** Usage: via {{deploySource source}} → "via GitHub": which webhook registered the deploy. */
const SOURCES: Readonly<Record<string, string>> = Object.freeze({
  native: "API",
  sleuth: "Sleuth webhook",
  github: "GitHub",
  sentry: "sentry-cli",
});

export function deploySource(source: unknown): string {
  const key = typeof source === "string" ? source : "";
  return Object.hasOwn(SOURCES, key) ? SOURCES[key]! : key || "unknown";
}
