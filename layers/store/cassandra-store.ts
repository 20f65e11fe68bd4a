/**
 * PredictionStore on Apache Cassandra (a local node, a cluster, or Amazon Keyspaces) through cassandra-driver.
 *
 * Data layout, one table per query, partitions bounded by a time bucket (one day by default):
 *   predictions_by_time   ((bucket), created_at DESC, id DESC)          history, newest first
 *   predictions_by_digit  ((digit, bucket), created_at DESC, id DESC)   history of one digit, newest first
 *   prediction_buckets    ((scope), bucket DESC)                        which buckets hold records
 * A save writes both tables and the bucket index in one LOGGED batch: either every table gets the record or,
 * after the batch log replays, all do; a reader never sees it in one list and not the other for long.
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
 * `timeoutMs`, never a hang; the client reconnects by itself when the cluster is back.
 */
import { Client, errors, types, type ClientOptions } from 'cassandra-driver';
import { BadRequestError, ServiceUnavailableError } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';
import { buildClientOptions, replicationCql, type CassandraConfig } from './cassandra-config';
import type { ListPage, ListQuery, PredictionRecord, PredictionStore } from './prediction-store';

const RETRY_AFTER_SECONDS = 5;
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

const COLUMNS = [
  'created_at',
  'id',
  'filename',
  'digit',
  'confidence',
  'probabilities',
  'model_version',
  'client_ip',
  'image_key',
  'image_sha256',
  'image_type',
  'image_bytes',
  'input_preview',
] as const;

const COLUMN_TYPES = `
  created_at timestamp,
  id text,
  filename text,
  digit int,
  confidence double,
  probabilities list<double>,
  model_version text,
  client_ip text,
  image_key text,
  image_sha256 text,
  image_type text,
  image_bytes int,
  input_preview text`;

/** The DDL of the store, also mirrored by resources/keyspaces.yml for Amazon Keyspaces. */
export function schemaStatements(config: Pick<CassandraConfig, 'keyspace' | 'replication'>): string[] {
  const ks = config.keyspace;
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(config.replication)}`,
    `CREATE TABLE IF NOT EXISTS ${ks}.predictions_by_time (
       bucket int,${COLUMN_TYPES},
       PRIMARY KEY ((bucket), created_at, id)
     ) WITH CLUSTERING ORDER BY (created_at DESC, id DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.predictions_by_digit (
       bucket int,${COLUMN_TYPES},
       PRIMARY KEY ((digit, bucket), created_at, id)
     ) WITH CLUSTERING ORDER BY (created_at DESC, id DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.prediction_buckets (
       scope text,
       bucket int,
       PRIMARY KEY ((scope), bucket)
     ) WITH CLUSTERING ORDER BY (bucket DESC)`,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// One long-lived Client per process and configuration, shared by every store built from it.

interface SharedClient {
  client: Client;
  ready: Promise<void>;
  users: number;
}

const clients = new Map<string, SharedClient>();

function clientKey(config: CassandraConfig): string {
  return JSON.stringify([config.contactPoints, config.localDataCenter, config.keyspace, config.consistency, config.timeoutMs, config.keyspacesRegion, config.auth?.kind ?? null]);
}

function acquireClient(config: CassandraConfig, options: ClientOptions): { key: string; shared: SharedClient } {
  const key = clientKey(config);
  let shared = clients.get(key);
  if (!shared) {
    const client = new Client(options);
    shared = { client, ready: connectAndPrepareSchema(client, config), users: 0 };
    clients.set(key, shared);
  }
  shared.users += 1;
  return { key, shared };
}

async function connectAndPrepareSchema(client: Client, config: CassandraConfig): Promise<void> {
  await client.connect();
  if (config.createSchema) {
    // DDL cannot be bound; the names in it were validated by readCassandraConfig.
    for (const statement of schemaStatements(config)) await client.execute(statement);
  }
}

/**
 * Shuts a client down once its connect has settled. cassandra-driver ignores a shutdown() that arrives while
 * it is still connecting, and the connection it then opens keeps a heartbeat timer running for ever.
 */
async function shutdownWhenSettled(shared: SharedClient): Promise<void> {
  await shared.ready.catch(() => {});
  await shared.client.shutdown().catch(() => {});
}

// ---------------------------------------------------------------------------------------------------------

export interface CassandraStoreOptions {
  /** Overrides the client options built from the config (tests). */
  clientOptions?: ClientOptions;
}

export class CassandraStore implements PredictionStore {
  private readonly config: CassandraConfig;
  private readonly options: ClientOptions;
  private key: string;
  private shared: SharedClient;
  private closed = false;
  private readonly q: Record<'insertTime' | 'insertDigit' | 'insertBucket' | 'selectTime' | 'selectDigit' | 'newestBucket' | 'olderBucket' | 'ping', string>;

  constructor(config: CassandraConfig, storeOptions: CassandraStoreOptions = {}) {
    if (!Number.isInteger(config.bucketMs) || config.bucketMs < 1000) throw new Error('bucketMs must be a whole number of milliseconds, at least 1000');
    this.config = config;
    this.options = storeOptions.clientOptions ?? buildClientOptions(config);
    ({ key: this.key, shared: this.shared } = acquireClient(config, this.options));
    // A failed first connect must not poison the process: forget that client so that the next call builds a
    // fresh one (the cluster may be up by then). The rejection itself is reported by the call that awaits it.
    this.shared.ready.catch(() => this.discardClient(this.shared));

    const ks = config.keyspace;
    const cols = COLUMNS.join(', ');
    const marks = COLUMNS.map(() => '?').join(', ');
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

  /** Connects, creates the schema where allowed; call at cold start to take that cost before the first request. */
  async init(): Promise<void> {
    await this.run(async () => undefined);
  }

  bucketOf(createdAt: string): number {
    const ms = Date.parse(createdAt);
    if (Number.isNaN(ms)) throw new Error(`createdAt ${JSON.stringify(createdAt)} is not an ISO 8601 date`);
    return Math.floor(ms / this.config.bucketMs);
  }

  async save(record: PredictionRecord): Promise<void> {
    const bucket = this.bucketOf(record.createdAt);
    const values = [
      new Date(record.createdAt),
      record.id,
      record.filename,
      record.digit,
      record.confidence,
      record.probabilities,
      record.modelVersion,
      record.clientIp,
      record.imageKey,
      record.imageSha256,
      record.imageType,
      record.imageBytes,
      record.inputPreview,
    ];
    await this.run((client) =>
      client.batch(
        [
          { query: this.q.insertTime, params: [bucket, ...values] },
          { query: this.q.insertDigit, params: [bucket, ...values] },
          { query: this.q.insertBucket, params: ['all', bucket] },
          { query: this.q.insertBucket, params: [`digit:${record.digit}`, bucket] },
        ],
        { prepare: true, logged: true },
      ),
    );
  }

  async list(query: ListQuery): Promise<ListPage> {
    const digit = query.digit ?? null;
    let state: CursorState | null = null;
    if (query.cursor !== undefined) {
      state = decodeCursor(query.cursor, isCursorState);
      if (state.d !== digit) {
        throw new BadRequestError('cursor was issued for another digit filter; pass the same digit with it.', 'invalid_cursor');
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
      if (clients.get(this.key) === shared) clients.delete(this.key);
      await shutdownWhenSettled(shared);
    }
  }

  private async bucketAt(client: Client, query: string, params: unknown[]): Promise<number | null> {
    const rs = await client.execute(query, params, { prepare: true });
    const row = rs.first();
    return row ? (row.get('bucket') as number) : null;
  }

  private async readPage(client: Client, query: string, params: unknown[], fetchSize: number, pageState: string | null): Promise<types.ResultSet> {
    try {
      return await client.execute(query, params, {
        prepare: true,
        fetchSize,
        ...(pageState !== null ? { pageState } : {}),
      });
    } catch (err: unknown) {
      // A paging state the server cannot use came from a tampered or foreign cursor: the client's error.
      if (pageState !== null && err instanceof errors.ResponseError && (err.code === types.responseErrorCodes.invalid || err.code === types.responseErrorCodes.protocolError)) {
        throw new BadRequestError('cursor is not a cursor this service issued; pass back nextCursor as it was given.', 'invalid_cursor');
      }
      throw err;
    }
  }

  private discardClient(shared: SharedClient): void {
    if (clients.get(this.key) === shared) clients.delete(this.key);
    void shutdownWhenSettled(shared);
  }

  /**
   * A client that has connected. If its connect failed, this call fails (a 503 through run()) and the store
   * swaps its lease for a fresh client, so that the next call connects anew: the cluster may be up by then.
   */
  private async connected(): Promise<Client> {
    if (this.closed) throw new Error('CassandraStore is closed');
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

  /**
   * Runs one store operation within `timeoutMs` (connecting included), turning the cluster's "cannot answer
   * now" errors into a 503. The driver's own timeouts and single retry fit inside this bound; the bound
   * guarantees the answer even if they do not.
   */
  private async run<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeoutError(this.config.timeoutMs)), this.config.timeoutMs);
    });
    try {
      return await Promise.race([this.connected().then(operation), deadline]);
    } catch (err: unknown) {
      throw toStoreError(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer from Cassandra within ${ms} ms`);
  }
}

const UNAVAILABLE_CODES = new Set<number>([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.readFailure,
  types.responseErrorCodes.writeFailure,
  types.responseErrorCodes.truncateError,
]);

/** Errors meaning "the cluster cannot answer now" become a 503 with Retry-After; anything else stays as it is. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof BadRequestError || err instanceof ServiceUnavailableError) return err;
  const unavailable =
    err instanceof StoreTimeoutError ||
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError ||
    (err instanceof errors.ResponseError && UNAVAILABLE_CODES.has(err.code));
  if (!unavailable) return err;
  const store = new ServiceUnavailableError('The prediction store is not answering right now; retry shortly.', RETRY_AFTER_SECONDS, 'store_unavailable');
  (store as Error & { cause?: unknown }).cause = err;
  return store;
}

function toRecord(row: types.Row): PredictionRecord {
  return {
    id: row.get('id') as string,
    createdAt: (row.get('created_at') as Date).toISOString(),
    filename: (row.get('filename') as string | null) ?? '',
    digit: row.get('digit') as number,
    confidence: row.get('confidence') as number,
    probabilities: (row.get('probabilities') as number[] | null) ?? [],
    modelVersion: (row.get('model_version') as string | null) ?? '',
    clientIp: (row.get('client_ip') as string | null) ?? '',
    imageKey: (row.get('image_key') as string | null) ?? null,
    imageSha256: (row.get('image_sha256') as string | null) ?? '',
    imageType: (row.get('image_type') as string | null) ?? '',
    imageBytes: row.get('image_bytes') as number,
    inputPreview: (row.get('input_preview') as string | null) ?? '',
  };
}

/** The store the service uses; `config` comes from readCassandraConfig(process.env). */
export function createCassandraStore(config: CassandraConfig, options: CassandraStoreOptions = {}): CassandraStore {
  return new CassandraStore(config, options);
}
