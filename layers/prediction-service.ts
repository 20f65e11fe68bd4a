/**
 * One prediction by id, read or erased: GET and DELETE /predictions/{id}. Only its owner (the visitor whose
 * token it was made with) or the operator may; anyone else gets the same 404 as for an id that never existed,
 * so that an id reveals nothing about other visitors. Erasing removes the record from every table of the store,
 * then its kept upload, unless another record still points at the same object (keys are content hashes: two
 * uploads of the same bytes share one object).
 */

import type { HistoryItem } from './contract';
import { NotFoundError, ServiceUnavailableError } from './errors';
import { publish, type Reader } from './history-service';
import { describeError, log } from './log';
import type { PredictionRecord, PredictionStore } from './store/prediction-store';
import type { UploadsBucket } from './uploads-bucket';

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
