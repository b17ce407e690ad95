/** Usage: {{#if (eq role "admin")}}…{{/if}} */
export function eq(a: unknown, b: unknown): boolean {
  return a === b;
}
