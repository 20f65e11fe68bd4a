/** POST /predictions/{id}/label: what a prediction really shows, given by its owner or the operator (else 404). */
import { requireCaller } from '#auth/tokens';
import { HistoryItem } from '#contract';
import { answer, bodyBytes, header, httpHandler } from '#http/handler';
import { labelPrediction } from '#predictions/prediction';
import { getAccessKeys, getStore, getUploadsBucket, warmUp } from '#runtime';

warmUp(getStore, async () => getUploadsBucket(), getAccessKeys);

export const handler = httpHandler('label', async (event, info) => {
  const reader = requireCaller(header(event, 'authorization'), await getAccessKeys());
  const id = event.pathParameters?.id;
  info.logFields.reader = reader.kind;
  const item = await labelPrediction(await getStore(), reader, id, bodyBytes(event), getUploadsBucket());
  info.logFields.labelled = id;
  return answer(200, HistoryItem, item);
});
