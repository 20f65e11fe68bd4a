/**
 * CassandraStore against a real Cassandra node: the shared store contract, plus what only a real cluster
 * shows: paging across time-bucket boundaries, 1,000 concurrent writes, exact round trips through both
 * tables, a quick 503 when the cluster cannot be reached, and tables made before a column was added.
 *
 * The node comes from CASSANDRA_CONTACT_POINTS (scripts/cassandra/with-cassandra.ts sets it); when it is not
 * set, this file starts its own node with the project's launcher and stops it afterwards. Each run uses a
 * keyspace of its own, dropped at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'cassandra-driver';
import { HttpError, ServiceUnavailableError } from '#errors/errors';
import { type CassandraConfig, readCassandraConfig } from '#store/cassandra/config';
import { RECORD_COLUMNS, schemaStatements, TABLES } from '#store/cassandra/schema';
import { type CassandraStore, createCassandraStore } from '#store/cassandra/store';
import { columnNames, columnValues } from '#store/record-columns';
import { type LocalCassandra, localCassandra } from '../../tools/cassandra';
import { freePort } from '../../tools/ports';
import { byNewest, describeStoreContract, readAll } from '../contract/prediction-store.contract';
import { makeRecord, probabilitiesFor } from '../support/records';

const keyspace = `it_${randomBytes(6).toString('hex')}`;
let cassandra: LocalCassandra | undefined;
let admin: Client;
let baseConfig: CassandraConfig;

before(async () => {
  cassandra = await localCassandra();
  baseConfig = readCassandraConfig({
    ...process.env,
    CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
    CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_TIMEOUT_MS: '10000',
  });
  admin = new Client({ contactPoints: baseConfig.contactPoints, localDataCenter: baseConfig.localDataCenter });
  await admin.connect();
});

after(async () => {
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch((err: unknown) => console.error('drop keyspace:', err));
  await admin.shutdown();
  await cassandra?.stop();
});

/** A store on this run's keyspace; `bucketMs` shrinks the time buckets so that a test spans several. */
async function openStore(overrides: Partial<CassandraConfig> = {}, retentionMs = 0): Promise<CassandraStore> {
  const store = createCassandraStore({ ...baseConfig, ...overrides }, { retentionMs });
  await store.init();
  return store;
}

async function emptyTables(): Promise<void> {
  for (const table of TABLES.map((t) => t.name)) {
    await admin.execute(`TRUNCATE ${keyspace}.${table}`);
  }
}

describeStoreContract('CassandraStore (real node)', async (options) => {
  const store = await openStore({}, options?.retentionMs ?? 0);
  await emptyTables();
  return { store, cleanup: () => store.close() };
});

describe('CassandraStore on a real node', () => {
  it("upgrades a keyspace made before visitors: adds visitor_id and the new tables, and serves the old rows as nobody's", async () => {
    const old = `${keyspace}_old`;
    // The old schema: today's, without the visitor column on the record tables and without the visitors' tables.
    const config = { ...baseConfig, keyspace: old };
    for (const statement of schemaStatements(config)) {
      if (/predictions_by_visitor|prediction_images/.test(statement)) continue;
      await admin.execute(statement);
    }
    for (const table of ['predictions_by_time', 'predictions_by_digit', 'predictions_by_id']) {
      await admin.execute(`ALTER TABLE ${old}.${table} DROP visitor_id`);
    }
    for (const table of ['predictions_by_digit', 'predictions_by_visitor']) {
      await admin.execute(`ALTER TABLE ${old}.${table} DROP labelled`).catch(() => undefined);
    }
    const legacy = makeRecord({ digit: 2 });
    const bucket = Math.floor(Date.parse(legacy.createdAt) / config.bucketMs);
    const columns =
      'bucket, id, created_at, filename, digit, confidence, probabilities, model_version, client_ip, image_key, image_sha256, image_type, image_bytes, input_preview';
    const values = [
      bucket,
      legacy.id,
      new Date(legacy.createdAt),
      legacy.filename,
      legacy.digit,
      legacy.confidence,
      legacy.probabilities,
      legacy.modelVersion,
      legacy.clientIp,
      legacy.imageKey,
      legacy.imageSha256,
      legacy.imageType,
      legacy.imageBytes,
      legacy.inputPreview,
    ];
    // Written whole in every table, as the store then wrote a record.
    for (const table of ['predictions_by_time', 'predictions_by_digit']) {
      await admin.execute(`INSERT INTO ${old}.${table} (${columns}) VALUES (${values.map(() => '?').join(', ')})`, values, {
        prepare: true,
      });
    }
    await admin.execute(
      `INSERT INTO ${old}.predictions_by_id (${columns.replace('bucket, ', '')}) VALUES (${values
        .slice(1)
        .map(() => '?')
        .join(', ')})`,
      values.slice(1),
      { prepare: true },
    );
    await admin.execute(`INSERT INTO ${old}.prediction_buckets (scope, bucket) VALUES ('all', ?)`, [bucket], { prepare: true });

    const store = createCassandraStore(config);
    try {
      await store.init();
      assert.deepEqual((await store.list({ limit: 5 })).items, [{ ...legacy, visitorId: '', number: String(legacy.digit), digits: [] }]);
      const mine = makeRecord({ visitorId: 'frank_fffffffffffffffff' });
      await store.save(mine);
      assert.deepEqual((await store.list({ limit: 5, visitorId: mine.visitorId })).items, [mine]);
      assert.deepEqual(await store.get(mine.id), mine);
    } finally {
      await store.close();
      await admin.execute(`DROP KEYSPACE IF EXISTS ${old}`);
    }
  });

  it('pages newest first across time-bucket boundaries and over empty buckets, each record once', async () => {
    // Minute buckets; records 13 s apart for ~6 minutes, some exactly on a bucket's first and last millisecond,
    // and a few days earlier, so that pages start, end and continue in different buckets and skip empty ones.
    const bucketMs = 60_000;
    const store = await openStore({ bucketMs });
    try {
      await emptyTables();
      const base = Math.floor(Date.now() / bucketMs) * bucketMs;
      const times = [
        ...Array.from({ length: 28 }, (_, i) => base - i * 13_000),
        base - 3 * bucketMs, // first millisecond of a bucket
        base - 3 * bucketMs - 1, // last millisecond of the one before
        base - 3 * bucketMs - 1,
        base - 3 * 86_400_000,
        base - 5 * 86_400_000 - 7,
      ];
      const records = times.map((t, i) => makeRecord({ digit: i % 3, createdAt: new Date(t).toISOString() }));
      const buckets = new Set(records.map((r) => store.bucketOf(r.createdAt)));
      assert.ok(buckets.size >= 8, `records span ${buckets.size} buckets`);
      for (const record of records) await store.save(record);

      for (const limit of [1, 4, 7, 100]) {
        const { items, pages } = await readAll(store, limit, undefined, 10_001);
        assert.deepEqual(
          items.map((r) => r.id),
          [...records].sort(byNewest).map((r) => r.id),
          `limit ${limit}`,
        );
        assert.ok(pages <= Math.ceil(records.length / limit) + 1, `limit ${limit}: ${pages} pages, no empty pages in between`);
      }
      for (const digit of [0, 1, 2]) {
        const { items } = await readAll(store, 3, digit, 10_001);
        assert.deepEqual(
          items.map((r) => r.id),
          records
            .filter((r) => r.digit === digit)
            .sort(byNewest)
            .map((r) => r.id),
          `digit ${digit}`,
        );
      }
    } finally {
      await store.close();
    }
  });

  it('keeps all of 1,000 concurrent writes, each readable exactly once', async () => {
    const store = await openStore({ timeoutMs: 60_000 });
    try {
      await emptyTables();
      const records = Array.from({ length: 1000 }, (_, i) =>
        makeRecord({ digit: i % 10, createdAt: new Date(Date.now() - (i % 50)).toISOString() }),
      );
      const started = Date.now();
      await Promise.all(records.map((r) => store.save(r)));
      console.error(`# 1000 concurrent saves took ${Date.now() - started} ms`);

      const { items } = await readAll(store, 100, undefined, 10_001);
      const ids = items.map((r) => r.id);
      assert.equal(ids.length, 1000);
      assert.equal(new Set(ids).size, 1000, 'no record twice');
      assert.deepEqual(new Set(ids), new Set(records.map((r) => r.id)));

      const sevens = await readAll(store, 100, 7, 10_001);
      assert.equal(sevens.items.length, 100);
      assert.ok(sevens.items.every((r) => r.digit === 7));
    } finally {
      await store.close();
    }
  });

  it('reads a record back exactly as written, from the per-digit table too', async () => {
    const store = await openStore();
    try {
      await emptyTables();
      const record = makeRecord({
        digit: 9,
        confidence: 0.987654321012345,
        probabilities: [...probabilitiesFor(9, 0.9).slice(0, 9), 0.1 + Number.EPSILON],
        filename: 'Ziffer ½ – 九 – 🖊️ “neun” ĳ.png',
        imageKey: null,
        clientIp: '::ffff:127.0.0.1',
        imageBytes: 4_718_592,
      });
      await store.save(record);
      assert.deepEqual((await store.list({ limit: 10 })).items, [record]);
      assert.deepEqual((await store.list({ limit: 10, digit: 9 })).items, [record]);
      assert.deepEqual((await store.list({ limit: 10, digit: 8 })).items, []);
    } finally {
      await store.close();
    }
  });

  it('skips a list row whose record is missing, in every list, and removes it', async () => {
    const store = await openStore();
    try {
      await emptyTables();
      const visitor = 'heidi_hhhhhhhhhhhhhhhhh';
      const [kept, halfWritten] = [makeRecord({ digit: 5, visitorId: visitor }), makeRecord({ digit: 5, visitorId: visitor })];
      for (const record of [kept, halfWritten]) await store.save(record);
      // The record gone, its list rows left: what a delete or a label racing another request can leave.
      await admin.execute(`DELETE FROM ${keyspace}.predictions_by_id WHERE id = ?`, [halfWritten.id], { prepare: true });
      for (const query of [{}, { digit: 5 }, { visitorId: visitor }, { visitorId: visitor, digit: 5 }]) {
        assert.deepEqual(
          (await store.list({ limit: 10, ...query })).items.map((r) => r.id),
          [kept.id],
          JSON.stringify(query),
        );
      }
      const listRows = async (): Promise<number> => {
        let count = 0;
        for (const table of ['predictions_by_digit', 'predictions_by_visitor']) {
          const rs = await admin.execute(`SELECT id FROM ${keyspace}.${table}`, [], { prepare: true });
          count += rs.rows.filter((row) => row.get('id') === halfWritten.id).length;
        }
        return count;
      };
      const deadline = Date.now() + 5000;
      while ((await listRows()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await listRows(), 0, 'the orphan list rows are removed');
    } finally {
      await store.close();
    }
  });

  it('rejects a cursor whose position was tampered with, or reused for another digit, with a 400', async () => {
    const store = await openStore();
    try {
      await emptyTables();
      for (let i = 0; i < 5; i++) await store.save(makeRecord({ digit: 4, createdAt: new Date(Date.now() - i).toISOString() }));
      const page = await store.list({ limit: 2 });
      assert.ok(page.nextCursor);
      const state = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString('utf8')) as { t: number };
      assert.ok(Number.isSafeInteger(state.t), 'the cursor carries the last row’s time');
      const tampered = Buffer.from(JSON.stringify({ ...state, t: 'deadbeef' })).toString('base64url');
      await assert.rejects(
        store.list({ limit: 2, cursor: tampered }),
        (err: unknown) => err instanceof HttpError && err.statusCode === 400,
      );
      await assert.rejects(
        store.list({ limit: 2, cursor: page.nextCursor, digit: 4 }),
        (err: unknown) => err instanceof HttpError && err.statusCode === 400,
      );
    } finally {
      await store.close();
    }
  });
});

describe('CassandraStore when the cluster cannot be reached', () => {
  const timeoutMs = 1500;

  async function expectQuick503(store: CassandraStore): Promise<void> {
    for (const attempt of [() => store.save(makeRecord()), () => store.list({ limit: 5 })]) {
      const started = Date.now();
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof ServiceUnavailableError, `a 503, got ${String(err)}`);
        assert.ok(Number(err.headers['Retry-After']) > 0);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed <= timeoutMs + 250, `answered in ${elapsed} ms, within the ${timeoutMs} ms timeout`);
    }
    const started = Date.now();
    assert.equal(await store.ping(), false);
    assert.ok(Date.now() - started <= timeoutMs + 250);
  }

  it('answers 503 within the timeout when nothing listens on the contact point', async () => {
    const port = await freePort();
    const store = createCassandraStore({ ...baseConfig, contactPoints: [`127.0.0.1:${port}`], timeoutMs });
    try {
      await expectQuick503(store);
    } finally {
      await store.close();
    }
  });

  it('answers 503 within the timeout when the contact point accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const store = createCassandraStore({ ...baseConfig, contactPoints: [`127.0.0.1:${port}`], timeoutMs });
    try {
      await expectQuick503(store);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('CassandraStore on tables made before numbers were read', () => {
  const old = `${keyspace}_prenum`;
  const ADDED_COLUMNS = ['number', 'digits'];
  after(async () => {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${old}`).catch((err: unknown) => console.error('drop keyspace:', err));
  });

  it('adds the number and digits columns at start, and reads an old row as its one digit', async () => {
    // The keyspace as the store made it before numbers were read: every table, without the columns added since.
    const ddl = schemaStatements({ keyspace: old, replication: baseConfig.replication }).filter((s) => !s.startsWith('ALTER'));
    for (const statement of ddl) {
      const stripped = ADDED_COLUMNS.reduce((cql, column) => cql.replace(new RegExp(`, ${column} [a-z<>]+`), ''), statement);
      await admin.execute(stripped);
    }
    const before = makeRecord({ digit: 3, createdAt: '2026-11-01T10:00:00.000Z' });
    const columns = columnNames(RECORD_COLUMNS).filter((c) => !ADDED_COLUMNS.includes(c));
    const values = columnValues(RECORD_COLUMNS, before).filter((_, i) => !ADDED_COLUMNS.includes(columnNames(RECORD_COLUMNS)[i] as string));
    const bucket = Math.floor(Date.parse(before.createdAt) / baseConfig.bucketMs);
    const marks = columns.map(() => '?').join(', ');
    for (const table of ['predictions_by_time', 'predictions_by_digit']) {
      await admin.execute(`INSERT INTO ${old}.${table} (bucket, ${columns.join(', ')}) VALUES (?, ${marks})`, [bucket, ...values], {
        prepare: true,
      });
    }
    await admin.execute(`INSERT INTO ${old}.predictions_by_id (${columns.join(', ')}) VALUES (${marks})`, values, { prepare: true });
    for (const scope of ['all', 'digit:3'])
      await admin.execute(`INSERT INTO ${old}.prediction_buckets (scope, bucket) VALUES (?, ?)`, [scope, bucket], { prepare: true });

    const store = await openStore({ keyspace: old });
    try {
      const after = makeRecord({ number: '407', createdAt: '2026-12-02T10:00:00.000Z' });
      await store.save(after);
      assert.deepEqual((await store.list({ limit: 10 })).items, [after, { ...before, number: '3', digits: [] }]);
      assert.deepEqual((await store.list({ limit: 10, digit: 3 })).items, [{ ...before, number: '3', digits: [] }]);
    } finally {
      await store.close();
    }
  });
});
