/**
 * HTTP plumbing shared by the handlers: reading API Gateway v2 events, JSON responses checked against the
 * contract's schemas, and the one place where errors become responses. Typed HttpErrors keep their status
 * and message; anything else is a generic 500 whose details go to the log only. Each request ends with one
 * log line and one publication of its metrics.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import type { ErrorBody, ErrorCode } from '#contract';
import { HttpError } from '#errors/errors';
import { describeError, log, withRequestScope } from '#observability/log';
import { publishRequestMetrics } from '#observability/metrics';
import type { StageTimings } from '#observability/timings';

export type HttpResult = APIGatewayProxyStructuredResultV2;

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** 204: done, nothing to say (a DELETE). */
export function noContent(): HttpResult {
  return { statusCode: 204, headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }, body: '' };
}

/**
 * A 2xx answer whose body is checked against its contract schema first: a field the schema does not name is
 * dropped, and a body that breaks the contract is a 500 (logged) rather than a published surprise.
 */
export function answer<S extends z.ZodType>(
  statusCode: number,
  schema: S,
  body: z.input<S>,
  headers: Record<string, string> = {},
): HttpResult {
  return json(statusCode, schema.parse(body), headers);
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The request body as bytes, whether API Gateway sent it base64-encoded or as text. */
export function bodyBytes(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

export function toErrorResult(error: unknown, requestId: string): HttpResult {
  if (error instanceof HttpError) {
    return json(error.statusCode, errorBody(error.code, error.message), error.headers);
  }
  log('error', 'unhandled error', { requestId, ...describeError(error) });
  return json(500, errorBody('internal_error', `Something went wrong on our side (request id ${requestId}).`));
}

export interface RequestInfo {
  requestId: string;
  /** Fields the handler wants in the request's log line (digit, counts...). */
  logFields: Record<string, unknown>;
  /** Filled by the prediction use case as its stages end; published as the request's stage-time metrics. */
  timings: StageTimings;
  /** The answered prediction, counted by digit and model version. */
  prediction?: { digit: number; modelVersion: string };
}

/**
 * Wraps a handler body: times it, turns any thrown error into a JSON response, and ends every request with
 * one structured log line (request id, route, status, latency, and what the body added) and one publication
 * of its metrics. Works with or without a Lambda context (serverless-offline and tests may pass none).
 */
export function httpHandler(
  route: string,
  body: (event: APIGatewayProxyEventV2, info: RequestInfo) => Promise<HttpResult>,
): (event: APIGatewayProxyEventV2, context?: Context) => Promise<HttpResult> {
  let cold = true;
  return async (event, context) => {
    const started = process.hrtime.bigint();
    const requestId = context?.awsRequestId || event.requestContext?.requestId || randomUUID();
    const coldStart = cold;
    cold = false;
    const scope = { requestId, function_name: context?.functionName || route, cold_start: coldStart };
    return withRequestScope(scope, async () => {
      const info: RequestInfo = { requestId, logFields: {}, timings: {} };
      let result: HttpResult;
      let errorCode: ErrorCode | undefined;
      try {
        result = await body(event, info);
      } catch (error: unknown) {
        result = toErrorResult(error, requestId);
        errorCode = error instanceof HttpError ? error.code : 'internal_error';
        if (error instanceof HttpError) {
          info.logFields.errorCode = error.code;
          // A 503 says only "retry"; what the dependency answered is what an operator needs to know.
          const cause = (error as Error & { cause?: unknown }).cause;
          if (cause !== undefined) info.logFields.cause = describeCause(cause);
        }
      }
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      log((result.statusCode ?? 200) >= 500 ? 'warn' : 'info', 'request', {
        route,
        status: result.statusCode,
        latencyMs: Math.round(latencyMs * 100) / 100,
        ...info.logFields,
      });
      try {
        publishRequestMetrics({ route, requestId, latencyMs, errorCode, prediction: info.prediction, timings: info.timings });
      } catch (error: unknown) {
        // Metrics are a report on the request, never a reason to fail it.
        log('warn', 'metrics not published', describeError(error));
      }
      return result;
    });
  };
}

/** An error's name, message and the fields cassandra-driver and the AWS SDK put on theirs, without the stack. */
function describeCause(cause: unknown): Record<string, unknown> {
  if (!(cause instanceof Error)) return { error: String(cause) };
  const fields: Record<string, unknown> = { name: cause.name, message: cause.message };
  for (const key of ['code', 'writeType', 'received', 'blockFor', 'consistencies']) {
    const value = (cause as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = value;
  }
  // cassandra-driver's NoHostAvailableError: what each host it tried answered.
  const inner = (cause as unknown as { innerErrors?: unknown }).innerErrors;
  if (typeof inner === 'object' && inner !== null) {
    fields.hosts = Object.fromEntries(Object.entries(inner).map(([host, err]) => [host, err instanceof Error ? err.message : String(err)]));
  }
  return fields;
}
