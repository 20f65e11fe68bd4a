/** GET /history: stored predictions, newest first, one page at a time: a visitor's own, or everyone's for the operator. */
import { requireCaller } from '#auth/tokens';
import { HistoryPage } from '#contract';
import { answer, header, httpHandler } from '#http/handler';
import { listHistory, parseHistoryQuery } from '#predictions/history';
import { getAccessKeys, getStore, getUploadsBucket, warmUp } from '#runtime';

warmUp(getStore, async () => getUploadsBucket(), getAccessKeys);

export const handler = httpHandler('history', async (event, info) => {
  const reader = requireCaller(header(event, 'authorization'), await getAccessKeys());
  const query = parseHistoryQuery(event.queryStringParameters);
  const page = await listHistory(await getStore(), query, reader, getUploadsBucket());
  info.logFields.items = page.items.length;
  info.logFields.reader = reader.kind;
  return answer(200, HistoryPage, page);
});
