/**
 * The prediction use case: upload -> the serving model (serving-model.ts: the digit pipeline and classifier, or
 * the learned reader; either refuses what holds no number) -> [the shadow model, when one is configured:
 * compared and counted only] -> kept upload -> stored record -> answer.
 * The original upload is written to the uploads bucket (when one is configured) before the record is saved,
 * so a stored record always points at an existing object; the answer is built only after the record is
 * stored, so every 200 the client sees is in the history. Each stage's time goes into a StageTimings record
 * (the request's metrics, and bench/stages.ts, read the same one).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { PredictionAnswer } from '#contract';
import { ServiceUnavailableError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import type { StageTimings } from '#observability/timings';
import type { ImageMediaType } from '#preprocess/image-format';
import type { PredictionRecord, PredictionStore } from '#store/prediction-store';
import { type UploadsBucket, uploadKey } from '#uploads/bucket';
import type { Upload } from '#uploads/upload';
import { isRefusal, type ModelReading, type ServingModel, timed } from './serving-model';
import { readInShadow, type ShadowReader } from './shadow';

export interface PredictDeps {
  /** The model that answers (SERVING_MODEL). */
  model: ServingModel;
  store: PredictionStore;
  /** Where original uploads are kept; without one, uploads are not kept and imageKey stays null. */
  uploads?: UploadsBucket | undefined;
  /** The largest picture accepted, in pixels, read from its header before decoding (the configuration's MAX_PIXELS). */
  maxPixels?: number;
  /** A second model that reads every picture beside the serving one, compared and counted, never answered (shadow.ts). */
  shadow?: ShadowReader | undefined;
  now?: () => Date;
  newId?: () => string;
}

export type { PredictionAnswer, StageTimings };

/**
 * The prediction use case. `timings`, when given, receives each stage's time as the stage ends (also when a
 * later stage fails), so that the caller can report where the time went. `clientIp` is stored as given (the
 * handler applies CLIENT_IP_STORAGE first); `visitorId` is whose prediction it is ('' for nobody's).
 */
export async function predictDigit(
  deps: PredictDeps,
  upload: Upload,
  clientIp: string,
  timings: StageTimings = {},
  visitorId = '',
): Promise<PredictionAnswer> {
  const now = deps.now ?? (() => new Date());
  let read: ModelReading;
  try {
    read = await deps.model.read(upload, deps.maxPixels, timings);
  } catch (error: unknown) {
    // A picture the serving model refused as holding no number (422) is still one the shadow is judged on.
    if (deps.shadow && isRefusal(error)) {
      const shadow = deps.shadow;
      await timed(timings, 'shadowMs', () => readInShadow(shadow, deps.store, upload.bytes, null, now().toISOString()));
    }
    throw error;
  }
  const { reading } = read;
  if (deps.shadow) {
    const shadow = deps.shadow;
    const served = { number: reading.number };
    await timed(timings, 'shadowMs', () => readInShadow(shadow, deps.store, upload.bytes, served, now().toISOString()));
  }
  const { imageSha256, imageKey } = await timed(timings, 'uploadMs', async () => {
    const sha256 = createHash('sha256').update(upload.bytes).digest('hex');
    const key = deps.uploads ? await keepUpload(deps.uploads, upload.bytes, read.format, sha256, visitorId) : null;
    return { imageSha256: sha256, imageKey: key };
  });
  const record: PredictionRecord = {
    id: (deps.newId ?? randomUUID)(),
    createdAt: now().toISOString(),
    filename: upload.filename,
    digit: reading.digit,
    confidence: reading.confidence,
    probabilities: reading.probabilities,
    modelVersion: deps.model.version,
    clientIp,
    imageKey,
    imageSha256,
    imageType: read.format,
    imageBytes: upload.bytes.length,
    inputPreview: reading.inputPreview,
    visitorId,
    number: reading.number,
    // Stored as read; whether a digit is uncertain is the answer's reading under today's thresholds.
    digits: reading.digits.map(({ uncertain: _u, candidates: _c, ...stored }) => stored),
    label: null,
  };
  await timed(timings, 'storeMs', () => deps.store.save(record, { uncertain: reading.uncertain }));
  return {
    id: record.id,
    digit: record.digit,
    confidence: record.confidence,
    probabilities: record.probabilities,
    filename: record.filename,
    createdAt: record.createdAt,
    modelVersion: record.modelVersion,
    inputPreview: record.inputPreview,
    number: record.number,
    uncertain: reading.uncertain,
    candidates: reading.candidates,
    digits: reading.digits,
  };
}

/** Writes the upload under its content-derived key; a bucket that refuses or does not answer is a 503. */
async function keepUpload(uploads: UploadsBucket, bytes: Buffer, format: ImageMediaType, sha256: string, owner: string): Promise<string> {
  const key = uploadKey(sha256, format, owner);
  try {
    await uploads.put(key, bytes, format, sha256);
  } catch (error: unknown) {
    log('error', 'upload not kept', { bucket: uploads.bucket, key, ...describeError(error) });
    throw new ServiceUnavailableError('The uploaded image could not be stored right now; retry shortly.', 5, 'uploads_unavailable');
  }
  return key;
}
