/**
 * The prediction use case: upload -> preprocessing -> classifier -> stored record -> answer. The answer is
 * built only after the record is stored, so every 200 the client sees is in the history.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Classifier, toPrediction } from './classifier';
import { preprocessImage } from './preprocess';
import type { PredictionRecord, PredictionStore } from './store/prediction-store';
import type { Upload } from './upload';

export interface PredictDeps {
  classifier: Classifier;
  store: PredictionStore;
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
  const record: PredictionRecord = {
    id: (deps.newId ?? randomUUID)(),
    createdAt: (deps.now ?? (() => new Date()))().toISOString(),
    filename: upload.filename,
    digit: prediction.digit,
    confidence: prediction.confidence,
    probabilities: prediction.probabilities,
    modelVersion: deps.classifier.version,
    clientIp,
    imageKey: null,
    imageSha256: createHash('sha256').update(upload.bytes).digest('hex'),
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
