export * from "./sentry-simulator.js";
export type { ErrorStreamConfig, TimeInput } from "./error-stream.js";
