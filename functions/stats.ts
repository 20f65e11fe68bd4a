/** GET /stats: the operator's statistics per day and model version, from the store's counters (never the history). */
import { requireOperator } from '#auth/tokens';
import { StatsAnswer } from '#contract';
import { answer, header, httpHandler } from '#http/handler';
import { getAccessKeys, getStore, warmUp } from '#runtime';
import { parseStatsQuery, readStats } from '#stats/service';

warmUp(getStore, getAccessKeys);

export const handler = httpHandler('stats', async (event, info) => {
  requireOperator(header(event, 'authorization'), await getAccessKeys());
  const range = parseStatsQuery(event.queryStringParameters);
  const stats = await readStats(await getStore(), range);
  info.logFields.days = stats.days.length;
  return answer(200, StatsAnswer, stats);
});
