import { ValidationError } from "../errors.js";

/**
 * Keyset cursor for "newest first": the (timestamp, id) of the last deploy on the page. Opaque to
 * callers (base64url JSON), so its inside can change without breaking anyone who just passes it back.
 * Stable across pages: a deploy registered meanwhile lands before the cursor or after it, never
 * shifting what the next page holds, unlike OFFSET.
 */
export interface DeployCursor {
  timestamp: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function encodeCursor(cursor: DeployCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.timestamp.toISOString(), i: cursor.id }), "utf8").toString("base64url");
}

export function decodeCursor(value: string): DeployCursor {
  const invalid = () =>
    new ValidationError("The cursor is not valid; pass back the nextCursor of a previous page unchanged.", [
      { field: "cursor", message: "Not a cursor this API gave out." },
    ]);
  if (value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const { t, i } = (parsed ?? {}) as { t?: unknown; i?: unknown };
  if (typeof t !== "string" || typeof i !== "string" || !isUuid(i)) throw invalid();
  const timestamp = new Date(t);
  if (Number.isNaN(timestamp.getTime()) || timestamp.toISOString() !== t) throw invalid();
  return { timestamp, id: i.toLowerCase() };
}
