/**
 * The OpenAPI 3 document of the API, generated from the contract's schemas (never written by hand): served
 * by GET /openapi.json (functions/openapi.ts) and written to a file by `npm run openapi`. Every route of
 * serverless.yml is described here; test/unit/openapi.test.ts validates the document and checks that.
 */
import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import {
  HealthAnswer,
  HistoryItem,
  HistoryPage,
  HistoryQuery,
  IMAGE_MEDIA_TYPES,
  LabelRequest,
  PredictionPath,
  PredictionReceipt,
} from './api';
import { ERROR_CODES, ErrorBody, type ErrorCode } from './errors';
import { MAX_PIXELS_TEXT, MAX_UPLOAD_TEXT } from './limits';
import { STATS_DEFAULT_DAYS, STATS_MAX_DAYS, StatsAnswer, StatsQuery } from './stats';

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' as const } } };

/** An error answer of one status: what it means and the codes the route answers with it (from ERROR_CODES). */
function errorResponse(summary: string, codes: readonly ErrorCode[]): RouteConfig['responses'][number] {
  const statuses = new Set(codes.map((code) => ERROR_CODES[code].status));
  if (statuses.size !== 1) throw new Error(`codes of one response must share a status: ${codes.join(', ')}`);
  const listed = codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].description}`).join(' ');
  return {
    description: `${summary} Codes: ${listed}`,
    ...(statuses.has(503) || statuses.has(429) ? { headers: RETRY_AFTER } : {}),
    content: { 'application/json': { schema: ErrorBody } },
  };
}

export function buildOpenApiDocument(serverUrl?: string): ReturnType<OpenApiGeneratorV3['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const binary = z.string().meta({ format: 'binary' });
  const serverError = errorResponse('An unexpected failure.', ['internal_error']);
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: "A visitor token (the visitorToken POST /predict answered: its own predictions) or the operator key (everyone's).",
  });
  const withCredentials = [{ [bearer.name]: [] }];
  const unauthorized = errorResponse('No credentials, or credentials this service did not issue.', ['unauthorized', 'invalid_token']);

  registry.registerPath({
    method: 'post',
    path: '/predict',
    operationId: 'predict',
    summary: 'Read the handwritten digit in one picture.',
    description:
      `One picture, as a multipart form with one file (any field name; "image" by convention) or as the raw body ` +
      `with its image/* type (or application/octet-stream), named by X-Filename. At most ${MAX_UPLOAD_TEXT} and ` +
      `${MAX_PIXELS_TEXT}. The prediction is stored before it is answered. Without credentials the prediction ` +
      `belongs to a new visitor, whose token the answer carries; with that token (Authorization: Bearer) it joins ` +
      `that visitor's predictions.`,
    security: [{}, ...withCredentials],
    request: {
      headers: z.object({
        'X-Filename': z.string().optional().meta({
          description:
            'The file name of a raw image body (ignored for multipart), in UTF-8: sent as is or percent-encoded (caf%C3%A9.png).',
        }),
      }),
      body: {
        required: true,
        content: {
          'multipart/form-data': { schema: z.object({ image: binary }) },
          ...Object.fromEntries(IMAGE_MEDIA_TYPES.map((type) => [type, { schema: binary }])),
          'application/octet-stream': { schema: binary },
        },
      },
    },
    responses: {
      200: {
        description: "The digit, its probabilities, the stored prediction id, and the visitor's token.",
        content: { 'application/json': { schema: PredictionReceipt } },
      },
      400: errorResponse('No file, an empty file, or a form that cannot be read.', [
        'no_file',
        'empty_file',
        'too_many_files',
        'malformed_multipart',
      ]),
      401: errorResponse('A bearer token this service did not issue (omit it to be served as a new visitor).', ['invalid_token']),
      413: errorResponse(
        'Too many bytes or too many pixels: a file over the upload limit, a picture over the pixel limit (from its header), or a request body over the limit and 1 MiB (refused by the HTTP front before it is read).',
        ['file_too_large', 'too_many_pixels', 'payload_too_large'],
      ),
      415: errorResponse('Not an image of a supported format.', ['unsupported_media_type', 'type_mismatch']),
      422: errorResponse('An image with no readable digit, or with something other than digits.', [
        'corrupt_image',
        'no_digit',
        'not_a_digit',
      ]),
      429: errorResponse('Over the upload quota of the address or of the visitor.', ['too_many_requests']),
      500: serverError,
      503: errorResponse('A dependency cannot answer now, or the decoder is busy, or too many bodies are arriving at once.', [
        'store_unavailable',
        'uploads_unavailable',
        'decoder_busy',
        'server_busy',
      ]),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/history',
    operationId: 'history',
    summary: 'Stored predictions, newest first, one page at a time.',
    description: "A visitor token lists that visitor's predictions only (without client addresses); the operator key lists everyone's.",
    security: withCredentials,
    request: { query: HistoryQuery },
    responses: {
      200: { description: 'One page.', content: { 'application/json': { schema: HistoryPage } } },
      400: errorResponse('A query parameter that is unknown or out of range.', [
        'invalid_query',
        'invalid_limit',
        'invalid_digit',
        'invalid_labelled',
        'invalid_cursor',
      ]),
      401: unauthorized,
      500: serverError,
      503: errorResponse('The store cannot answer now.', ['store_unavailable']),
    },
  });

  const notYours = errorResponse("No such prediction that the caller may see (another visitor's answers the same).", [
    'prediction_not_found',
  ]);

  registry.registerPath({
    method: 'get',
    path: '/predictions/{id}',
    operationId: 'getPrediction',
    summary: 'One prediction, to its owner or the operator.',
    security: withCredentials,
    request: { params: PredictionPath },
    responses: {
      200: { description: 'The prediction, as a history item.', content: { 'application/json': { schema: HistoryItem } } },
      401: unauthorized,
      404: notYours,
      500: serverError,
      503: errorResponse('The store cannot answer now.', ['store_unavailable']),
    },
  });

  registry.registerPath({
    method: 'delete',
    path: '/predictions/{id}',
    operationId: 'deletePrediction',
    summary: 'Erase one prediction (its owner or the operator): the record, and its kept upload unless another record shares it.',
    security: withCredentials,
    request: { params: PredictionPath },
    responses: {
      204: { description: 'Erased; the same request now answers 404.' },
      401: unauthorized,
      404: notYours,
      500: serverError,
      503: errorResponse('The store or the uploads bucket cannot answer now; retrying finishes the erasure.', [
        'store_unavailable',
        'uploads_unavailable',
      ]),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/predictions/{id}/label',
    operationId: 'labelPrediction',
    summary: 'Say what a prediction really shows (its owner or the operator); a second label replaces the first.',
    description:
      'The label is stored with the prediction, with who gave it and when; history items and GET /predictions/{id} show it, ' +
      "`/history?labelled=` filters on it, and it counts in the operator's statistics (GET /stats).",
    security: withCredentials,
    request: { params: PredictionPath, body: { required: true, content: { 'application/json': { schema: LabelRequest } } } },
    responses: {
      200: { description: 'The prediction, labelled, as a history item.', content: { 'application/json': { schema: HistoryItem } } },
      400: errorResponse('The body is not a label.', ['invalid_label']),
      401: unauthorized,
      404: notYours,
      500: serverError,
      503: errorResponse('The store cannot answer now.', ['store_unavailable']),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/stats',
    operationId: 'stats',
    summary: "The operator's statistics, per UTC day and model version, over a range of days.",
    description:
      `Predictions, refusals by code, mean confidence, the share marked uncertain, the digits read, a confidence histogram, ` +
      `and the accuracy on labelled predictions with its 95% interval (Wilson) and confusion matrix; from counters the ` +
      `service keeps as it predicts, refuses and is told labels (never a scan of the history). At most ${STATS_MAX_DAYS} ` +
      `days; the last ${STATS_DEFAULT_DAYS} by default. Counters are not idempotent (a retried write may count twice), ` +
      `and deleting a prediction leaves these anonymous aggregates as they are.`,
    security: withCredentials,
    request: { query: StatsQuery },
    responses: {
      200: { description: 'The figures.', content: { 'application/json': { schema: StatsAnswer } } },
      400: errorResponse('A bad or too long range, or an unknown parameter.', ['invalid_range', 'invalid_query']),
      401: unauthorized,
      403: errorResponse('A visitor token: only the operator key opens the statistics.', ['operator_only']),
      500: serverError,
      503: errorResponse('The store cannot answer now.', ['store_unavailable']),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/health',
    operationId: 'health',
    summary: 'The model version, the inference backend, and whether the store answers.',
    responses: {
      200: { description: 'Ready.', content: { 'application/json': { schema: HealthAnswer } } },
      500: serverError,
      503: {
        description: 'Degraded: the store does not answer (Retry-After says when to look again).',
        headers: RETRY_AFTER,
        content: { 'application/json': { schema: HealthAnswer } },
      },
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document.',
    responses: {
      200: { description: 'The OpenAPI 3 document of the API.', content: { 'application/json': { schema: z.object({}).loose() } } },
      500: serverError,
    },
  });

  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'Digit service',
      version: '1',
      description: 'Handwritten-digit recognition: upload a picture, get the digit; every prediction is kept and listed.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
}
