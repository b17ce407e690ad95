import { eq } from "./eq.js";
import { formatTime } from "./format-time.js";
import { isoTime } from "./iso-time.js";
import { timeAgo } from "./time-ago.js";

/** Handlebars helpers, one per file. Handlebars passes an options object last; drop it. */
export const helpers = {
  eq: (a: unknown, b: unknown) => eq(a, b),
  timeAgo: (value: unknown) => timeAgo(value),
  isoTime: (value: unknown) => isoTime(value),
  formatTime: (value: unknown) => formatTime(value),
};
