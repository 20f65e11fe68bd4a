/**
 * Load without loss, sized by its caller: `total` predictions of real MNIST digits at `connections`
 * connections against serverless-offline on Cassandra (a keyspace of its own), then the whole history read
 * back through GET /history. Used by test/integration/load-short.test.ts (CI) and test/reliability/load.test.ts.
 *
 * The refusal head turns away a few real test digits as not digits (0.35% of them, model/README.md), and which
 * ones changes with each refit: a picture of the set it refuses is a right answer here (422 not_a_digit, nothing
 * stored) as long as it is refused every time it is sent, and few of the set are. Everything else must be 200,
 * and the history must hold exactly the 200s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digitForms } from '../../model/training/digit-images';
import { dropKeyspace, freshKeyspace, type LocalCassandra, localCassandra } from '../../tools/cassandra';
import { type OfflineService, startOffline } from '../../tools/service';
import { type Answer, duplicates, percentile, statusCounts } from './harness';
import { type LoadResult, loadWithoutLoss } from './scenarios';

/** How many different pictures the load cycles through. */
const PICTURES = 64;

function isNotADigit(answer: Answer): boolean {
  return answer.status === 422 && answer.errorCode === 'not_a_digit';
}

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
      // MNIST test digits 64-127, each sent total/64 times.
      result = await loadWithoutLoss(service.url, await digitForms(PICTURES, 'plain', 64), total, connections);
    });

    after(async () => {
      await service?.stop();
      if (cassandra) {
        await dropKeyspace(cassandra.contactPoints, keyspace);
        await cassandra.stop();
      }
    });

    it('answers every prediction 200, or 422 not_a_digit to the same few pictures each time: no 5xx, no error, no dropped connection', () => {
      const latencies = result.answers.map((a) => a.ms);
      console.error(
        `load ${total}x${connections}: ${(total / result.seconds).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
          `statuses ${JSON.stringify(statusCounts(result.answers))}`,
      );
      assert.equal(result.answers.length, total);
      const refusedPictures = new Set(result.answers.filter(isNotADigit).map((a) => a.index % PICTURES));
      const failed = result.answers.filter((a) => a.status !== 200 && !(isNotADigit(a) && refusedPictures.has(a.index % PICTURES)));
      assert.deepEqual(failed.slice(0, 5), [], `${failed.length} answers were neither 200 nor a refusal of a picture not read as a digit`);
      const inconsistent = result.answers.filter((a) => refusedPictures.has(a.index % PICTURES) && !isNotADigit(a));
      assert.deepEqual(inconsistent.slice(0, 5), [], 'a picture refused once is refused every time');
      assert.ok(refusedPictures.size <= 2, `${refusedPictures.size} of the ${PICTURES} pictures refused as not digits`);
      const accepted = result.answers.filter((a) => a.status === 200);
      assert.equal(new Set(accepted.map((a) => a.id)).size, accepted.length, 'every answer has its own id');
    });

    it('lists exactly the accepted ids in /history afterwards, each once', () => {
      const answered = new Set(result.answers.filter((a) => a.status === 200).map((a) => a.id as string));
      assert.deepEqual(duplicates(result.historyIds), [], 'ids listed twice');
      const missing = [...answered].filter((id) => !result.historyIds.includes(id));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} answered ids missing from the history`);
      assert.equal(result.historyIds.length, answered.size, 'the history holds nothing else');
    });
  });
}
