/** Usage: {{shortSha version}} → a 40-hex git sha cut to 12 characters; any other version as it is. */
export function shortSha(version: unknown): string {
  const text = typeof version === "string" ? version : version === undefined || version === null ? "" : String(version);
  return /^[0-9a-f]{40}$/i.test(text) ? text.slice(0, 12) : text;
}
