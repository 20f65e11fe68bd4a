/**
 * What one prediction's record costs Cassandra: saves records through the real store (or variants of its write)
 * at a fixed concurrency against a node of its own, and reports the JVM's CPU milliseconds per save, read from
 * /proc, so the figure holds even on a busy machine (it is CPU spent, not time waited).
 *
 *   npx tsx bench/cassandra-write.ts [--saves 3000] [--concurrency 8] [--variants store,unlogged,...]
 *
 * Variants: `store` (the service's save: the record, then its list rows, a new visitor each time as for an
 * anonymous upload, and the statistics' counter batch beside it), `store-same-visitor` (one returning visitor),
 * `logged` (the same statements in one LOGGED batch, as saves were sent before each record was written once), `counters` (the
 * counter batch alone), `unlogged` (the statements in an UNLOGGED batch), `id-only` (the record in
 * predictions_by_id only, a lower bound).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { types } from 'cassandra-driver';
import { predictionCells } from '#stats/cells';
import { createCassandraStore } from '#store/cassandra/store';
import type { PredictionRecord } from '#store/prediction-store';
import { adminClient, freshKeyspace, localCassandra } from '../tools/cassandra';
import { processCpuMs } from './cpu';

const { values: args } = parseArgs({
  options: {
    saves: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '8' },
    variants: { type: 'string', default: 'store,store-same-visitor,logged,counters,unlogged,id-only' },
  },
});
const SAVES = Number(args.saves);
const CONCURRENCY = Number(args.concurrency);

/** A 28x28 preview's size as the service makes them (a grey PNG, base64): ~420 characters. */
const PREVIEW = `data:image/png;base64,${'A'.repeat(400)}`;

function record(visitorId: string): PredictionRecord {
  const probabilities = [0.001, 0.002, 0.003, 0.97, 0.004, 0.005, 0.006, 0.003, 0.004, 0.002];
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    filename: 'digit.png',
    digit: 3,
    confidence: 0.97,
    probabilities,
    modelVersion: 'bench',
    clientIp: '127.0.0.0',
    imageKey: `uploads/${randomUUID()}.png`,
    imageSha256: 'f'.repeat(64),
    imageType: 'image/png',
    imageBytes: 300,
    inputPreview: PREVIEW,
    number: '3',
    digits: [{ digit: 3, confidence: 0.97, probabilities, box: { x: 0, y: 0, width: 28, height: 28 }, inputPreview: PREVIEW }],
    visitorId,
    label: null,
  };
}

async function runConcurrently(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function main(): Promise<void> {
  const cassandra = await localCassandra();
  const jvmPid = cassandra.node?.pid;
  if (jvmPid === undefined) throw new Error('This bench needs a node of its own (unset CASSANDRA_CONTACT_POINTS): it reads its CPU.');
  const keyspace = freshKeyspace('bench_write');
  const store = createCassandraStore({
    contactPoints: cassandra.contactPoints.split(','),
    localDataCenter: cassandra.localDataCenter,
    keyspace,
    replication: { class: 'SimpleStrategy', replicationFactor: 1 },
    consistency: 'LOCAL_QUORUM',
    createSchema: true,
    timeoutMs: 10_000,
    bucketMs: 86_400_000,
    tls: null,
    auth: null,
    keyspacesRegion: null,
  });
  const admin = await adminClient(cassandra.contactPoints);
  const insertId = (r: PredictionRecord) => store.save(r); // warm-up path
  await runConcurrently(500, CONCURRENCY, () => insertId(record(randomUUID())));
  const rows: string[] = [];
  for (const variant of args.variants.split(',')) {
    const steady = randomUUID();
    const save = async (): Promise<void> => {
      if (variant === 'store') return store.save(record(randomUUID()));
      if (variant === 'store-same-visitor') return store.save(record(steady));
      const saved = record(randomUUID());
      const sent = store.saveStatements(saved);
      const statements = [sent.record, ...sent.lists];
      if (variant === 'logged') {
        await admin.batch(statements, { prepare: true, logged: true, consistency: types.consistencies.localQuorum });
        return;
      }
      if (variant === 'counters') {
        // The counter batch a save sends beside its record's (layers/stats/cells.ts, the store's statements).
        await admin.batch(store.counterStatements(predictionCells(saved, false)), {
          prepare: true,
          counter: true,
          logged: false,
          consistency: types.consistencies.localQuorum,
        });
        return;
      }
      if (variant === 'unlogged') {
        await admin.batch(statements, { prepare: true, logged: false, consistency: types.consistencies.localQuorum });
        return;
      }
      if (variant === 'id-only') {
        await admin.execute(sent.record.query, sent.record.params, { prepare: true, consistency: types.consistencies.localQuorum });
        return;
      }
      throw new Error(`unknown variant ${variant}`);
    };
    await runConcurrently(300, CONCURRENCY, save); // warm this variant's statements
    const cpuBefore = processCpuMs(jvmPid) ?? 0;
    const started = performance.now();
    await runConcurrently(SAVES, CONCURRENCY, save);
    const wallMs = performance.now() - started;
    const cpuMs = (processCpuMs(jvmPid) ?? 0) - cpuBefore;
    const row = `${variant.padEnd(20)} ${(cpuMs / SAVES).toFixed(2).padStart(6)} JVM CPU ms/save  ${((SAVES * 1000) / wallMs).toFixed(0).padStart(5)} saves/s`;
    rows.push(row);
    console.log(row);
  }
  await store.close();
  await admin.shutdown();
  await cassandra.stop();
  console.log(`\n${SAVES} saves per variant at ${CONCURRENCY} concurrent, ${new Date().toISOString()}, load ${loadavg()[0]?.toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
