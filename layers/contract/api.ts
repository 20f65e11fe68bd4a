/**
 * The API's shapes, defined once as zod schemas: what the handlers parse from requests and check before they
 * answer, the types the page, tests and bench use, and the source of the OpenAPI document (./openapi.ts).
 * A response has its own schema, never the stored record: `toHistoryItem` decides field by field what of a
 * record is published.
 */
import * as z from 'zod';
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, MAX_DIGITS } from './limits';

/** The picture formats /predict reads (detected from the bytes, whatever the client declares). */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

const Digit = z.number().int().min(0).max(9);
const Probability = z.number().min(0).max(1);
const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC, with milliseconds.', example: '2026-12-02T02:40:00.000Z' });

const Pixels = z.number().int().min(0);

/** Where a digit is in the uploaded picture. */
export const DigitBox = z
  .object({ x: Pixels, y: Pixels, width: Pixels, height: Pixels })
  .meta({ id: 'DigitBox', description: "In the uploaded picture's pixels, after EXIF orientation; x and y from the top-left corner." });

/** One digit of the number read. */
export const DigitReading = z
  .object({
    digit: Digit.meta({ description: 'The most probable digit.' }),
    confidence: Probability.meta({ description: 'The probability of that digit.' }),
    probabilities: z.array(Probability).length(10).meta({ description: 'Ten probabilities, index = digit, summing to 1.' }),
    box: DigitBox,
    inputPreview: z.string().meta({
      description:
        "The input the model saw, as a PNG data URL: this digit's 28x28 for the classifier, the number's 32x128 for the learned reader.",
    }),
  })
  .meta({
    id: 'DigitReading',
    description:
      "One digit of the number. When the learned reader answers (modelVersion reader-...), each digit's box is approximate: the reader reads the number whole and does not locate its digits, so the number's ink region is cut into one box a digit for display.",
  });
export type DigitReading = z.infer<typeof DigitReading>;

/** One of the two most probable digits. */
export const Candidate = z
  .object({ digit: Digit, probability: Probability })
  .meta({ id: 'Candidate', description: 'A digit and its (calibrated) probability.' });
export type Candidate = z.infer<typeof Candidate>;

const Uncertain = z.boolean().meta({
  description:
    'True when the model is unsure: the confidence is below the threshold fitted with the model (model/README.md). Read `candidates` then: the digit is one of the two.',
});
const Candidates = z
  .array(Candidate)
  .length(2)
  .meta({ description: 'The two most probable digits, most probable first (the first is `digit`).' });

/** One digit of the number read, as POST /predict answers it: its reading, whether it is uncertain, its two best. */
export const DigitAnswer = DigitReading.extend({ uncertain: Uncertain, candidates: Candidates }).meta({ id: 'DigitAnswer' });
export type DigitAnswer = z.infer<typeof DigitAnswer>;

/** The fields a prediction has both when answered and when read back from the history. */
const PredictionFields = z.object({
  id: z.string().meta({ description: 'The prediction id (UUID v4).' }),
  digit: Digit.meta({
    description: 'The most probable digit; of a number of several digits, that of its least confident digit (the leftmost of equals).',
  }),
  confidence: Probability.meta({
    description: 'The probability of that digit; of a number, the lowest of its digits’ confidences (the number is at most this sure).',
  }),
  probabilities: z
    .array(Probability)
    .length(10)
    .meta({ description: 'Ten probabilities, index = digit, summing to 1; of a number, those of its least confident digit.' }),
  filename: z.string().meta({ description: 'The uploaded file name, sanitised (never used as a path).' }),
  createdAt: Timestamp,
  modelVersion: z.string().meta({ description: 'The version of the model that answered.' }),
  inputPreview: z.string().meta({
    description:
      'The input the model saw, as a PNG data URL: the classifier’s 28x28 (of a number, its least confident digit’s), or the learned reader’s 32x128 of the whole number.',
  }),
  number: z
    .string()
    .regex(new RegExp(`^[0-9]{1,${MAX_DIGITS}}$`))
    .meta({ description: 'Every digit read, left to right ("7" for a single digit).', example: '407' }),
  digits: z
    .array(DigitReading)
    .min(1)
    .max(MAX_DIGITS)
    .meta({ description: 'Each digit of `number`, left to right, with its box in the picture.' }),
});

/**
 * POST /predict, 200. Of a number of several digits, the top-level digit, confidence, probabilities and
 * inputPreview are its least confident digit's (the leftmost of equals): a client that reads only them never
 * sees more certainty than the whole number has, and one that checks the confidence checks the weakest digit.
 * `uncertain` and `candidates` are the same digit's; `uncertain` is true when any digit of the number is.
 * Probabilities are calibrated (temperature scaling): a confidence of 0.9 is right about 9 times in 10.
 */
export const PredictionAnswer = PredictionFields.extend({
  uncertain: Uncertain.meta({
    description:
      'True when the model is unsure of the digit (of a number, of any digit: the least confident one is then unsure). Read `candidates` then.',
  }),
  candidates: Candidates.meta({
    description: 'The two most probable digits of `digit`, most probable first; of a number, its least confident digit’s.',
  }),
  digits: z.array(DigitAnswer).min(1).max(MAX_DIGITS).meta({
    description: 'Each digit of `number`, left to right, with its box in the picture, whether it is uncertain and its two best candidates.',
  }),
}).meta({ id: 'PredictionAnswer' });
export type PredictionAnswer = z.infer<typeof PredictionAnswer>;

/**
 * A visitor token: `v1.<visitor id>.<signature>`, base64url parts. Issued by POST /predict; sent back as
 * `Authorization: Bearer <token>` to add predictions to the same visitor and to read or delete them.
 */
export const VisitorToken = z
  .string()
  .regex(/^v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
  .meta({
    description: 'The visitor token (keep it: it is the only key to these predictions).',
    example: `v1.${'A'.repeat(22)}.${'B'.repeat(43)}`,
  });

/** POST /predict, 200: the prediction, and the token of the visitor it belongs to. */
export const PredictionReceipt = PredictionAnswer.extend({
  visitorToken: VisitorToken.meta({
    description:
      "The visitor's token: a new visitor's when the request carried none, else the same visitor's (re-signed with the current key).",
  }),
}).meta({ id: 'PredictionReceipt' });
export type PredictionReceipt = z.infer<typeof PredictionReceipt>;

/** The digits of a number, as a label gives them: 1 to MAX_DIGITS digits, left to right. */
const NumberText = z.string().regex(new RegExp(`^[0-9]{1,${MAX_DIGITS}}$`));

/** A person's correction of a prediction, as history items show it (null while there is none). */
export const Label = z
  .object({
    number: NumberText.meta({ description: 'What the picture really shows, left to right ("7" for one digit).', example: '7' }),
    by: z.enum(['visitor', 'operator']).meta({ description: "Who gave it: the prediction's owner (their token) or the operator." }),
    at: Timestamp,
  })
  .meta({ id: 'Label' });
export type Label = z.infer<typeof Label>;

/**
 * POST /predictions/{id}/label: the true digit, or the true number for a picture of several digits. Exactly one
 * of the two, nothing else; a second label replaces the first.
 */
export const LabelRequest = z
  .union([
    z.strictObject({ digit: Digit.meta({ description: 'The digit the picture really shows.', example: 7 }) }),
    z.strictObject({
      number: NumberText.meta({ description: `The number the picture really shows: 1 to ${MAX_DIGITS} digits.`, example: '407' }),
    }),
  ])
  .meta({ id: 'LabelRequest' });
export type LabelRequest = z.infer<typeof LabelRequest>;

/** The number a label request names ({"digit": 7} is "7"). */
export function labelNumber(request: LabelRequest): string {
  return 'digit' in request ? String(request.digit) : request.number;
}

/**
 * One GET /history item, and GET /predictions/{id}: what a stored prediction publishes. Without `uncertain` and
 * `candidates`: those are the answer's reading under the thresholds of the moment; the stored probabilities keep
 * everything they were made from.
 */
export const HistoryItem = PredictionFields.extend({
  clientIp: z
    .string()
    .optional()
    .meta({ description: "The stored client address (truncated unless configured otherwise); only in the operator's view." }),
  imageKey: z.string().nullable().meta({ description: 'Where the upload is kept in the uploads bucket; null when it is not kept.' }),
  imageSha256: z.string().meta({ description: 'SHA-256 of the upload, hex.' }),
  imageType: z.string().meta({ description: 'The detected media type of the upload, e.g. image/png.' }),
  imageBytes: z.number().int().min(0).meta({ description: 'The size of the upload in bytes.' }),
  imageUrl: z.string().nullable().meta({ description: 'A short-lived URL of the upload; null when it is not kept.' }),
  digits: z
    .array(DigitReading)
    .max(MAX_DIGITS)
    .meta({ description: 'Each digit of `number`, left to right; empty for predictions stored before numbers were read.' }),
  label: Label.nullable().meta({ description: 'The label a person gave (POST /predictions/{id}/label), or null.' }),
}).meta({ id: 'HistoryItem' });
export type HistoryItem = z.infer<typeof HistoryItem>;

/** GET /history, 200. */
export const HistoryPage = z
  .object({
    items: z.array(HistoryItem).meta({ description: 'Newest first.' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass back as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'HistoryPage' });
export type HistoryPage = z.infer<typeof HistoryPage>;

/** The fields of a stored record that a history item is made from (the store's PredictionRecord has them). */
export interface PublishableRecord {
  id: string;
  createdAt: string;
  filename: string;
  digit: number;
  confidence: number;
  probabilities: number[];
  modelVersion: string;
  clientIp: string;
  imageKey: string | null;
  imageSha256: string;
  imageType: string;
  imageBytes: number;
  inputPreview: string;
  number: string;
  digits: DigitReading[];
  label: Label | null;
}

/** Who reads: a visitor (their own predictions) or the operator (everyone's). */
export type Reader = 'visitor' | 'operator';

/**
 * The one place that decides what of a stored record a history item shows; a new column is not published until
 * named here. A visitor never sees a client address, not even their own stored one.
 */
export function toHistoryItem(record: PublishableRecord, imageUrl: string | null, reader: Reader): HistoryItem {
  return {
    id: record.id,
    digit: record.digit,
    confidence: record.confidence,
    probabilities: record.probabilities,
    filename: record.filename,
    createdAt: record.createdAt,
    modelVersion: record.modelVersion,
    inputPreview: record.inputPreview,
    ...(reader === 'operator' ? { clientIp: record.clientIp } : {}),
    imageKey: record.imageKey,
    imageSha256: record.imageSha256,
    imageType: record.imageType,
    imageBytes: record.imageBytes,
    imageUrl,
    number: record.number,
    digits: record.digits,
    label: record.label,
  };
}

/**
 * GET /history's query string, as API Gateway hands it over (strings). Each parameter's refusal has its own
 * code (HISTORY_QUERY_CODES); `parseHistoryQuery` in layers/predictions/history.ts turns issues into 400s.
 */
export const HistoryQuery = z.strictObject(
  {
    limit: z
      .string()
      .regex(/^\d{1,3}$/, { error: `The limit must be a whole number from 1 to ${HISTORY_MAX_LIMIT}.` })
      .refine((raw) => Number(raw) >= 1 && Number(raw) <= HISTORY_MAX_LIMIT, {
        error: `The limit must be a whole number from 1 to ${HISTORY_MAX_LIMIT}.`,
      })
      .optional()
      .meta({ description: `Items per page, 1 to ${HISTORY_MAX_LIMIT}; ${HISTORY_DEFAULT_LIMIT} when absent.`, example: '20' }),
    cursor: z
      .string()
      .min(1, { error: 'The cursor is empty: omit it for the first page.' })
      .optional()
      .meta({ description: "The previous page's nextCursor, passed back as it was given (with the same digit)." }),
    digit: z
      .string()
      .regex(/^[0-9]$/, { error: 'The digit must be one of 0 to 9.' })
      .optional()
      .meta({
        description: 'Only predictions whose answer is this digit alone; a number of several digits is listed under none (not "contains").',
        example: '7',
      }),
    labelled: z
      .enum(['true', 'false'], { error: 'labelled must be true or false.' })
      .optional()
      .meta({ description: 'Only predictions with a label (true) or without one (false); not together with digit.' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `Unknown query parameter "${issue.keys[0]}": use limit, cursor, digit or labelled.` : undefined,
  },
);
export type HistoryQuery = z.infer<typeof HistoryQuery>;

/** Which code each HistoryQuery refusal carries, by the parameter it is about. */
export const HISTORY_QUERY_CODES = {
  limit: 'invalid_limit',
  cursor: 'invalid_cursor',
  digit: 'invalid_digit',
  labelled: 'invalid_labelled',
  unknown: 'invalid_query',
} as const;

/** GET and DELETE /predictions/{id}: the path parameter. An id that is not a UUID cannot exist: 404, not 400. */
export const PredictionPath = z.object({
  id: z.string().meta({ description: 'The prediction id, as POST /predict answered it.', example: '3f1c2a9e-7b1d-4c39-9a55-0d6c1b2e4f10' }),
});

/** GET /health: 200 when the store answers, 503 (with Retry-After) when it does not. */
export const HealthAnswer = z
  .object({
    status: z.enum(['ok', 'degraded']),
    modelVersion: z.string(),
    backend: z.string().meta({ description: "The inference backend: 'wasm' or 'tensorflow' (native)." }),
    store: z.object({ kind: z.enum(['sqlite', 'cassandra']), ok: z.boolean() }),
  })
  .meta({ id: 'HealthAnswer' });
export type HealthAnswer = z.infer<typeof HealthAnswer>;
