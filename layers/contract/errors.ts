/**
 * Every error code the API answers, with its HTTP status and what it means. The typed errors of
 * layers/errors/errors.ts accept only these codes, each with its own status (checked by the compiler), and the
 * OpenAPI document lists them per status. A new refusal is one line here.
 */
import * as z from 'zod';
import { MAX_DIGITS, MAX_PIXELS_TEXT, MAX_UPLOAD_TEXT } from './limits';
import { STATS_MAX_DAYS } from './stats';

export const ERROR_CODES = {
  bad_request: { status: 400, description: 'The request is malformed.' },
  invalid_query: { status: 400, description: 'A query parameter that the route does not know.' },
  invalid_limit: { status: 400, description: 'limit is not a whole number in range.' },
  invalid_digit: { status: 400, description: 'digit is not one of 0 to 9.' },
  invalid_labelled: { status: 400, description: 'labelled is not true or false, or is combined with digit.' },
  invalid_label: {
    status: 400,
    description: `The label body is not JSON of the form {"digit": 0-9} or {"number": "<1 to ${MAX_DIGITS} digits>"}, and nothing else.`,
  },
  invalid_range: {
    status: 400,
    description: `from or to is not a day (YYYY-MM-DD), from is after to, or the range is longer than ${STATS_MAX_DAYS} days.`,
  },
  invalid_cursor: { status: 400, description: 'cursor is empty, or not one this service issued for this query.' },
  no_file: { status: 400, description: 'No file in the request.' },
  empty_file: { status: 400, description: 'The file has no bytes.' },
  too_many_files: { status: 400, description: 'More than one file in the form.' },
  malformed_multipart: { status: 400, description: 'The multipart body cannot be read.' },
  unauthorized: {
    status: 401,
    description: 'No credentials: this route needs a visitor token or the operator key, as `Authorization: Bearer <token>`.',
  },
  invalid_token: {
    status: 401,
    description:
      'The bearer token is neither a visitor token this service signed nor the operator key (a rotated signing key ends old tokens: predict without one to get a new token).',
  },
  forbidden: { status: 403, description: 'Refused to a browser: the local Lambda invoke port runs nothing for a page.' },
  operator_only: { status: 403, description: 'A visitor token on a route only the operator key opens (GET /stats).' },
  not_found: { status: 404, description: 'No route at this method and path (answered by the HTTP front, naming no route).' },
  prediction_not_found: {
    status: 404,
    description:
      'No prediction with this id that the caller may see: it never existed, was deleted or expired, or belongs to another visitor.',
  },
  method_not_allowed: { status: 405, description: 'The route does not take this method (answered by the HTTP front).' },
  request_timeout: { status: 408, description: 'The request body did not arrive in time (answered by the HTTP front).' },
  payload_too_large: { status: 413, description: 'The request is too large.' },
  uri_too_long: { status: 414, description: 'The request line is too long (answered by the HTTP front).' },
  file_too_large: {
    status: 413,
    description: `The file is larger than the upload limit (${MAX_UPLOAD_TEXT} unless configured otherwise).`,
  },
  too_many_pixels: {
    status: 413,
    description: `The picture has more pixels than the limit (${MAX_PIXELS_TEXT}), or would take more memory once decoded than that many 8-bit RGBA pixels (16-bit samples count double).`,
  },
  unsupported_media_type: {
    status: 415,
    description: 'Neither multipart/form-data nor an image/* body, or not an image of a supported format.',
  },
  type_mismatch: { status: 415, description: 'The declared image type contradicts the content.' },
  unprocessable_image: { status: 422, description: 'The image cannot be used.' },
  corrupt_image: { status: 422, description: 'The image is corrupt or truncated.' },
  no_digit: { status: 422, description: 'No ink stands out from the background.' },
  not_a_digit: {
    status: 422,
    description:
      'The picture holds something other than digits (a letter, a word, a shape, a drawing, a scribble): refused, nothing stored. A picture where only some parts are digits is refused too.',
  },
  too_many_requests: {
    status: 429,
    description:
      'Too many uploads, or too many bytes uploaded, from this address or with this visitor token; retry after Retry-After seconds.',
  },
  headers_too_large: { status: 431, description: 'The request headers are too large (answered by the HTTP front).' },
  internal_error: { status: 500, description: 'An unexpected failure; details are in the service log, under the request id.' },
  bad_gateway: { status: 502, description: 'The function failed before it answered (answered by the HTTP front); retry later.' },
  service_unavailable: { status: 503, description: 'A dependency cannot answer now; retry after Retry-After seconds.' },
  store_unavailable: { status: 503, description: 'The prediction store cannot answer now; retry after Retry-After seconds.' },
  decoder_busy: {
    status: 503,
    description: 'The service is decoding other large pictures and this one waited too long for its turn; retry after Retry-After seconds.',
  },
  server_busy: {
    status: 503,
    description:
      'The service is receiving too many request bodies at once to take this one in; retry after Retry-After seconds (answered by the HTTP front).',
  },
  uploads_unavailable: { status: 503, description: 'The uploads bucket cannot keep the upload now; retry after Retry-After seconds.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode]['status'];

/** The codes answered with the given status, e.g. `CodeFor<413>` is file_too_large | too_many_pixels | payload_too_large. */
export type CodeFor<S extends ErrorStatus> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never }[ErrorCode];

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** `{ "error": { "code", "message" } }`: every answer that is not a success. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODE_NAMES).meta({ description: 'Stable, for programs: see the list of codes per status.' }),
      message: z.string().meta({ description: 'One sentence for the person who sent the request; a 5xx never shows internals.' }),
    }),
  })
  .meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBody>;
