/**
 * HTTP plumbing shared by the handlers: reading API Gateway v2 events, JSON responses, and the one place
 * where errors become responses. Typed HttpErrors keep their status and message; anything else is a
 * generic 500 whose details go to the log only.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { HttpError } from './errors';
import { describeError, log } from './log';

export type HttpResult = APIGatewayProxyStructuredResultV2;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
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
  return json(500, errorBody('internal_error', `Something went wrong on our side. Request id: ${requestId}`));
}

export interface RequestInfo {
  requestId: string;
  /** Fields the handler wants in the request's log line (digit, counts...). */
  logFields: Record<string, unknown>;
}

/**
 * Wraps a handler body: times it, turns any thrown error into a JSON response, and writes one structured
 * log line per request (request id, route, status, latency, and what the body added).
 */
export function httpHandler(
  route: string,
  body: (event: APIGatewayProxyEventV2, info: RequestInfo) => Promise<HttpResult>,
): (event: APIGatewayProxyEventV2, context?: Context) => Promise<HttpResult> {
  return async (event, context) => {
    const started = process.hrtime.bigint();
    const requestId = context?.awsRequestId || event.requestContext?.requestId || randomUUID();
    const info: RequestInfo = { requestId, logFields: {} };
    let result: HttpResult;
    try {
      result = await body(event, info);
    } catch (error: unknown) {
      result = toErrorResult(error, requestId);
      if (error instanceof HttpError) {
        info.logFields.errorCode = error.code;
        // A 503 says only "retry"; what the dependency answered is what an operator needs to know.
        const cause = (error as Error & { cause?: unknown }).cause;
        if (cause !== undefined) info.logFields.cause = describeCause(cause);
      }
    }
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    log((result.statusCode ?? 200) >= 500 ? 'warn' : 'info', 'request', {
      requestId,
      route,
      status: result.statusCode,
      latencyMs: Math.round(latencyMs * 100) / 100,
      ...info.logFields,
    });
    return result;
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
