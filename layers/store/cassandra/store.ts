/**
 * PredictionStore on Apache Cassandra (a local node, a cluster, or Amazon Keyspaces) through cassandra-driver.
 * The tables are in schema.ts, the rows a record puts in them in rows.ts; every statement is derived from those.
 *
 * Each record is written once: whole in predictions_by_id, then its list rows, which hold only keys and
 * the cells their filters need. No logged batch: the record is written first and acknowledged, then the list rows
 * (each its own partition, in one unlogged batch). A list row therefore never exists before its record, and no list shows
 * a half-written record: a page reads its records by id, and a list row whose record is missing (a save that
 * failed after its record, a delete or a label racing) is skipped and removed (readPage). A save that fails
 * between the two steps has stored a record no list shows; the client got a 503 and its retry is a new record.
 * Erasure goes the other way: list rows first, the record last, so that a failure halfway leaves the record
 * reachable by id for the retry to finish.
 *
 * A label (setLabel) rewrites the record's row whole with the label (an upsert with the TTL it has left), then
 * marks its list rows `labelled` and adds its row to predictions_by_labelled.
 *
 * Statistics: the counter cells a save or a label moves (layers/stats/cells.ts) go in one counter batch on one
 * partition (the day), sent beside the record's write, at the same time (counters cannot share a batch with other
 * writes; sending it after would cost /predict a round trip); or, with CASSANDRA_STATS_FLUSH_MS (`npm start`: a
 * second), summed over every prediction of that time and written in one batch (layers/stats/counter-buffer.ts).
 * A failed count is logged and the write still succeeds. Counters are not idempotent, have no TTL, and stay
 * when records are deleted (anonymous aggregates).
 *
 * Why a bucket index rather than a configured horizon: a reader walking buckets backwards must know where to
 * stop and which buckets to skip. With the index ("scope" = 'all', 'digit:N', 'labelled:true', 'visitor:V', one row
 * per non-empty bucket, written idempotently with every save) a page costs one index read plus one read per bucket
 * (and partition) that actually holds records, whatever the gaps between them, and the walk ends exactly at the
 * oldest bucket. A store remembers the index rows it has written, so that only the first save of a scope in a
 * bucket sends its index row.
 *
 * Paging is keyset paging inside an opaque cursor (base64url JSON: the bucket, the last listed row's time and id,
 * and the reader binding of cursor.ts, so that a cursor never continues in another visitor's partitions or under
 * another filter). A position rather than the driver's pageState, because everyone's history merges eleven
 * partitions of a bucket, which no single pageState describes.
 *
 * Retention: with `retentionMs` > 0 every row is written `USING TTL` the time its record has left (retention
 * after createdAt), bucket index rows included (the newest record of a bucket keeps its index row alive), so
 * Cassandra drops expired records itself and a read never returns one.
 * Every statement is prepared; reads and writes use the configured consistency (LOCAL_QUORUM by default).
 * An unreachable or overloaded cluster becomes a ServiceUnavailableError (503, Retry-After) within
 * `timeoutMs`, never a hang (availability.ts); the client reconnects by itself when the cluster is back.
 */
import type { Client, ClientOptions, types } from 'cassandra-driver';
import { BadRequestError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import { predictionCells, refusalCells, relabelCells, type StatCell, type StatMetric, shadowCells } from '#stats/cells';
import { CounterBuffer } from '#stats/counter-buffer';
import { expandDigits } from '../compact-digits';
import { checkBinding, decodeCursor, encodeCursor, hasBinding, type ReaderBinding, readerBinding } from '../cursor';
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
import { columnNames, recordFromRow } from '../record-columns';
import { nodeLostWithin, runWithinBound } from './availability';
import { acquireClient, buildClientOptions, forgetClient, type SharedClient, shutdownWhenSettled } from './client';
import type { CassandraConfig } from './config';
import { joinRecords, type ListedRow, mergePage, type PartitionSource } from './list-page';
import {
  type BatchStatement,
  deleteStatement,
  everyListKey,
  indexRow,
  indexScopes,
  insertStatement,
  listRows,
  type RowKey,
  type RowWrite,
  recordRow,
  restoredSha256,
} from './rows';
import { NUMBER_PARTITION, RECORD_COLUMNS } from './schema';

const INIT_TIMEOUT_MS = 30_000;
/** How many written index rows a store remembers (a visitor adds one a day): forgetting only costs rewrites. */
const MAX_INDEXED_ROWS = 100_000;
/** How many days of statistics are read at once (each one partition of prediction_stats). */
const STATS_READS_AT_ONCE = 16;

interface CursorState extends ReaderBinding {
  v: 3;
  /** The bucket the next read starts in. */
  b: number;
  /** The last listed row's created_at (ms) and id: the next page starts strictly after it. */
  t: number;
  i: string;
}

function isCursorState(value: unknown): value is CursorState {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === 3 &&
    Number.isSafeInteger(c.b) &&
    Number.isSafeInteger(c.t) &&
    typeof c.i === 'string' &&
    /^[0-9A-Za-z-]{1,64}$/.test(c.i) &&
    hasBinding(c)
  );
}

/** What a save sends: the record's row first, then the rest; and the bucket-index rows among them, by `scope|bucket`. */
export interface SaveRows {
  record: RowWrite;
  lists: RowWrite[];
  newIndexRows: string[];
}

/** The seconds a row about something at `ms` has left to live, or null when records are kept forever. */
export function ttlAt(ms: number, retentionMs: number, now = Date.now()): number | null {
  if (retentionMs <= 0) return null;
  // At least one second: an already expired record is written to vanish at once (TTL 0 would mean "keep").
  return Math.max(1, Math.ceil((ms + retentionMs - now) / 1000));
}

/**
 * The rows a save (or, with the label in `record`, a setLabel) sends; index rows only for the scopes not in
 * `indexed`. Pure, so that keyspaces-units.ts prices exactly these (bench/main.ts, test/unit/keyspaces-units.test.ts).
 */
export function saveRows(
  record: PredictionRecord,
  options: { bucketMs: number; retentionMs: number; indexed?: ReadonlySet<string>; now?: number },
): SaveRows {
  const bucket = Math.floor(Date.parse(record.createdAt) / options.bucketMs);
  const ttl = ttlAt(Date.parse(record.createdAt), options.retentionMs, options.now);
  // A bucket's index row lives until the bucket's last possible record expires, whatever order records arrive in.
  const bucketTtl = ttlAt((bucket + 1) * options.bucketMs, options.retentionMs, options.now);
  const newIndexRows = indexScopes(record)
    .map((scope) => `${scope}|${bucket}`)
    .filter((row) => !options.indexed?.has(row));
  const lists = listRows(record, bucket, ttl);
  for (const row of newIndexRows) lists.push(indexRow(row.slice(0, row.lastIndexOf('|')), bucket, bucketTtl));
  return { record: recordRow(record, ttl), lists, newIndexRows };
}

export interface CassandraStoreOptions {
  /** Overrides the client options built from the config (tests). */
  clientOptions?: ClientOptions;
  /** How long a record is kept after its createdAt; 0 (the default) keeps it forever. */
  retentionMs?: number;
}

type QueryName = 'selectId' | 'selectImage' | 'countCell' | 'selectStats' | 'newestBucket' | 'olderBucket' | 'ping';

/** The list tables a page reads, and the columns of a list row its filters look at (every list table has them). */
const LISTED = 'id, created_at, number, digit, labelled, label';

/** Which partitions of which table a query reads, through which index scope, keeping which rows. */
interface ListPlan {
  table: string;
  /** The partition key columns before `bucket`, and each partition's values for them. */
  keyColumns: string[];
  partitions: unknown[][];
  scope: string;
  keep: (row: ListedRow) => boolean;
}

/** The answer a list row lists: its number, or of a row from before numbers its digit. */
function listedNumber(row: ListedRow): string {
  return row.number !== null && row.number !== '' ? row.number : row.digit === null ? '' : String(row.digit);
}

export class CassandraStore implements PredictionStore {
  private readonly config: CassandraConfig;
  private readonly options: ClientOptions;
  private key: string;
  private shared: SharedClient;
  private closed = false;
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
    this.q = {
      selectId: `SELECT ${columnNames(RECORD_COLUMNS).join(', ')} FROM ${ks}.predictions_by_id WHERE id = ?`,
      selectImage: `SELECT id FROM ${ks}.prediction_images WHERE image_key = ? LIMIT 2`,
      countCell: `UPDATE ${ks}.prediction_stats SET value = value + ? WHERE day = ? AND model_version = ? AND metric = ? AND key = ?`,
      selectStats: `SELECT model_version, metric, key, value FROM ${ks}.prediction_stats WHERE day = ?`,
      newestBucket: `SELECT bucket FROM ${ks}.prediction_buckets WHERE scope = ? LIMIT 1`,
      olderBucket: `SELECT bucket FROM ${ks}.prediction_buckets WHERE scope = ? AND bucket < ? LIMIT 1`,
      ping: 'SELECT release_version FROM system.local',
    };
  }

  /**
   * Connects and creates the schema where allowed; call at cold start to take that cost before the first
   * request. Creating a keyspace and its tables takes seconds on a loaded node, so this waits longer than a
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

  async save(record: PredictionRecord, facts: SaveFacts = { uncertain: false }): Promise<void> {
    this.bucketOf(record.createdAt);
    const rows = this.saveRows(record);
    // Sent with the record's write, not after it, or gathered with other predictions' (counter-buffer.ts): the
    // counters cost no round trip of their own. add() never rejects; if the record's write fails, its prediction
    // may still be counted (counters are best-effort).
    const counted = this.counters.add(predictionCells(record, facts.uncertain));
    try {
      await this.writeInOrder(rows);
    } finally {
      await counted;
    }
    this.rememberIndexRows(rows.newIndexRows);
  }

  /** The rows a save of `record` sends now (this store's index rows already written are left out). */
  saveRows(record: PredictionRecord): SaveRows {
    return saveRows(record, { bucketMs: this.config.bucketMs, retentionMs: this.retentionMs, indexed: this.indexed });
  }

  /** A save's statements in the order they are sent: the record, then its list rows (bench/cassandra-write.ts reads them too). */
  saveStatements(record: PredictionRecord): { record: BatchStatement; lists: BatchStatement[] } {
    const rows = this.saveRows(record);
    return { record: this.insert(rows.record), lists: rows.lists.map((row) => this.insert(row)) };
  }

  private insert(row: RowWrite): BatchStatement {
    return insertStatement(this.config.keyspace, row);
  }

  /** The record's row, acknowledged, then every list row at once: a list row never exists before its record. */
  private async writeInOrder(rows: SaveRows): Promise<void> {
    await this.run(async (client) => {
      await this.send(client, [this.insert(rows.record)]);
      await this.send(
        client,
        rows.lists.map((row) => this.insert(row)),
      );
    });
  }

  /**
   * Statements in one request: an UNLOGGED batch (no batch log, each row written once, and once on Keyspaces' bill),
   * whose coordinator sends each partition its row. Upserts and deletes of fixed keys: idempotent, so the driver may
   * retry them. One request rather than one per row: a thousand saves at once stay within the connection's limit
   * of in-flight requests.
   */
  private async send(client: Client, statements: BatchStatement[]): Promise<void> {
    const [only] = statements;
    if (statements.length === 0 || only === undefined) return;
    if (statements.length === 1) await client.execute(only.query, only.params, { prepare: true, isIdempotent: true });
    else await client.batch(statements, { prepare: true, logged: false, isIdempotent: true });
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
   * Rewrites the record's row whole with the label (an upsert of the same key, with the TTL it has left), then marks
   * its list rows labelled and adds it to predictions_by_labelled: in that order, as a save, so that a list never
   * shows the label before its record has it.
   */
  async setLabel(record: PredictionRecord, label: RecordLabel): Promise<void> {
    const rows = this.saveRows({ ...record, label });
    await this.writeInOrder(rows);
    this.rememberIndexRows(rows.newIndexRows);
    // Taken back from the label the caller read: one given meanwhile by someone else is not seen (counters drift by one).
    await this.counters.add(relabelCells(record, label));
  }

  /** Index rows written: later saves in the same buckets skip them. */
  private rememberIndexRows(rows: string[]): void {
    if (this.indexed.size + rows.length > MAX_INDEXED_ROWS) this.indexed.clear();
    for (const row of rows) this.indexed.add(row);
  }

  async get(id: string): Promise<PredictionRecord | null> {
    return this.run((client) => this.readRecord(client, id));
  }

  private async readRecord(client: Client, id: string): Promise<PredictionRecord | null> {
    const row = (await client.execute(this.q.selectId, [id], { prepare: true })).first();
    return row ? toRecord(row) : null;
  }

  /** Every list row first, in every table that may hold one, then the record: a failure halfway leaves it reachable by id. */
  async delete(record: PredictionRecord): Promise<void> {
    const keyspace = this.config.keyspace;
    const lists = everyListKey(record, this.bucketOf(record.createdAt)).map((key) => deleteStatement(keyspace, key));
    await this.run(async (client) => {
      await this.send(client, lists);
      await this.send(client, [deleteStatement(keyspace, { table: 'predictions_by_id', key: { id: record.id } })]);
    });
  }

  async imageReferenced(imageKey: string, exceptId = ''): Promise<boolean> {
    return this.run(async (client) => {
      const rs = await client.execute(this.q.selectImage, [imageKey], { prepare: true });
      // Two rows at most: the excepted record's own, and another.
      return rs.rows.some((row) => row.get('id') !== exceptId);
    });
  }

  /** The table, partitions and filter of a query (see schema.ts for why each). */
  private plan(query: ListQuery): ListPlan {
    const { digit, labelled, visitorId } = query;
    if (visitorId !== undefined) {
      // A visitor's own partition, filtered here: a day of one visitor's predictions is small.
      return {
        table: 'predictions_by_visitor',
        keyColumns: ['visitor_id'],
        partitions: [[visitorId]],
        scope: `visitor:${visitorId}`,
        keep: (row) =>
          (digit === undefined || listedNumber(row) === String(digit)) && (labelled === undefined || row.labelled === labelled),
      };
    }
    if (labelled === true) {
      return { table: 'predictions_by_labelled', keyColumns: ['labelled'], partitions: [[true]], scope: 'labelled:true', keep: () => true };
    }
    if (digit !== undefined) {
      // Rows written before the answer had its own partition filed a number under its least sure digit.
      return {
        table: 'predictions_by_digit',
        keyColumns: ['digit'],
        partitions: [[digit]],
        scope: `digit:${digit}`,
        keep: (row) => listedNumber(row).length <= 1,
      };
    }
    // Everyone's: the eleven answer partitions of each bucket, merged newest first; unlabelled ones are most.
    return {
      table: 'predictions_by_digit',
      keyColumns: ['digit'],
      partitions: Array.from({ length: NUMBER_PARTITION + 1 }, (_, answer) => [answer]),
      scope: 'all',
      keep: (row) => labelled === undefined || row.labelled === labelled,
    };
  }

  async list(query: ListQuery): Promise<ListPage> {
    if (query.digit !== undefined && query.labelled !== undefined) {
      throw new BadRequestError('The digit and labelled filters cannot be combined: use one of them.', 'invalid_labelled');
    }
    let state: CursorState | null = null;
    if (query.cursor !== undefined) {
      state = decodeCursor(query.cursor, isCursorState);
      checkBinding(state, query);
    }
    const plan = this.plan(query);
    const select =
      `SELECT ${LISTED} FROM ${this.config.keyspace}.${plan.table} WHERE ` +
      [...plan.keyColumns, 'bucket'].map((c) => `${c} = ?`).join(' AND ');

    return this.run(async (client) => {
      const partitions = (bucket: number, before: { t: number; i: string } | null): PartitionSource[] =>
        plan.partitions.map((values) => ({
          fetch: (fetchSize, pageState) =>
            client.execute(
              before === null ? select : `${select} AND created_at <= ?`,
              before === null ? [...values, bucket] : [...values, bucket, new Date(before.t)],
              { prepare: true, fetchSize, ...(pageState === undefined ? {} : { pageState }) },
            ),
          key: (row) => ({
            table: plan.table,
            key: { ...Object.fromEntries(plan.keyColumns.map((c, i) => [c, values[i]])), bucket, created_at: row.createdAt, id: row.id },
          }),
        }));
      const page = await mergePage({
        limit: query.limit,
        start: state === null ? null : { bucket: state.b, t: state.t, i: state.i },
        newestBucket: () => this.bucketAt(client, this.q.newestBucket, [plan.scope]),
        olderBucket: (bucket) => this.bucketAt(client, this.q.olderBucket, [plan.scope, bucket]),
        partitions,
        keep: plan.keep,
      });
      const items = await joinRecords(
        page.rows,
        (id) => this.readRecord(client, id),
        (row) => this.removeOrphan(client, row.source),
      );
      const nextCursor =
        page.next === null
          ? null
          : encodeCursor({ v: 3, b: page.next.bucket, t: page.next.t, i: page.next.i, ...readerBinding(query) } satisfies CursorState);
      return { items, nextCursor };
    });
  }

  /**
   * A list row whose record is not there: a save that failed after its record's write never sends list rows, so
   * this is a delete or a label that raced, or a record that expired a second before its list row. Removed in the
   * background (a failure only leaves it for the next reader to skip again).
   */
  private removeOrphan(client: Client, source: RowKey): void {
    const statement = deleteStatement(this.config.keyspace, source);
    client.execute(statement.query, statement.params, { prepare: true, isIdempotent: true }).then(
      () => log('warn', 'list row without its record removed', { table: source.table, id: source.key.id }),
      (error: unknown) => log('warn', 'list row without its record not removed', { table: source.table, ...describeError(error) }),
    );
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
      nodeLostLately: (windowMs) => nodeLostWithin(this.shared, windowMs),
      isClosed: () => this.closed,
    });
  }
}

function toRecord(row: types.Row): PredictionRecord {
  const record = recordFromRow(RECORD_COLUMNS, (column) => row.get(column));
  record.digits = expandDigits(row.get(RECORD_COLUMNS.digits.column), record);
  record.imageSha256 = restoredSha256(record.imageSha256, record.imageKey);
  return record;
}

/** The store the service uses; `config` is the configuration's `cassandra` (layers/config/config.ts). */
export function createCassandraStore(config: CassandraConfig, options: CassandraStoreOptions = {}): CassandraStore {
  return new CassandraStore(config, options);
}
