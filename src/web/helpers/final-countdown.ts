import { deployFinalAt } from "./deploy-final-at.js";

/**
 * Usage: {{finalCountdown deploy}} → "provisional — final in 23 min" while the impact window is
 * open, "" once final. public/live.js counts down the same text from the card's data-final-at.
 */
export function finalCountdown(deploy: unknown, now: number = Date.now()): string {
  if (!deploy || typeof deploy !== "object") return "";
  if ((deploy as { final?: unknown }).final === true) return "";
  const finalAt = Date.parse(deployFinalAt(deploy));
  if (Number.isNaN(finalAt)) return "provisional";
  const minutes = Math.ceil((finalAt - now) / 60_000);
  if (minutes <= 0) return "provisional — final shortly";
  if (minutes < 60) return `provisional — final in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `provisional — final in ${hours} h${rest ? ` ${rest} min` : ""}`;
}
