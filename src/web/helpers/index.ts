import Handlebars from "handlebars";
import { deployFinalAt } from "./deploy-final-at.js";
import { deployLinks } from "./deploy-links.js";
import { deploySource } from "./deploy-source.js";
import { eq } from "./eq.js";
import { finalCountdown } from "./final-countdown.js";
import { formatTime } from "./format-time.js";
import { healthBadge } from "./health-badge.js";
import { httpUrl } from "./http-url.js";
import { impactExplanation } from "./impact-explanation.js";
import { isoTime } from "./iso-time.js";
import { liveBannerShown } from "./live-banner-shown.js";
import { shortSha } from "./short-sha.js";
import { sparklineSvg } from "./sparkline-svg.js";
import { timeAgo } from "./time-ago.js";

/** Handlebars helpers, one per file. Handlebars passes an options object last; drop it. */
export const helpers = {
  eq: (a: unknown, b: unknown) => eq(a, b),
  timeAgo: (value: unknown) => timeAgo(value),
  isoTime: (value: unknown) => isoTime(value),
  formatTime: (value: unknown) => formatTime(value),
  // Deploy cards. The two HTML-returning helpers escape every value they put in their markup.
  healthBadge: (health: unknown) => new Handlebars.SafeString(healthBadge(health)),
  sparklineSvg: (bins: unknown, deployTime: unknown) => new Handlebars.SafeString(sparklineSvg(bins, deployTime)),
  impactExplanation: (impact: unknown) => impactExplanation(impact),
  finalCountdown: (deploy: unknown) => finalCountdown(deploy),
  deployFinalAt: (deploy: unknown) => deployFinalAt(deploy),
  deploySource: (source: unknown) => deploySource(source),
  shortSha: (version: unknown) => shortSha(version),
  httpUrl: (value: unknown) => httpUrl(value),
  deployLinks: (links: unknown) => deployLinks(links),
  liveBannerShown: (integration: unknown) => liveBannerShown(integration),
};
