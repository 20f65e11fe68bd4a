/**
 * Load without loss, sized by its caller: `total` predictions of real MNIST digits at `connections`
 * connections against serverless-offline on Cassandra (a keyspace of its own), then the whole history read
 * back through GET /history. Used by test/integration/load-short.test.ts (CI) and test/reliability/load.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dropKeyspace, freshKeyspace, type LocalCassandra, localCassandra } from '../../tools/cassandra';
import { digitForms } from '../../tools/digit-images';
import { type OfflineService, startOffline } from '../../tools/service';
import { duplicates, percentile, statusCounts } from './harness';
import { type LoadResult, loadWithoutLoss } from './scenarios';

export function describeLoadWithoutLoss(total: number, connections: number): void {
  describe(`load without loss: ${total} predictions at ${connections} connections on Cassandra`, () => {
    const keyspace = freshKeyspace('load');
    let cassandra: LocalCassandra;
    let service: OfflineService;
    let result: LoadResult;

    before(async () => {
      cassandra = await localCassandra();
      service = await startOffline({
        env: {
          PREDICTION_STORE: 'cassandra',
          CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
          CASSANDRA_KEYSPACE: keyspace,
          LOG_LEVEL: 'warn',
        },
      });
      // MNIST test digits 64-127, which the service reads: digit 33, an odd 4, is refused as not a digit
      // (one of the 0.17% of test digits the refusal head turns away, model/README.md), and this test wants 200s.
      result = await loadWithoutLoss(service.url, await digitForms(64, 'plain', 64), total, connections);
    });

    after(async () => {
      await service?.stop();
      if (cassandra) {
        await dropKeyspace(cassandra.contactPoints, keyspace);
        await cassandra.stop();
      }
    });

    it('answers every prediction 200: no 5xx, no error, no dropped connection', () => {
      const latencies = result.answers.map((a) => a.ms);
      console.error(
        `load ${total}x${connections}: ${(total / result.seconds).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
          `statuses ${JSON.stringify(statusCounts(result.answers))}`,
      );
      assert.equal(result.answers.length, total);
      const failed = result.answers.filter((a) => a.status !== 200);
      assert.deepEqual(failed.slice(0, 5), [], `${failed.length} answers were not 200`);
      assert.equal(new Set(result.answers.map((a) => a.id)).size, total, 'every answer has its own id');
    });

    it('lists exactly those ids in /history afterwards, each once', () => {
      const answered = new Set(result.answers.map((a) => a.id as string));
      assert.deepEqual(duplicates(result.historyIds), [], 'ids listed twice');
      const missing = [...answered].filter((id) => !result.historyIds.includes(id));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} answered ids missing from the history`);
      assert.equal(result.historyIds.length, total, 'the history holds nothing else');
    });
  });
}
