/**
 * The prediction use case: upload -> preprocessing -> classifier -> kept upload -> stored record -> answer.
 * The original upload is written to the uploads bucket (when one is configured) before the record is saved,
 * so a stored record always points at an existing object; the answer is built only after the record is
 * stored, so every 200 the client sees is in the history.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Classifier, toPrediction } from './classifier';
import { ServiceUnavailableError } from './errors';
import { describeError, log } from './log';
import { type PreprocessedImage, preprocessImage } from './preprocess';
import type { PredictionRecord, PredictionStore } from './store/prediction-store';
import type { Upload } from './upload';
import { type UploadsBucket, uploadKey } from './uploads-bucket';

export interface PredictDeps {
  classifier: Classifier;
  store: PredictionStore;
  /** Where original uploads are kept; without one, uploads are not kept and imageKey stays null. */
  uploads?: UploadsBucket | undefined;
  now?: () => Date;
  newId?: () => string;
}

export interface PredictionAnswer {
  id: string;
  digit: number;
  confidence: number;
  probabilities: number[];
  filename: string;
  createdAt: string;
  modelVersion: string;
  /** PNG data URL of the 28x28 input the model saw. */
  inputPreview: string;
}

export async function predictDigit(deps: PredictDeps, upload: Upload, clientIp: string): Promise<PredictionAnswer> {
  const image = await preprocessImage(upload.bytes, { declaredType: upload.declaredType });
  const probabilities = await deps.classifier.predictBatch(image.input);
  const prediction = toPrediction(probabilities);
  const imageSha256 = createHash('sha256').update(upload.bytes).digest('hex');
  const imageKey = deps.uploads ? await keepUpload(deps.uploads, upload.bytes, image.format, imageSha256) : null;
  const record: PredictionRecord = {
    id: (deps.newId ?? randomUUID)(),
    createdAt: (deps.now ?? (() => new Date()))().toISOString(),
    filename: upload.filename,
    digit: prediction.digit,
    confidence: prediction.confidence,
    probabilities: prediction.probabilities,
    modelVersion: deps.classifier.version,
    clientIp,
    imageKey,
    imageSha256,
    imageType: image.format,
    imageBytes: upload.bytes.length,
    inputPreview: image.preview,
  };
  await deps.store.save(record);
  return {
    id: record.id,
    digit: record.digit,
    confidence: record.confidence,
    probabilities: record.probabilities,
    filename: record.filename,
    createdAt: record.createdAt,
    modelVersion: record.modelVersion,
    inputPreview: record.inputPreview,
  };
}

/** Writes the upload under its content-derived key; a bucket that refuses or does not answer is a 503. */
async function keepUpload(uploads: UploadsBucket, bytes: Buffer, format: PreprocessedImage['format'], sha256: string): Promise<string> {
  const key = uploadKey(sha256, format);
  try {
    await uploads.put(key, bytes, format, sha256);
  } catch (error: unknown) {
    log('error', 'upload not kept', { bucket: uploads.bucket, key, ...describeError(error) });
    throw new ServiceUnavailableError('The uploaded image could not be stored right now; retry shortly.', 5, 'uploads_unavailable');
  }
  return key;
}
