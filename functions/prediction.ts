/** GET and DELETE /predictions/{id}: one prediction, read or erased, by its owner or the operator (else 404). */
import { requireCaller } from '#auth/tokens';
import { HistoryItem } from '#contract';
import { answer, header, httpHandler, noContent } from '#http/handler';
import { deletePrediction, getPrediction } from '#predictions/prediction';
import { getAccessKeys, getStore, getUploadsBucket, warmUp } from '#runtime';

warmUp(getStore, async () => getUploadsBucket(), getAccessKeys);

export const handler = httpHandler('prediction', async (event, info) => {
  const reader = requireCaller(header(event, 'authorization'), await getAccessKeys());
  const id = event.pathParameters?.id;
  info.logFields.reader = reader.kind;
  const store = await getStore();
  if (event.requestContext?.http?.method === 'DELETE') {
    await deletePrediction(store, reader, id, getUploadsBucket());
    info.logFields.deleted = id;
    return noContent();
  }
  return answer(200, HistoryItem, await getPrediction(store, reader, id, getUploadsBucket()));
});
