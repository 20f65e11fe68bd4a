/** GET /history: stored predictions, newest first, one page at a time. */
import { HistoryPage } from '../layers/contract';
import { listHistory, parseHistoryQuery } from '../layers/history-service';
import { answer, httpHandler } from '../layers/http';
import { getStore, getUploadsBucket, warmUp } from '../layers/runtime';

warmUp(getStore, async () => getUploadsBucket());

export const handler = httpHandler('history', async (event, info) => {
  const query = parseHistoryQuery(event.queryStringParameters);
  const page = await listHistory(await getStore(), query, getUploadsBucket());
  info.logFields.items = page.items.length;
  return answer(200, HistoryPage, page);
});
