/**
 * Reads whatever came back without ever throwing a parse error. Sentry answers JSON, sometimes
 * with a `text/html` content type (its 429s); proxies in front of self-hosted Sentry answer HTML
 * pages (502, 504, login walls); a cut-off transfer gives half a JSON document.
 */
export interface ResponseBody {
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  /** True when the body is an HTML page (and not JSON). */
  isHtml: boolean;
  /** True when the body is empty. */
  isEmpty: boolean;
  /** A short plain-words description for error messages: Sentry's `detail`, or a summary of the body. */
  detail: string | undefined;
}

const MAX_DETAIL = 300;

export function interpretBody(text: string, contentType: string | null): ResponseBody {
  const trimmed = text.trim();
  if (trimmed === "") return { json: undefined, isHtml: false, isEmpty: true, detail: undefined };
  // Try JSON whatever the content type says: Sentry's 429 is JSON sent as text/html.
  if (trimmed.startsWith("{") || trimmed.startsWith("[") || trimmed.startsWith('"')) {
    try {
      const json: unknown = JSON.parse(trimmed);
      return { json, isHtml: false, isEmpty: false, detail: detailOf(json) };
    } catch {
      // fall through: not JSON after all
    }
  }
  const isHtml = /^<(!doctype|html|head|body|\?xml|center|h1|title)/i.test(trimmed) || /text\/html/i.test(contentType ?? "");
  if (isHtml) return { json: undefined, isHtml: true, isEmpty: false, detail: undefined };
  return { json: undefined, isHtml: false, isEmpty: false, detail: clip(trimmed.replace(/\s+/g, " ")) };
}

/** `HTTP 502 from proxy (HTML page)`, `HTTP 500: Internal Error`, `HTTP 503`. */
export function summarise(status: number, body: ResponseBody): string {
  if (body.isHtml) return `HTTP ${status} from proxy (HTML page)`;
  if (body.detail) return `HTTP ${status}: ${body.detail}`;
  return `HTTP ${status}`;
}

function detailOf(json: unknown): string | undefined {
  if (typeof json === "string") return clip(json);
  if (!json || typeof json !== "object") return undefined;
  if (Array.isArray(json)) {
    const strings = json.filter((item): item is string => typeof item === "string");
    return strings.length ? clip(strings.join("; ")) : undefined;
  }
  const record = json as Record<string, unknown>;
  const detail = record.detail;
  if (typeof detail === "string") return clip(detail);
  if (detail && typeof detail === "object" && typeof (detail as Record<string, unknown>).message === "string") {
    return clip((detail as Record<string, string>).message!);
  }
  // OAuth errors: {"error": "invalid_grant", "error_description": "…"}
  if (typeof record.error === "string") {
    return clip(typeof record.error_description === "string" ? `${record.error}: ${record.error_description}` : record.error);
  }
  // Django REST framework validation: {"field": ["message"]}
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) parts.push(`${key}: ${value.join(" ")}`);
  }
  return parts.length ? clip(parts.join("; ")) : undefined;
}

function clip(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}
