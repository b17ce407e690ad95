import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach a log line: the redaction list covers every place one
 * could travel (headers, bodies, tokens), as a second line of defence behind not logging them at all.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "aftershock" },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["x-hub-signature-256"]',
        'res.headers["set-cookie"]',
        "token",
        "*.token",
        "password",
        "*.password",
        "accessToken",
        "refreshToken",
        "*.accessToken",
        "*.refreshToken",
        "api_key",
        "*.api_key",
      ],
      censor: "[redacted]",
    },
  });
}
