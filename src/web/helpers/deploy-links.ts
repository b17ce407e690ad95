import { httpUrl } from "./http-url.js";

/**
 * Usage: {{#with (deployLinks links)}}…{{#each this}}<a href="{{url}}">{{name}}</a>{{/each}}…{{/with}}
 * → the deploy's named links as a list, keeping only absolute http(s) URLs (empty list: nothing shown).
 */
export function deployLinks(links: unknown): Array<{ name: string; url: string }> {
  if (!links || typeof links !== "object" || Array.isArray(links)) return [];
  return Object.entries(links as Record<string, unknown>)
    .map(([name, value]) => ({ name, url: httpUrl(value) }))
    .filter((link) => link.url !== "");
}
