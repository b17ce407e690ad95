import { escapeHtml } from "./escape-html.js";

/**
 * Usage: {{sparklineSvg impact.sparkline deploy.timestamp}} → an inline `<svg>` of error counts per
 * bin around the deploy, the deploy marked by a vertical line.
 *
 * Pure: the same bins and deploy time always give the same string. One bar per bin: a known zero
 * is a hairline, a bin Sentry has not answered for is a faint stub (class `spark-unknown`), bars
 * after the deploy get their own class. Everything that goes into the markup is a number or an
 * escaped string. public/live.js draws the same picture, with the same numbers, for live updates.
 */
export interface SparklineBinInput {
  t: number;
  count: number | null;
}

export const SPARKLINE_WIDTH = 240;
export const SPARKLINE_HEIGHT = 40;
const DEFAULT_BIN_MS = 5 * 60_000;
/** With no bins yet, the chart still spans an hour either side of the deploy. */
const EMPTY_SPAN_MS = 60 * 60_000;

const round = (n: number) => Math.round(n * 100) / 100;

function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  return Date.parse(String(value));
}

/** Keeps well-formed bins only, in time order. */
function cleanBins(bins: unknown): SparklineBinInput[] {
  if (!Array.isArray(bins)) return [];
  return bins
    .filter((b): b is SparklineBinInput => !!b && typeof b === "object" && Number.isFinite((b as SparklineBinInput).t))
    .map((b) => ({ t: b.t, count: typeof b.count === "number" && Number.isFinite(b.count) && b.count >= 0 ? b.count : null }))
    .sort((a, b) => a.t - b.t);
}

function binSize(bins: SparklineBinInput[]): number {
  let size = Infinity;
  for (let i = 1; i < bins.length; i++) {
    const gap = bins[i]!.t - bins[i - 1]!.t;
    if (gap > 0 && gap < size) size = gap;
  }
  return Number.isFinite(size) ? size : DEFAULT_BIN_MS;
}

export function sparklineSvg(binsInput: unknown, deployTime: unknown): string {
  const bins = cleanBins(binsInput);
  const deployAt = toMs(deployTime);
  const W = SPARKLINE_WIDTH;
  const H = SPARKLINE_HEIGHT;
  const binMs = binSize(bins);
  const anchor = Number.isFinite(deployAt) ? deployAt : (bins[0]?.t ?? 0);
  const start = bins.length ? bins[0]!.t : anchor - EMPTY_SPAN_MS;
  const end = bins.length ? bins[bins.length - 1]!.t + binMs : anchor + EMPTY_SPAN_MS;
  const span = Math.max(end - start, 1);
  const x = (t: number) => round(((t - start) / span) * W);
  const peak = Math.max(0, ...bins.map((b) => b.count ?? 0));
  const max = Math.max(1, peak);
  const barWidth = (binMs / span) * W;
  const gap = barWidth > 3 ? 1 : 0;

  let before = 0;
  let after = 0;
  const parts: string[] = [];
  for (const bin of bins) {
    // A bin holding the deploy counts as after it: its errors may be the deploy's.
    const side = Number.isFinite(deployAt) && bin.t + binMs > deployAt ? "after" : "before";
    let height: number;
    let kind: string;
    let label: string;
    if (bin.count === null) {
      height = 2;
      kind = " spark-unknown";
      label = "no answer from Sentry yet";
    } else {
      height = bin.count === 0 ? 1 : Math.max(2, (bin.count / max) * (H - 4));
      kind = bin.count === 0 ? " spark-zero" : "";
      label = `${bin.count} error${bin.count === 1 ? "" : "s"}`;
      if (side === "after") after += bin.count;
      else before += bin.count;
    }
    parts.push(
      `<rect class="spark-bin spark-${side}${kind}" data-t="${bin.t}" data-count="${bin.count ?? ""}" ` +
        `x="${x(bin.t)}" y="${round(H - height)}" width="${round(Math.max(barWidth - gap, 0.5))}" height="${round(height)}">` +
        `<title>${escapeHtml(`${clockTime(bin.t)}: ${label}`)}</title></rect>`,
    );
  }
  const markerX = round(Math.min(Math.max(Number.isFinite(deployAt) ? x(deployAt) : 0, 0.5), W - 0.5));
  const deployLabel = Number.isFinite(deployAt) ? `deploy at ${clockTime(deployAt)}` : "deploy time unknown";
  const summary = bins.length
    ? `Errors per ${Math.round(binMs / 60_000)} min around the deploy: ${before} before, ${after} after (peak ${peak} in one bin)`
    : "No error counts from Sentry yet";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
    `role="img" aria-label="${escapeHtml(`${summary}; ${deployLabel}`)}" data-bins="${bins.length}">` +
    `<title>${escapeHtml(`${summary}; ${deployLabel}`)}</title>` +
    `<line class="spark-axis" x1="0" y1="${H - 0.5}" x2="${W}" y2="${H - 0.5}"></line>` +
    parts.join("") +
    `<line class="spark-deploy" data-deploy-at="${Number.isFinite(deployAt) ? deployAt : ""}" x1="${markerX}" y1="0" x2="${markerX}" y2="${H}">` +
    `<title>${escapeHtml(deployLabel)}</title></line>` +
    `</svg>`
  );
}
