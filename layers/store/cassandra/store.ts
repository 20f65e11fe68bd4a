/**
 * PredictionStore on Apache Cassandra (a local node, a cluster, or Amazon Keyspaces) through cassandra-driver.
 * The tables are in schema.ts; every statement here is derived from its field-to-column table.
 *
 * A save writes every record table and the bucket index in one LOGGED batch: either every table gets the
 * record or, after the batch log replays, all do; a reader never sees it in one list and not the other for
 * long. While a node has died and the others have not yet convicted it, a logged batch hangs on its batch log
 * though a quorum is there; then the same statements are also sent unlogged (write-batch.ts).
 *
 * A label (setLabel) rewrites the record's rows whole, with the label, in the same kind of batch, and moves the
 * record from the labelled tables' `false` partitions to their `true` ones. Rewriting whole rows (rather than
 * UPDATE label) gives each the TTL the record has left with one statement shape per table.
 *
 * Statistics: the counter cells a save or a label moves (layers/stats/cells.ts) go in one counter batch on one
 * partition (the day), sent beside the record's batch, at the same time (counters cannot share a batch with other
 * writes; sending it after would cost /predict a round trip); or, with CASSANDRA_STATS_FLUSH_MS (`npm start`: a
 * second), summed over every prediction of that time and written in one batch (layers/stats/counter-buffer.ts).
 * A failed count is logged and the write still succeeds. Counters are not idempotent, have no TTL, and stay
 * when records are deleted (anonymous aggregates).
 *
 * Why a bucket index rather than a configured horizon: a reader walking buckets backwards must know where to
 * stop and which buckets to skip. With the index ("scope" = 'all', 'digit:N', 'labelled:B', ..., one row per non-empty
 * bucket, written idempotently with every save) a page costs one index read plus one read per bucket that
 * actually holds records, whatever the gaps between them, and the walk ends exactly at the oldest bucket. A
 * horizon would cost one empty read per empty day back to it, and lose records older than it. The index
 * partitions grow by one row per bucket (365 a year for day buckets): small for decades. A store remembers the
 * index rows it has written, so that only the first save of a scope in a bucket sends its index row.
 *
 * Paging uses the driver's pageState inside an opaque cursor (base64url JSON: bucket, pageState, digit, and a
 * fingerprint of the visitor it was issued to, so that a cursor never continues in another visitor's partitions).
 *
 * Retention: with `retentionMs` > 0 every row is written `USING TTL` the time its record has left (retention
 * after createdAt), bucket index rows included (the newest record of a bucket keeps its index row alive), so
 * Cassandra drops expired records itself and a read never returns one. A delete removes the record's row from
 * every record table in one batch, as a save writes them; the bucket index is left to its TTL (an index row of
 * an emptied bucket costs a reader one empty read).
 * Every statement is prepared; reads and writes use the configured consistency (LOCAL_QUORUM by default).
 * An unreachable or overloaded cluster becomes a ServiceUnavailableError (503, Retry-After) within
 * `timeoutMs`, never a hang (availability.ts); the client reconnects by itself when the cluster is back.
 */
import { createHash } from 'node:crypto';
import { type Client, type ClientOptions, errors, types } from 'cassandra-driver';
import { BadRequestError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import { predictionCells, refusalCells, relabelCells, type StatCell, type StatMetric, shadowCells } from '#stats/cells';
import { CounterBuffer } from '#stats/counter-buffer';
import { decodeCursor, encodeCursor } from '../cursor';
import type {
  ListPage,
  ListQuery,
  PredictionRecord,
  PredictionStore,
  RecordLabel,
  Refusal,
  SaveFacts,
  ShadowReading,
} from '../prediction-store';
import { columnNames, columnValues, recordFromRow } from '../record-columns';
import { nodeLostWithin, runWithinBound } from './availability';
import { acquireClient, buildClientOptions, forgetClient, type SharedClient, shutdownWhenSettled } from './client';
import type { CassandraConfig } from './config';
import { RECORD_COLUMNS } from './schema';
import { type BatchStatement, DIRECT_WRITE_AFTER_MS, writeBatch } from './write-batch';

const INIT_TIMEOUT_MS = 30_000;
/** How many written index rows a store remembers (a visitor adds two a day): forgetting only costs rewrites. */
const MAX_INDEXED_ROWS = 100_000;
const MAX_PAGE_STATE_CHARS = 2048;
/** How many days of statistics are read at once (each one partition of prediction_stats). */
const STATS_READS_AT_ONCE = 16;

interface CursorState {
  v: 2;
  /** The bucket the next read starts in. */
  b: number;
  /** The driver's pageState within that bucket (hex), or null to start at its newest row. */
  p: string | null;
  /** The digit filter the cursor was issued for, or null. */
  d: number | null;
  /** A fingerprint of the visitor the cursor was issued to, or null for everyone's history. */
  o: string | null;
  /** The labelled filter the cursor was issued for; absent (cursors from before labels) or null for none. */
  l?: boolean | null;
}

/** 16 hex digits of SHA-256 of the visitor id: tells cursors apart without putting the id in them. */
function ownerPrint(visitorId: string | undefined): string | null {
  return visitorId === undefined ? null : createHash('sha256').update(visitorId).digest('hex').slice(0, 16);
}

function isCursorState(value: unknown): value is CursorState {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === 2 &&
    (c.o === null || (typeof c.o === 'string' && /^[0-9a-f]{16}$/.test(c.o))) &&
    Number.isSafeInteger(c.b) &&
    (c.p === null || (typeof c.p === 'string' && c.p.length > 0 && c.p.length <= MAX_PAGE_STATE_CHARS && /^[0-9a-f]+$/.test(c.p))) &&
    (c.d === null || (Number.isInteger(c.d) && (c.d as number) >= 0 && (c.d as number) <= 9)) &&
    (c.l === undefined || c.l === null || typeof c.l === 'boolean')
  );
}

export interface CassandraStoreOptions {
  /** Overrides the client options built from the config (tests). */
  clientOptions?: ClientOptions;
  /** Overrides DIRECT_WRITE_AFTER_MS (tests). */
  directAfterMs?: number;
  /** How long a record is kept after its createdAt; 0 (the default) keeps it forever. */
  retentionMs?: number;
}

type QueryName =
  | 'insertTime'
  | 'insertDigit'
  | 'insertVisitor'
  | 'insertVisitorDigit'
  | 'insertLabelled'
  | 'insertVisitorLabelled'
  | 'insertId'
  | 'insertImage'
  | 'insertBucket'
  | 'selectTime'
  | 'selectDigit'
  | 'selectVisitor'
  | 'selectVisitorDigit'
  | 'selectLabelled'
  | 'selectVisitorLabelled'
  | 'selectId'
  | 'selectImage'
  | 'deleteTime'
  | 'deleteDigit'
  | 'deleteVisitor'
  | 'deleteVisitorDigit'
  | 'deleteLabelled'
  | 'deleteVisitorLabelled'
  | 'deleteId'
  | 'deleteImage'
  | 'countCell'
  | 'selectStats'
  | 'newestBucket'
  | 'olderBucket'
  | 'ping';

export class CassandraStore implements PredictionStore {
  private readonly config: CassandraConfig;
  private readonly options: ClientOptions;
  private key: string;
  private shared: SharedClient;
  private closed = false;
  private readonly directAfterMs: number;
  private readonly retentionMs: number;
  private readonly q: Record<QueryName, string>;
  /** Bucket index rows (`scope|bucket`) this store has written: the next save in the same bucket skips them. */
  private readonly indexed = new Set<string>();
  /** The statistics' counter updates, written at once or gathered (CASSANDRA_STATS_FLUSH_MS, counter-buffer.ts). */
  private readonly counters: CounterBuffer;

  constructor(config: CassandraConfig, storeOptions: CassandraStoreOptions = {}) {
    if (!Number.isInteger(config.bucketMs) || config.bucketMs < 1000)
      throw new Error('bucketMs must be a whole number of milliseconds, at least 1000.');
    this.config = config;
    this.options = storeOptions.clientOptions ?? buildClientOptions(config);
    this.directAfterMs = storeOptions.directAfterMs ?? DIRECT_WRITE_AFTER_MS;
    this.retentionMs = storeOptions.retentionMs ?? 0;
    ({ key: this.key, shared: this.shared } = acquireClient(config, this.options));
    // A failed first connect must not poison the process: forget that client so that the next call builds a
    // fresh one (the cluster may be up by then). The rejection itself is reported by the call that awaits it.
    this.shared.ready.catch(() => this.discardClient(this.shared));
    this.counters = new CounterBuffer({
      write: (cells) => this.writeCounters(cells),
      flushAfterMs: config.statsFlushMs ?? 0,
      onError: (error, cells) => log('warn', 'statistics not counted', { cells: cells.length, ...describeError(error) }),
    });

    const ks = config.keyspace;
    const columns = columnNames(RECORD_COLUMNS);
    const cols = columns.join(', ');
    const marks = columns.map(() => '?').join(', ');
    // The TTL is bound as the last parameter of every insert when records expire.
    const ttl = this.retentionMs > 0 ? ' USING TTL ?' : '';
    const row = 'created_at = ? AND id = ?';
    this.q = {
      insertTime: `INSERT INTO ${ks}.predictions_by_time (bucket, ${cols}) VALUES (?, ${marks})${ttl}`,
      insertDigit: `INSERT INTO ${ks}.predictions_by_digit (bucket, ${cols}) VALUES (?, ${marks})${ttl}`,
      insertVisitor: `INSERT INTO ${ks}.predictions_by_visitor (bucket, ${cols}) VALUES (?, ${marks})${ttl}`,
      insertVisitorDigit: `INSERT INTO ${ks}.predictions_by_visitor_digit (bucket, ${cols}) VALUES (?, ${marks})${ttl}`,
      insertLabelled: `INSERT INTO ${ks}.predictions_by_labelled (labelled, bucket, ${cols}) VALUES (?, ?, ${marks})${ttl}`,
      insertVisitorLabelled: `INSERT INTO ${ks}.predictions_by_visitor_labelled (labelled, bucket, ${cols}) VALUES (?, ?, ${marks})${ttl}`,
      insertId: `INSERT INTO ${ks}.predictions_by_id (${cols}) VALUES (${marks})${ttl}`,
      insertImage: `INSERT INTO ${ks}.prediction_images (image_key, id) VALUES (?, ?)${ttl}`,
      insertBucket: `INSERT INTO ${ks}.prediction_buckets (scope, bucket) VALUES (?, ?)${ttl}`,
      selectTime: `SELECT ${cols} FROM ${ks}.predictions_by_time WHERE bucket = ?`,
      selectDigit: `SELECT ${cols} FROM ${ks}.predictions_by_digit WHERE digit = ? AND bucket = ?`,
      selectVisitor: `SELECT ${cols} FROM ${ks}.predictions_by_visitor WHERE visitor_id = ? AND bucket = ?`,
      selectVisitorDigit: `SELECT ${cols} FROM ${ks}.predictions_by_visitor_digit WHERE visitor_id = ? AND digit = ? AND bucket = ?`,
      selectLabelled: `SELECT ${cols} FROM ${ks}.predictions_by_labelled WHERE labelled = ? AND bucket = ?`,
      selectVisitorLabelled: `SELECT ${cols} FROM ${ks}.predictions_by_visitor_labelled WHERE visitor_id = ? AND labelled = ? AND bucket = ?`,
      selectId: `SELECT ${cols} FROM ${ks}.predictions_by_id WHERE id = ?`,
      selectImage: `SELECT id FROM ${ks}.prediction_images WHERE image_key = ? LIMIT 2`,
      deleteTime: `DELETE FROM ${ks}.predictions_by_time WHERE bucket = ? AND ${row}`,
      deleteDigit: `DELETE FROM ${ks}.predictions_by_digit WHERE digit = ? AND bucket = ? AND ${row}`,
      deleteVisitor: `DELETE FROM ${ks}.predictions_by_visitor WHERE visitor_id = ? AND bucket = ? AND ${row}`,
      deleteVisitorDigit: `DELETE FROM ${ks}.predictions_by_visitor_digit WHERE visitor_id = ? AND digit = ? AND bucket = ? AND ${row}`,
      deleteLabelled: `DELETE FROM ${ks}.predictions_by_labelled WHERE labelled = ? AND bucket = ? AND ${row}`,
      deleteVisitorLabelled: `DELETE FROM ${ks}.predictions_by_visitor_labelled WHERE visitor_id = ? AND labelled = ? AND bucket = ? AND ${row}`,
      deleteId: `DELETE FROM ${ks}.predictions_by_id WHERE id = ?`,
      deleteImage: `DELETE FROM ${ks}.prediction_images WHERE image_key = ? AND id = ?`,
      countCell: `UPDATE ${ks}.prediction_stats SET value = value + ? WHERE day = ? AND model_version = ? AND metric = ? AND key = ?`,
      selectStats: `SELECT model_version, metric, key, value FROM ${ks}.prediction_stats WHERE day = ?`,
      newestBucket: `SELECT bucket FROM ${ks}.prediction_buckets WHERE scope = ? LIMIT 1`,
      olderBucket: `SELECT bucket FROM ${ks}.prediction_buckets WHERE scope = ? AND bucket < ? LIMIT 1`,
      ping: 'SELECT release_version FROM system.local',
    };
  }

  /**
   * Connects and creates the schema where allowed; call at cold start to take that cost before the first
   * request. Creating a keyspace and three tables takes seconds on a loaded node, so this waits longer than a
   * request would (requests arriving meanwhile get a 503 after `timeoutMs`).
   */
  async init(): Promise<void> {
    await this.run(async () => undefined, Math.max(this.config.timeoutMs, INIT_TIMEOUT_MS));
  }

  bucketOf(createdAt: string): number {
    const ms = Date.parse(createdAt);
    if (Number.isNaN(ms)) throw new Error(`createdAt ${JSON.stringify(createdAt)} is not an ISO 8601 date.`);
    return Math.floor(ms / this.config.bucketMs);
  }

  /** The seconds a row about something at `ms` has left to live, or null when records are kept forever. */
  private ttlAt(ms: number): number | null {
    if (this.retentionMs <= 0) return null;
    // At least one second: an already expired record is written to vanish at once (TTL 0 would mean "keep").
    return Math.max(1, Math.ceil((ms + this.retentionMs - Date.now()) / 1000));
  }

  async save(record: PredictionRecord, facts: SaveFacts = { uncertain: false }): Promise<void> {
    const { statements, newIndexRows } = this.saveStatements(record);
    // Sent with the record's batch, not after it, or gathered with other predictions' (counter-buffer.ts): the
    // counters cost no round trip of their own. add() never rejects; if the record's write fails, its prediction
    // may still be counted (counters are best-effort).
    const counted = this.counters.add(predictionCells(record, facts.uncertain));
    try {
      await this.writeAll(statements, record.id);
    } finally {
      await counted;
    }
    this.rememberIndexRows(newIndexRows);
  }

  /** A record's rows in every table, and the bucket-index rows this store has not written yet (bench/cassandra-write.ts reads them too). */
  saveStatements(record: PredictionRecord): { statements: BatchStatement[]; newIndexRows: string[] } {
    const { statements, scopes, bucket } = this.recordRows(record);
    if (record.imageKey !== null) {
      statements.push({ query: this.q.insertImage, params: this.withTtl(record, [record.imageKey, record.id]) });
    }
    return { statements, newIndexRows: this.addIndexRows(statements, scopes, bucket) };
  }

  /**
   * Adds the cells (one day's: the buffer groups them) in one counter batch on that day's partition. Counter
   * writes are not idempotent, so the driver does not retry one that timed out (it may have applied): a lost
   * count rather than a double one. The buffer logs a failure and drops the cells.
   */
  private async writeCounters(cells: StatCell[]): Promise<void> {
    if (cells.length === 0) return;
    const statements = this.counterStatements(cells);
    await this.run((client) => client.batch(statements, { prepare: true, counter: true, logged: false }));
  }

  /** The counter updates of `cells`, one statement each (bench/cassandra-write.ts reads them too). */
  counterStatements(cells: readonly StatCell[]): BatchStatement[] {
    return cells.map((c) => ({ query: this.q.countCell, params: [c.value, c.day, c.modelVersion, c.metric, c.key] }));
  }

  async countRefusal(refusal: Refusal): Promise<void> {
    await this.counters.add(refusalCells(refusal.code, refusal.modelVersion, refusal.at));
  }

  async countShadow(reading: ShadowReading): Promise<void> {
    await this.counters.add(shadowCells(reading.outcome, reading.shadowVersion, reading.at));
  }

  async readStats(days: readonly string[]): Promise<StatCell[]> {
    // What this process still holds is written first: its own counts are in the answer.
    await this.counters.flush();
    return this.run(async (client) => {
      const cells: StatCell[] = [];
      // One partition a day, a few at a time: a year is 366 small reads, not one scan.
      for (let i = 0; i < days.length; i += STATS_READS_AT_ONCE) {
        const pages = await Promise.all(
          days.slice(i, i + STATS_READS_AT_ONCE).map(async (day) => {
            const rs = await client.execute(this.q.selectStats, [day], { prepare: true, fetchSize: 5000 });
            return rs.rows.map(
              (row): StatCell => ({
                day,
                modelVersion: row.get('model_version') as string,
                metric: row.get('metric') as StatMetric,
                key: row.get('key') as string,
                value: (row.get('value') as types.Long).toNumber(),
              }),
            );
          }),
        );
        for (const page of pages) cells.push(...page);
      }
      return cells;
    });
  }

  /**
   * Rewrites the record's rows whole with the label (an upsert of the same keys, with the TTL it has left), and
   * moves it from the labelled tables' `false` partitions to their `true` ones; a replaced label only rewrites.
   * Sent like a save, in one batch: every table shows the new label, or (batch log replayed) all do.
   */
  async setLabel(record: PredictionRecord, label: RecordLabel): Promise<void> {
    const { statements, scopes, bucket } = this.recordRows({ ...record, label });
    if (record.label === null) {
      const at = new Date(record.createdAt);
      statements.push({ query: this.q.deleteLabelled, params: [false, bucket, at, record.id] });
      if (record.visitorId !== '') {
        statements.push({ query: this.q.deleteVisitorLabelled, params: [record.visitorId, false, bucket, at, record.id] });
      }
    }
    const newIndexRows = this.addIndexRows(statements, scopes, bucket);
    await this.writeAll(statements, record.id);
    this.rememberIndexRows(newIndexRows);
    // Taken back from the label the caller read: one given meanwhile by someone else is not seen (counters drift by one).
    await this.counters.add(relabelCells(record, label));
  }

  /** The parameters with the record's remaining TTL appended, when records expire. */
  private withTtl(record: PredictionRecord, params: unknown[]): unknown[] {
    const ttl = this.ttlAt(Date.parse(record.createdAt));
    return ttl === null ? params : [...params, ttl];
  }

  /** The record's row in every record table (by its label: the labelled tables' true or false partition), and its index scopes. */
  private recordRows(record: PredictionRecord): { statements: BatchStatement[]; scopes: string[]; bucket: number } {
    const bucket = this.bucketOf(record.createdAt);
    const values = columnValues(RECORD_COLUMNS, record);
    const withTtl = (params: unknown[]): unknown[] => this.withTtl(record, params);
    const visitor = record.visitorId;
    const labelled = record.label !== null;
    const statements: BatchStatement[] = [
      { query: this.q.insertTime, params: withTtl([bucket, ...values]) },
      { query: this.q.insertDigit, params: withTtl([bucket, ...values]) },
      { query: this.q.insertLabelled, params: withTtl([labelled, bucket, ...values]) },
      { query: this.q.insertId, params: withTtl(values) },
    ];
    const scopes = ['all', `digit:${record.digit}`, `labelled:${labelled}`];
    // Nobody's records ('' visitor: the invoke port, tools) are in no visitor's partitions.
    if (visitor !== '') {
      statements.push(
        { query: this.q.insertVisitor, params: withTtl([bucket, ...values]) },
        { query: this.q.insertVisitorDigit, params: withTtl([bucket, ...values]) },
        { query: this.q.insertVisitorLabelled, params: withTtl([labelled, bucket, ...values]) },
      );
      scopes.push(`visitor:${visitor}`, `visitor:${visitor}:digit:${record.digit}`, `visitor:${visitor}:labelled:${labelled}`);
    }
    return { statements, scopes, bucket };
  }

  /**
   * Appends the bucket index rows of `scopes` this store has not written yet, and names them. A bucket's index row
   * lives until the bucket's last possible record expires, whatever order records arrive in, so one this store has
   * written already needs no rewrite: a save then sends only its record's rows.
   */
  private addIndexRows(statements: BatchStatement[], scopes: string[], bucket: number): string[] {
    const bucketTtl = this.ttlAt((bucket + 1) * this.config.bucketMs);
    const newIndexRows = scopes.map((scope) => `${scope}|${bucket}`).filter((row) => !this.indexed.has(row));
    for (const row of newIndexRows) {
      const scope = row.slice(0, row.lastIndexOf('|'));
      statements.push({ query: this.q.insertBucket, params: bucketTtl === null ? [scope, bucket] : [scope, bucket, bucketTtl] });
    }
    return newIndexRows;
  }

  /** Index rows written: later saves in the same buckets skip them. */
  private rememberIndexRows(rows: string[]): void {
    if (this.indexed.size + rows.length > MAX_INDEXED_ROWS) this.indexed.clear();
    for (const row of rows) this.indexed.add(row);
  }

  async get(id: string): Promise<PredictionRecord | null> {
    return this.run(async (client) => {
      const row = (await client.execute(this.q.selectId, [id], { prepare: true })).first();
      return row ? toRecord(row) : null;
    });
  }

  async delete(record: PredictionRecord): Promise<void> {
    const bucket = this.bucketOf(record.createdAt);
    const at = new Date(record.createdAt);
    const statements: BatchStatement[] = [
      { query: this.q.deleteTime, params: [bucket, at, record.id] },
      { query: this.q.deleteDigit, params: [record.digit, bucket, at, record.id] },
      { query: this.q.deleteId, params: [record.id] },
    ];
    // Both labelled partitions: a label given since the caller read the record has moved it to `true`.
    for (const labelled of [false, true]) statements.push({ query: this.q.deleteLabelled, params: [labelled, bucket, at, record.id] });
    if (record.visitorId !== '') {
      statements.push(
        { query: this.q.deleteVisitor, params: [record.visitorId, bucket, at, record.id] },
        { query: this.q.deleteVisitorDigit, params: [record.visitorId, record.digit, bucket, at, record.id] },
      );
      for (const labelled of [false, true]) {
        statements.push({ query: this.q.deleteVisitorLabelled, params: [record.visitorId, labelled, bucket, at, record.id] });
      }
    }
    if (record.imageKey !== null) statements.push({ query: this.q.deleteImage, params: [record.imageKey, record.id] });
    await this.writeAll(statements, record.id);
  }

  async imageReferenced(imageKey: string, exceptId = ''): Promise<boolean> {
    return this.run(async (client) => {
      const rs = await client.execute(this.q.selectImage, [imageKey], { prepare: true });
      // Two rows at most: the excepted record's own, and another.
      return rs.rows.some((row) => row.get('id') !== exceptId);
    });
  }

  /** One record's statements, atomically (write-batch.ts). */
  private async writeAll(statements: BatchStatement[], id: string): Promise<void> {
    await this.run((client) =>
      writeBatch(client, statements, {
        localDataCenter: this.config.localDataCenter,
        directAfterMs: this.directAfterMs,
        nodeLostLately: () => this.nodeLostLately(),
        onDirect: (event, detail) =>
          event === 'sent'
            ? log('warn', 'logged batch replaced by an unlogged write', { reason: detail, id })
            : log('warn', 'unlogged write failed', { error: detail, id }),
      }),
    );
  }

  async list(query: ListQuery): Promise<ListPage> {
    const digit = query.digit ?? null;
    const labelled = query.labelled ?? null;
    if (digit !== null && labelled !== null) {
      throw new BadRequestError('The digit and labelled filters cannot be combined: use one of them.', 'invalid_labelled');
    }
    const visitor = query.visitorId;
    const owner = ownerPrint(visitor);
    let state: CursorState | null = null;
    if (query.cursor !== undefined) {
      state = decodeCursor(query.cursor, isCursorState);
      if (state.d !== digit) {
        throw new BadRequestError('The cursor was issued for another digit filter; pass the same digit with it.', 'invalid_cursor');
      }
      if ((state.l ?? null) !== labelled) {
        throw new BadRequestError('The cursor was issued for another labelled filter; pass the same one with it.', 'invalid_cursor');
      }
      if (state.o !== owner) {
        throw new BadRequestError(
          'The cursor was issued for another reader; page with the cursors your own requests got.',
          'invalid_cursor',
        );
      }
    }
    // The table and partition of this query, and its scope in the bucket index.
    const [select, partition, scope]: [string, unknown[], string] =
      visitor === undefined
        ? labelled !== null
          ? [this.q.selectLabelled, [labelled], `labelled:${labelled}`]
          : digit === null
            ? [this.q.selectTime, [], 'all']
            : [this.q.selectDigit, [digit], `digit:${digit}`]
        : labelled !== null
          ? [this.q.selectVisitorLabelled, [visitor, labelled], `visitor:${visitor}:labelled:${labelled}`]
          : digit === null
            ? [this.q.selectVisitor, [visitor], `visitor:${visitor}`]
            : [this.q.selectVisitorDigit, [visitor, digit], `visitor:${visitor}:digit:${digit}`];

    return this.run(async (client) => {
      const items: PredictionRecord[] = [];
      let bucket: number | null;
      let pageState: string | null = null;
      if (state === null) {
        bucket = await this.bucketAt(client, this.q.newestBucket, [scope]);
      } else {
        bucket = state.b;
        pageState = state.p;
      }

      while (bucket !== null) {
        const remaining = query.limit - items.length;
        const rs = await this.readPage(client, select, [...partition, bucket], remaining, pageState);
        for (const row of rs.rows) items.push(toRecord(row));
        pageState = rs.pageState ?? null;

        if (pageState === null) {
          // This bucket is exhausted: continue in the next older one that holds records.
          bucket = await this.bucketAt(client, this.q.olderBucket, [scope, bucket]);
        }
        if (items.length >= query.limit) break;
      }

      const nextCursor =
        bucket === null ? null : encodeCursor({ v: 2, b: bucket, p: pageState, d: digit, o: owner, l: labelled } satisfies CursorState);
      return { items, nextCursor };
    });
  }

  async ping(): Promise<boolean> {
    try {
      await this.run((client) => client.execute(this.q.ping, [], { prepare: true }));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.counters.flush();
    this.closed = true;
    const shared = this.shared;
    shared.users -= 1;
    if (shared.users <= 0) {
      forgetClient(this.key, shared);
      await shutdownWhenSettled(shared);
    }
  }

  private async bucketAt(client: Client, query: string, params: unknown[]): Promise<number | null> {
    const rs = await client.execute(query, params, { prepare: true });
    const row = rs.first();
    return row ? (row.get('bucket') as number) : null;
  }

  private async readPage(
    client: Client,
    query: string,
    params: unknown[],
    fetchSize: number,
    pageState: string | null,
  ): Promise<types.ResultSet> {
    try {
      return await client.execute(query, params, {
        prepare: true,
        fetchSize,
        ...(pageState !== null ? { pageState } : {}),
      });
    } catch (err: unknown) {
      // A paging state the server cannot use came from a tampered or foreign cursor: the client's error.
      if (
        pageState !== null &&
        err instanceof errors.ResponseError &&
        (err.code === types.responseErrorCodes.invalid || err.code === types.responseErrorCodes.protocolError)
      ) {
        throw new BadRequestError('The cursor is not one this service issued; pass back nextCursor as it was given.', 'invalid_cursor');
      }
      throw err;
    }
  }

  /** Whether the driver reported a host down within `windowMs`. */
  private nodeLostLately(windowMs?: number): boolean {
    return nodeLostWithin(this.shared, windowMs);
  }

  private discardClient(shared: SharedClient): void {
    forgetClient(this.key, shared);
    void shutdownWhenSettled(shared);
  }

  /**
   * A client that has connected. If its connect failed, this call fails (a 503 through run()) and the store
   * swaps its lease for a fresh client, so that the next call connects anew: the cluster may be up by then.
   */
  private async connected(): Promise<Client> {
    if (this.closed) throw new Error('The CassandraStore is closed.');
    const shared = this.shared;
    try {
      await shared.ready;
      return shared.client;
    } catch (err: unknown) {
      if (this.shared === shared && !this.closed) {
        shared.users -= 1;
        ({ key: this.key, shared: this.shared } = acquireClient(this.config, this.options));
        const next = this.shared;
        next.ready.catch(() => this.discardClient(next));
      }
      throw err;
    }
  }

  /** One store operation within its bound, tried again while the driver finds no host (availability.ts). */
  private run<T>(operation: (client: Client) => Promise<T>, timeoutMs = this.config.timeoutMs): Promise<T> {
    return runWithinBound({
      timeoutMs,
      connected: () => this.connected(),
      operation,
      nodeLostLately: (windowMs) => this.nodeLostLately(windowMs),
      isClosed: () => this.closed,
    });
  }
}

function toRecord(row: types.Row): PredictionRecord {
  return recordFromRow(RECORD_COLUMNS, (column) => row.get(column));
}

/** The store the service uses; `config` is the configuration's `cassandra` (layers/config/config.ts). */
export function createCassandraStore(config: CassandraConfig, options: CassandraStoreOptions = {}): CassandraStore {
  return new CassandraStore(config, options);
}
