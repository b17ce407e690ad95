import { randomUUID } from "node:crypto";

/**
 * The one error hierarchy of the app. Services throw these; the single error middleware in
 * `web/error-handler.ts` turns them into DESIGN.md's JSON shape for `/api` and a rendered page
 * otherwise. Each error carries a random id so a user's report can be found in the logs.
 */
export class AppError extends Error {
  readonly id = randomUUID();
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class ValidationError extends AppError {
  constructor(message: string, details: FieldProblem[] = [], statusCode = 400) {
    super(statusCode, "validation_failed", message, details);
  }
  get fieldProblems(): FieldProblem[] {
    return this.details as FieldProblem[];
  }
}

/** 422: the request is well formed but names something that does not fit (unknown environment...). */
export class UnprocessableError extends AppError {
  constructor(message: string, details: unknown[] = [], code = "unprocessable") {
    super(422, code, message, details);
  }
}

export class AuthenticationError extends AppError {
  constructor(message = "Authentication required: send `Authorization: Bearer <api token>`.") {
    super(401, "unauthenticated", message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "Your role does not allow this; ask an admin of your organization.") {
    super(403, "forbidden", message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = "Not found.", details: unknown[] = []) {
    super(404, "not_found", message, details);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: unknown[] = []) {
    super(409, "conflict", message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = "The request body is too large.") {
    super(413, "payload_too_large", message);
  }
}

export class RateLimitedError extends AppError {
  constructor(message = "Too many requests; wait a little and try again.") {
    super(429, "rate_limited", message);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string) {
    super(503, "unavailable", message);
  }
}
