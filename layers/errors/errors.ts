/**
 * Typed errors that carry their HTTP status. Core code throws these; `layers/http/handler.ts` maps them to
 * `{ "error": { "code", "message" } }` responses. Anything else becomes a generic 500. Each class accepts
 * only the contract's codes of its own status (layers/contract/errors.ts), so a code cannot be thrown with a
 * status the OpenAPI document does not give it.
 */
import type { CodeFor, ErrorCode } from '#contract';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, code: CodeFor<400> = 'bad_request') {
    super(400, code, message);
  }
}

/**
 * No credentials, or credentials this service did not issue. `WWW-Authenticate` names the scheme (RFC 6750),
 * never why a token failed beyond the code.
 */
export class UnauthorizedError extends HttpError {
  constructor(message: string, code: CodeFor<401> = 'unauthorized') {
    super(401, code, message, { 'WWW-Authenticate': code === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer' });
  }
}

/** Credentials that are good, but not for this route (a visitor token where only the operator key opens it). */
export class ForbiddenError extends HttpError {
  constructor(message: string, code: CodeFor<403> = 'operator_only') {
    super(403, code, message);
  }
}

/** A resource the caller may not see answers exactly as one that does not exist. */
export class NotFoundError extends HttpError {
  constructor(message: string, code: CodeFor<404> = 'prediction_not_found') {
    super(404, code, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(message: string, code: CodeFor<413> = 'payload_too_large') {
    super(413, code, message);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string, code: CodeFor<415> = 'unsupported_media_type') {
    super(415, code, message);
  }
}

export class UnprocessableImageError extends HttpError {
  constructor(message: string, code: CodeFor<422> = 'unprocessable_image') {
    super(422, code, message);
  }
}

/** The store (or another dependency) cannot answer now; the client may retry after `retryAfterSeconds`. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, retryAfterSeconds = 5, code: CodeFor<503> = 'service_unavailable') {
    super(503, code, message, { 'Retry-After': String(retryAfterSeconds) });
  }
}
