/**
 * The fuzz test, sized by its caller: `count` seeded cases (fuzz-inputs.ts) sent over HTTP to serverless-offline
 * (Cassandra when CASSANDRA_CONTACT_POINTS names a node, else the embedded SQLite store, each in a store of
 * its own). Used by test/integration/fuzz.test.ts (short, CI) and test/reliability/fuzz.test.ts (full).
 * A failure names the seed and each bad case; FUZZ_SEED=<seed> reproduces it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dropKeyspace, freshKeyspace } from '../../tools/cassandra';
import { type OfflineService, startOffline } from '../../tools/service';
import { FUZZ_PEAK_RSS_MB, FUZZ_RSS_GROWTH_MB, type FuzzReport, fuzzSeed, runFuzz } from './fuzz-run';
import { allHistory } from './harness';

export function describeFuzz(count: number, defaultSeed: number): void {
  const seed = fuzzSeed(defaultSeed);
  const cassandra = process.env.CASSANDRA_CONTACT_POINTS;
  describe(`fuzzing POST /predict: ${count} random and mutated images and multipart bodies (seed ${seed}, ${cassandra ? 'Cassandra' : 'SQLite'})`, () => {
    let service: OfflineService;
    let scratch: string | undefined;
    const keyspace = freshKeyspace('fuzz');
    let report: FuzzReport;

    before(async () => {
      scratch = cassandra ? undefined : mkdtempSync(join(tmpdir(), 'digit-fuzz-'));
      const env: Record<string, string> = cassandra
        ? { PREDICTION_STORE: 'cassandra', CASSANDRA_KEYSPACE: keyspace }
        : { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(scratch as string, 'p.sqlite') };
      // LOG_LEVEL=error: thousands of refusals would otherwise fill the output with request lines.
      // Parsing under thousands of hostile bodies from one address, not the upload quota (test/security/quotas.test.ts):
      // the address's quota is off here, or a long run ends in 429s.
      service = await startOffline({
        env: { ...env, LOG_LEVEL: 'error', UPLOAD_QUOTA_ADDRESS_PER_SECOND: '0', UPLOAD_QUOTA_ADDRESS_BYTES_PER_HOUR: '0' },
      });
      report = await runFuzz({ base: service.url, pid: service.child.pid as number, seed, count });
    });

    after(async () => {
      await service?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      if (cassandra) await dropKeyspace(cassandra, keyspace);
    });

    it('answers every case with a refusal (400, 413, 415, 422, 431) or, for a still-valid picture, a 200: never a 5xx, never silence', () => {
      const listed = report.violations.map((v) => `  #${v.index} [${v.family}] ${v.name}: HTTP ${v.status} ${v.detail}`).join('\n');
      assert.equal(
        report.violations.length,
        0,
        `seed ${seed}: ${report.violations.length} bad answers (FUZZ_SEED=${seed} reproduces):\n${listed}`,
      );
      const answered = Object.values(report.statuses).reduce((a, b) => a + b, 0);
      assert.equal(answered, count);
    });

    it('refuses the great majority: only mutated pictures that still decode are accepted', () => {
      const accepted = report.statuses['200'] ?? 0;
      assert.ok(accepted < count * 0.2, `${accepted} of ${count} accepted`);
      assert.ok(
        (report.statuses['422'] ?? 0) > 0 &&
          (report.statuses['415'] ?? 0) > 0 &&
          (report.statuses['400'] ?? 0) > 0 &&
          (report.statuses['413'] ?? 0) > 0,
        JSON.stringify(report.statuses),
      );
    });

    it('stores nothing it refused: the history grew by exactly the accepted uploads', async () => {
      assert.equal(report.historyAfter - report.historyBefore, report.storedIds.length);
      const ids = new Set((await allHistory(service.url)).map((item) => item.id));
      for (const id of report.storedIds) assert.ok(ids.has(id), `accepted ${id} is not in the history`);
    });

    it(`stays up with bounded memory (peak RSS under ${FUZZ_PEAK_RSS_MB} MB, growth under ${FUZZ_RSS_GROWTH_MB} MB)`, async () => {
      assert.equal(service.child.exitCode, null, 'serverless-offline exited');
      assert.equal((await fetch(`${service.url}/health`)).status, 200);
      console.error(
        `fuzz seed ${seed}: ${count} cases in ${report.seconds.toFixed(1)} s, ${JSON.stringify(report.statuses)}, RSS ${report.rss.firstMb.toFixed(0)} -> peak ${report.rss.peakMb.toFixed(0)} -> ${report.rss.lastMb.toFixed(0)} MB, slowest ${report.slowest.ms} ms (${report.slowest.name})`,
      );
      assert.ok(report.rss.peakMb < FUZZ_PEAK_RSS_MB, `peak RSS ${report.rss.peakMb.toFixed(0)} MB`);
      assert.ok(
        report.rss.lastMb - report.rss.firstMb < FUZZ_RSS_GROWTH_MB,
        `RSS grew from ${report.rss.firstMb.toFixed(0)} to ${report.rss.lastMb.toFixed(0)} MB`,
      );
    });
  });
}
