/**
 * PredictionStore on Apache Cassandra (a local node, a cluster, or Amazon Keyspaces) through cassandra-driver.
 * The tables are in schema.ts; every statement here is derived from its field-to-column table.
 *
 * A save writes both record tables and the bucket index in one LOGGED batch: either every table gets the
 * record or, after the batch log replays, all do; a reader never sees it in one list and not the other for
 * long. While a node has died and the others have not yet convicted it, a logged batch hangs on its batch log
 * though a quorum is there; then the same statements are also sent unlogged (write-batch.ts).
 *
 * Why a bucket index rather than a configured horizon: a reader walking buckets backwards must know where to
 * stop and which buckets to skip. With the index ("scope" = 'all' or 'digit:N', one row per non-empty
 * bucket, written idempotently with every save) a page costs one index read plus one read per bucket that
 * actually holds records, whatever the gaps between them, and the walk ends exactly at the oldest bucket. A
 * horizon would cost one empty read per empty day back to it, and lose records older than it. The index
 * partitions grow by one row per bucket (365 a year for day buckets): small for decades.
 *
 * Paging uses the driver's pageState inside an opaque cursor (base64url JSON: bucket, pageState, digit).
 * Every statement is prepared; reads and writes use the configured consistency (LOCAL_QUORUM by default).
 * An unreachable or overloaded cluster becomes a ServiceUnavailableError (503, Retry-After) within
 * `timeoutMs`, never a hang (availability.ts); the client reconnects by itself when the cluster is back.
 */
import { type Client, type ClientOptions, errors, types } from 'cassandra-driver';
import { BadRequestError } from '../../errors';
import { log } from '../../log';
import { decodeCursor, encodeCursor } from '../cursor';
import type { ListPage, ListQuery, PredictionRecord, PredictionStore } from '../prediction-store';
import { columnNames, columnValues, recordFromRow } from '../record-columns';
import { nodeLostWithin, runWithinBound } from './availability';
import { acquireClient, buildClientOptions, forgetClient, type SharedClient, shutdownWhenSettled } from './client';
import type { CassandraConfig } from './config';
import { RECORD_COLUMNS } from './schema';
import { DIRECT_WRITE_AFTER_MS, writeBatch } from './write-batch';

const INIT_TIMEOUT_MS = 30_000;
const MAX_PAGE_STATE_CHARS = 2048;

interface CursorState {
  v: 1;
  /** The bucket the next read starts in. */
  b: number;
  /** The driver's pageState within that bucket (hex), or null to start at its newest row. */
  p: string | null;
  /** The digit filter the cursor was issued for, or null. */
  d: number | null;
}

function isCursorState(value: unknown): value is CursorState {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === 1 &&
    Number.isSafeInteger(c.b) &&
    (c.p === null || (typeof c.p === 'string' && c.p.length > 0 && c.p.length <= MAX_PAGE_STATE_CHARS && /^[0-9a-f]+$/.test(c.p))) &&
    (c.d === null || (Number.isInteger(c.d) && (c.d as number) >= 0 && (c.d as number) <= 9))
  );
}

export interface CassandraStoreOptions {
  /** Overrides the client options built from the config (tests). */
  clientOptions?: ClientOptions;
  /** Overrides DIRECT_WRITE_AFTER_MS (tests). */
  directAfterMs?: number;
}

export class CassandraStore implements PredictionStore {
  private readonly config: CassandraConfig;
  private readonly options: ClientOptions;
  private key: string;
  private shared: SharedClient;
  private closed = false;
  private readonly directAfterMs: number;
  private readonly q: Record<
    'insertTime' | 'insertDigit' | 'insertBucket' | 'selectTime' | 'selectDigit' | 'newestBucket' | 'olderBucket' | 'ping',
    string
  >;

  constructor(config: CassandraConfig, storeOptions: CassandraStoreOptions = {}) {
    if (!Number.isInteger(config.bucketMs) || config.bucketMs < 1000)
      throw new Error('bucketMs must be a whole number of milliseconds, at least 1000.');
    this.config = config;
    this.options = storeOptions.clientOptions ?? buildClientOptions(config);
    this.directAfterMs = storeOptions.directAfterMs ?? DIRECT_WRITE_AFTER_MS;
    ({ key: this.key, shared: this.shared } = acquireClient(config, this.options));
    // A failed first connect must not poison the process: forget that client so that the next call builds a
    // fresh one (the cluster may be up by then). The rejection itself is reported by the call that awaits it.
    this.shared.ready.catch(() => this.discardClient(this.shared));

    const ks = config.keyspace;
    const columns = columnNames(RECORD_COLUMNS);
    const cols = columns.join(', ');
    const marks = columns.map(() => '?').join(', ');
    this.q = {
      insertTime: `INSERT INTO ${ks}.predictions_by_time (bucket, ${cols}) VALUES (?, ${marks})`,
      insertDigit: `INSERT INTO ${ks}.predictions_by_digit (bucket, ${cols}) VALUES (?, ${marks})`,
      insertBucket: `INSERT INTO ${ks}.prediction_buckets (scope, bucket) VALUES (?, ?)`,
      selectTime: `SELECT ${cols} FROM ${ks}.predictions_by_time WHERE bucket = ?`,
      selectDigit: `SELECT ${cols} FROM ${ks}.predictions_by_digit WHERE digit = ? AND bucket = ?`,
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

  async save(record: PredictionRecord): Promise<void> {
    const bucket = this.bucketOf(record.createdAt);
    const values = columnValues(RECORD_COLUMNS, record);
    const statements = [
      { query: this.q.insertTime, params: [bucket, ...values] },
      { query: this.q.insertDigit, params: [bucket, ...values] },
      { query: this.q.insertBucket, params: ['all', bucket] },
      { query: this.q.insertBucket, params: [`digit:${record.digit}`, bucket] },
    ];
    await this.run((client) =>
      writeBatch(client, statements, {
        localDataCenter: this.config.localDataCenter,
        directAfterMs: this.directAfterMs,
        nodeLostLately: () => this.nodeLostLately(),
        onDirect: (event, detail) =>
          event === 'sent'
            ? log('warn', 'logged batch replaced by an unlogged write', { reason: detail, id: record.id })
            : log('warn', 'unlogged write failed', { error: detail, id: record.id }),
      }),
    );
  }

  async list(query: ListQuery): Promise<ListPage> {
    const digit = query.digit ?? null;
    let state: CursorState | null = null;
    if (query.cursor !== undefined) {
      state = decodeCursor(query.cursor, isCursorState);
      if (state.d !== digit) {
        throw new BadRequestError('The cursor was issued for another digit filter; pass the same digit with it.', 'invalid_cursor');
      }
    }
    const scope = digit === null ? 'all' : `digit:${digit}`;

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
        const params = digit === null ? [bucket] : [digit, bucket];
        const rs = await this.readPage(client, digit === null ? this.q.selectTime : this.q.selectDigit, params, remaining, pageState);
        for (const row of rs.rows) items.push(toRecord(row));
        pageState = rs.pageState ?? null;

        if (pageState === null) {
          // This bucket is exhausted: continue in the next older one that holds records.
          bucket = await this.bucketAt(client, this.q.olderBucket, [scope, bucket]);
        }
        if (items.length >= query.limit) break;
      }

      const nextCursor = bucket === null ? null : encodeCursor({ v: 1, b: bucket, p: pageState, d: digit } satisfies CursorState);
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

/** The store the service uses; `config` is the configuration's `cassandra` (layers/config.ts). */
export function createCassandraStore(config: CassandraConfig, options: CassandraStoreOptions = {}): CassandraStore {
  return new CassandraStore(config, options);
}
