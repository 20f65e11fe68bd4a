/**
 * One prediction by id, read or erased: GET and DELETE /predictions/{id}. Only its owner (the visitor whose
 * token it was made with) or the operator may; anyone else gets the same 404 as for an id that never existed,
 * so that an id reveals nothing about other visitors. Erasing removes the record from every table of the store,
 * then its kept upload, unless another record still points at the same object (keys are content hashes per
 * visitor: one visitor's two uploads of the same bytes share one object, two visitors' never do, so erasing
 * one's own prediction tells nothing about anyone else's uploads). Labelling (POST /predictions/{id}/label) is allowed to the same
 * two, and a second label replaces the first.
 */

import { type HistoryItem, LabelRequest, labelNumber } from '#contract';
import { BadRequestError, NotFoundError, ServiceUnavailableError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import type { PredictionRecord, PredictionStore, RecordLabel } from '#store/prediction-store';
import type { UploadsBucket } from '#uploads/bucket';
import { publish, type Reader } from './history';

/** The ids the service issues (randomUUID); anything else cannot name a prediction. */
const PREDICTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function notFound(): NotFoundError {
  return new NotFoundError('No prediction with this id is yours to see: it does not exist, was deleted, or has expired.');
}

/** The record, if `reader` may see it; else the 404 every other case gets. */
async function owned(store: PredictionStore, reader: Reader, id: string | undefined): Promise<PredictionRecord> {
  if (id === undefined || !PREDICTION_ID.test(id)) throw notFound();
  const record = await store.get(id);
  if (record === null) throw notFound();
  if (reader.kind === 'visitor' && record.visitorId !== reader.visitorId) throw notFound();
  return record;
}

export async function getPrediction(
  store: PredictionStore,
  reader: Reader,
  id: string | undefined,
  uploads?: UploadsBucket,
): Promise<HistoryItem> {
  return publish(await owned(store, reader, id), reader, uploads);
}

/**
 * Erases the prediction: its upload first (when no other record points at it), then the record. In this order
 * a 204 means both are gone, and a failure on the way is a 503 whose retry finds the record still there and
 * finishes the job; the other order would leave an object nobody can name any more.
 */
export async function deletePrediction(
  store: PredictionStore,
  reader: Reader,
  id: string | undefined,
  uploads?: UploadsBucket,
): Promise<void> {
  const record = await owned(store, reader, id);
  if (record.imageKey !== null && uploads && !(await store.imageReferenced(record.imageKey, record.id))) {
    try {
      await uploads.delete(record.imageKey);
    } catch (error: unknown) {
      log('error', 'upload not deleted', { bucket: uploads.bucket, key: record.imageKey, ...describeError(error) });
      throw new ServiceUnavailableError('The upload could not be deleted right now; retry shortly.', 5, 'uploads_unavailable');
    }
  }
  await store.delete(record);
}

/** A label body is a few dozen bytes; anything much larger is not one. */
const MAX_LABEL_BODY_BYTES = 1024;

/** The label a request body names, or the 400 that says what a label looks like. */
export function parseLabelRequest(body: Buffer): LabelRequest {
  const refuse = (why: string): BadRequestError =>
    new BadRequestError(`${why} Send JSON: {"digit": 7}, or {"number": "407"} for several digits.`, 'invalid_label');
  if (body.length > MAX_LABEL_BODY_BYTES) throw refuse('The label is too long.');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw refuse('The body is not JSON.');
  }
  const parsed = LabelRequest.safeParse(value);
  if (!parsed.success) throw refuse('The body is not a label.');
  return parsed.data;
}

/**
 * Labels the prediction with what it really shows, for its owner or the operator (the 404 of every other case
 * otherwise), replacing any earlier label; answers the prediction as it now reads. The body is checked first, so
 * a bad one costs no store read.
 */
export async function labelPrediction(
  store: PredictionStore,
  reader: Reader,
  id: string | undefined,
  body: Buffer,
  uploads?: UploadsBucket,
  now: () => Date = () => new Date(),
): Promise<HistoryItem> {
  const request = parseLabelRequest(body);
  const record = await owned(store, reader, id);
  const label: RecordLabel = { number: labelNumber(request), by: reader.kind, at: now().toISOString() };
  await store.setLabel(record, label);
  return publish({ ...record, label }, reader, uploads);
}
