/**
 * Usage: href="{{httpUrl permalink}}" → the URL when it is absolute http(s), else "". Links on a
 * card come from CI and from Sentry (self-hosted ones too): never a javascript: or data: URL.
 */
export function httpUrl(value: unknown): string {
  if (typeof value !== "string") return "";
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
  } catch {
    return "";
  }
}
