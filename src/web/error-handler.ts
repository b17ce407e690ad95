import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import type { Logger } from "../logger.js";
import { AppError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors.js";
import { SentryNotConnectedError } from "../sentry/sentry-directory.js";
import { SentryError } from "../sentry/sentry-errors.js";
import { SentryConnectError } from "../sentry/sentry-connection-service.js";
import { escapeHtml } from "./helpers/escape-html.js";

/** Requests answered with JSON errors: the API and anything that asked for JSON. */
export function wantsJson(req: Request): boolean {
  return req.originalUrl.startsWith("/api/") || (req.accepts(["html", "json"]) === "json" && !req.accepts("html"));
}

/** Errors from body parsers and other libraries become AppErrors with a message that says what to fix. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof SentryConnectError) {
    return error.status === 400
      ? new ValidationError(error.message, [{ field: error.field, message: error.message }])
      : new AppError(422, "validation_failed", error.message, [{ field: error.field, message: error.message, choices: error.choices }]);
  }
  if (error instanceof SentryNotConnectedError) return new AppError(409, "sentry_not_connected", error.message);
  if (error instanceof SentryError) {
    // Sentry's trouble is not a bug of ours: say what Sentry answered, as a gateway would.
    return new AppError(error.kind === "unavailable" ? 503 : 502, "sentry_error", `Sentry: ${error.message}`);
  }
  const e = error as { type?: string; status?: number; statusCode?: number; code?: string; message?: string };
  if (e?.type === "entity.too.large") return new PayloadTooLargeError("The request body is larger than 64 KiB.");
  if (e?.type === "entity.parse.failed") return new ValidationError("The request body is not valid JSON.");
  if (e?.type === "charset.unsupported" || e?.type === "encoding.unsupported") {
    return new AppError(415, "unsupported_media_type", "Send the body as UTF-8 JSON or form data.");
  }
  if (e?.code === "EBADCSRFTOKEN" || (e?.status === 403 && /csrf/i.test(e.message ?? ""))) {
    return new AppError(403, "csrf_failed", "The form expired or did not come from this site; reload the page and try again.");
  }
  const status = e?.statusCode ?? e?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new AppError(status, "bad_request", e?.message ?? "Bad request.");
  }
  return new AppError(500, "internal_error", "Something went wrong on our side; the error was logged.");
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new NotFoundError(`Nothing at ${req.method} ${req.path}.`));
}

/**
 * The one error middleware: JSON in DESIGN.md's shape for /api, a rendered page otherwise, and a
 * plain escaped HTML page if rendering the template itself fails. Never a stack trace.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    const logFields = { err: error, errorId: appError.id, requestId: req.id, status: appError.statusCode };
    if (appError.statusCode >= 500) logger.error(logFields, "request failed");
    else logger.debug(logFields, "request refused");
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(appError.statusCode);
    if (res.locals.plainTextErrors) {
      res.type("text/plain").send(appError.message);
      return;
    }
    if (wantsJson(req)) {
      res.json({
        error: {
          code: appError.code,
          message: appError.message,
          details: appError.details,
          ...(appError.statusCode >= 500 ? { errorId: appError.id } : {}),
        },
      });
      return;
    }
    const view = appError.statusCode === 404 ? "pages/not-found" : "pages/error";
    res.render(view, { title: appError.statusCode === 404 ? "Not found" : "Error", error: appError }, (renderError, html) => {
      if (renderError) {
        logger.error({ err: renderError, errorId: appError.id }, "error page failed to render");
        res
          .type("html")
          .send(
            `<!doctype html><meta charset="utf-8"><title>Error</title><h1>${appError.statusCode}</h1><p>${escapeHtml(appError.message)}</p>`,
          );
        return;
      }
      res.type("html").send(html);
    });
  };
}
