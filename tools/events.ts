/**
 * API Gateway HTTP API (payload 2.0) events, as the handlers receive them, for handler tests and for the
 * bundled handlers run in a /var/task layout; and multipart bodies built by hand.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface EventOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body base64-encoded, as API Gateway and serverless-offline do for binary bodies. */
  base64?: boolean;
  sourceIp?: string;
}

export function httpEvent(options: EventOptions = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  const base64 = options.base64 ?? Buffer.isBuffer(options.body);
  const body = options.body === undefined ? undefined : base64 ? Buffer.from(options.body).toString('base64') : options.body.toString();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: options.headers ?? {},
    requestContext: {
      accountId: 'offline',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: options.sourceIp ?? '127.0.0.1', userAgent: 'test' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: base64,
  };
  if (options.query) event.queryStringParameters = options.query;
  if (body !== undefined) event.body = body;
  return event;
}

export interface Part {
  field?: string;
  filename?: string;
  contentType?: string;
  content: Buffer | string;
}

/** A multipart/form-data body; returns it with its Content-Type header (boundary included). */
export function multipart(parts: Part[], boundary = `----digit${randomUUID().replace(/-/g, '')}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = [`form-data; name="${part.field ?? 'image'}"`];
    if (part.filename !== undefined) disposition.push(`filename="${part.filename}"`);
    let head = `--${boundary}\r\nContent-Disposition: ${disposition.join('; ')}\r\n`;
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function predictEvent(parts: Part[], extra: Omit<EventOptions, 'body' | 'method' | 'path'> = {}): APIGatewayProxyEventV2 {
  const { body, contentType } = multipart(parts);
  return httpEvent({
    ...extra,
    method: 'POST',
    path: '/predict',
    body,
    headers: { 'content-type': contentType, ...(extra.headers ?? {}) },
  });
}
