/**
 * Structured logging through Powertools for AWS Lambda's Logger: one JSON object per line (stdout below
 * warn, stderr from warn up), which CloudWatch and `jq` both read. The line keeps the fields it always had
 * (time, lower-case level, message, then the caller's) and adds, inside a request, the request id, the
 * function name and whether the request met a cold container.
 *
 * The level is handed in from the configuration (setLogLevel, called by layers/runtime.ts); the logger is
 * built with an explicit level, so it never reads LOG_LEVEL itself. Lambda's own log-level control
 * (AWS_LAMBDA_LOG_LEVEL) still wins, as Powertools documents.
 *
 * Request fields live in an AsyncLocalStorage scope rather than Powertools' addContext: serverless-offline
 * runs every function in one process, where concurrent requests of different functions would overwrite one
 * shared context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export const SERVICE_NAME = 'digit-service';

/** The project's line: time, level and message first (as consumers of these lines expect), then the rest. */
class LineFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        time: attributes.timestamp.toISOString(),
        level: attributes.logLevel.toLowerCase(),
        message: attributes.message,
        service: attributes.serviceName,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }
}

const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: 'INFO', logFormatter: new LineFormatter() });

/** What every line written during one request carries. */
export interface RequestScope {
  requestId: string;
  function_name: string;
  /** True for the first request a container's function serves (its module was just loaded). */
  cold_start: boolean;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs `body` with `fields` added to every line it logs. */
export function withRequestScope<T>(fields: RequestScope, body: () => Promise<T>): Promise<T> {
  return scope.run(fields, body);
}

export function setLogLevel(level: Level): void {
  logger.setLogLevel(level.toUpperCase() as Uppercase<Level>);
}

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  logger[level](message, { ...scope.getStore(), ...fields });
}

/** An error's details for the log (never for a response body). */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message, stack: error.stack };
  return { error: String(error) };
}
