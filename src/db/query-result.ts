/**
 * TypeORM's postgres driver answers `query()` of an UPDATE/DELETE as `[rows, affectedCount]` and of
 * a SELECT or INSERT … RETURNING as the rows. These read either form.
 */
export function returnedRows(result: unknown): unknown[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0];
  return Array.isArray(result) ? result : [];
}

export function affectedRows(result: unknown): number {
  if (Array.isArray(result) && result.length === 2 && typeof result[1] === "number") return result[1];
  return 0;
}
