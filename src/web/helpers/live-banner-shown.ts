/** Usage: {{#if (liveBannerShown integration)}} → true when Sentry needs reconnecting or is failing. */
export function liveBannerShown(integration: unknown): boolean {
  const status = (integration as { status?: unknown } | null | undefined)?.status;
  return status === "needs_reconnect" || status === "error";
}
