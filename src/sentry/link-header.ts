/**
 * Sentry's pagination `Link` header:
 *   <https://…&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1",
 *   <https://…&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"
 * Both rels are always present; `results` says whether following one yields anything.
 */
export interface LinkEntry {
  url: string;
  rel: string;
  /** `results="true"`; absent attribute reads as true (a plain RFC 8288 link means "there is more"). */
  results: boolean;
  /** The `cursor` attribute, or the `cursor` query parameter of the URL when the attribute is missing. */
  cursor: string | undefined;
}

export function parseLinkHeader(header: string | null | undefined): LinkEntry[] {
  if (!header) return [];
  const entries: LinkEntry[] = [];
  // Split on commas that start a new `<…>` entry: a URL may itself contain commas.
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!match) continue;
    const url = match[1]!;
    const attributes = new Map<string, string>();
    for (const attribute of match[2]!.split(";")) {
      const kv = /^\s*([A-Za-z_-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(attribute);
      if (kv) attributes.set(kv[1]!.toLowerCase(), kv[2]!);
    }
    const rel = attributes.get("rel");
    if (!rel) continue;
    let cursor = attributes.get("cursor");
    if (cursor === undefined) {
      try {
        cursor = new URL(url).searchParams.get("cursor") ?? undefined;
      } catch {
        cursor = undefined;
      }
    }
    entries.push({ url, rel, results: (attributes.get("results") ?? "true").toLowerCase() === "true", cursor });
  }
  return entries;
}

/**
 * The cursor of the next page, or undefined when there is none. Only the cursor is taken, never
 * the URL: self-hosted Sentry behind a proxy often advertises `http://` or an internal host name
 * in its links, and the token must only ever travel to the URL the user configured.
 */
export function nextCursor(header: string | null | undefined): string | undefined {
  const next = parseLinkHeader(header).find((entry) => entry.rel === "next");
  return next && next.results && next.cursor ? next.cursor : undefined;
}
