/**
 * Typed errors that carry their HTTP status. Core code throws these; `layers/http.ts` maps them to
 * `{ "error": { "code", "message" } }` responses. Anything else becomes a generic 500.
 */

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(message: string, code = 'payload_too_large') {
    super(413, code, message);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string, code = 'unsupported_media_type') {
    super(415, code, message);
  }
}

export class UnprocessableImageError extends HttpError {
  constructor(message: string, code = 'unprocessable_image') {
    super(422, code, message);
  }
}

/** The store (or another dependency) cannot answer now; the client may retry after `retryAfterSeconds`. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, retryAfterSeconds = 5, code = 'service_unavailable') {
    super(503, code, message, { 'Retry-After': String(retryAfterSeconds) });
  }
}
