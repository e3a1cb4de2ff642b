/**
 * Structured JSON logs (pino) with levels. Known secret-bearing fields are
 * redacted as a second line of defence; the daemon never passes credentials,
 * tokens or Secret values to a log call in the first place.
 */
import { pino } from "pino";

/** The logger the daemon writes through (pino's). */
export type Logger = pino.Logger;

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** Creates the daemon's JSON logger on stdout (or the given stream). */
export function createLogger(level: string = "info", stream?: NodeJS.WritableStream): Logger {
  const opts: pino.LoggerOptions = {
    level,
    base: { app: "crosslink" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        "token",
        "password",
        "secret",
        "authorization",
        "*.token",
        "*.password",
        "*.secret",
        "*.authorization",
        "headers.authorization",
        "data",
      ],
      censor: "[redacted]",
    },
  };
  return stream ? pino(opts, stream as pino.DestinationStream) : pino(opts);
}
