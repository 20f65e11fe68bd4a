/**
 * The embedded store: SQLite through better-sqlite3, so a first `npm start` needs no server.
 * Durability: WAL journal with synchronous=FULL, so a record acknowledged by save() survives a crash of the
 * process or of the machine. Paging is keyset paging on (created_at, id), newest first, through indexes that
 * match every query (all records; one digit, whose answers are that digit alone; one visitor's; one visitor's of
 * one digit; labelled or not, on `label IS NOT NULL`, everyone's or one visitor's), so a page costs the same at any
 * depth. A cursor is bound to the reader and filters it was issued for (cursor.ts), as the Cassandra store's is.
 * Retention: a record older than the retention is never read (every query bounds created_at from below), and
 * expired rows are deleted when the store opens and at most once an hour while it writes. Statistics: a table of
 * counter cells added to in the same transaction as the record or label they count (STATS_SCHEMA).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BadRequestError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import { predictionCells, refusalCells, relabelCells, type StatCell, type StatMetric, shadowCells } from '#stats/cells';
import { checkBinding, decodeCursor, encodeCursor, hasBinding, type ReaderBinding, readerBinding } from '../cursor';
import type {
  ListPage,
  ListQuery,
  PredictionRecord,
  PredictionStore,
  RecordLabel,
  Refusal,
  RetentionOptions,
  SaveFacts,
  ShadowReading,
} from '../prediction-store';
import { columnDeclarations, columnNames, columnValuesByName, type FieldColumns, recordFromRow } from '../record-columns';

/** The last listed row's created_at and id, bound to the query it was issued for (cursor.ts), as Cassandra's is. */
interface SqliteCursor extends ReaderBinding {
  c: string;
  i: string;
}

function isSqliteCursor(value: unknown): value is SqliteCursor {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.c === 'string' &&
    typeof v.i === 'string' &&
    Object.keys(v).length === 5 &&
    hasBinding(v)
  );
}

type Row = Record<string, unknown>;

const text = (cell: unknown): string => cell as string;
const numeric = (cell: unknown): number => cell as number;

/** Where each field of a record lives in the predictions table; the schema and every statement derive from it. */
const COLUMNS: FieldColumns = {
  id: { column: 'id', type: 'TEXT PRIMARY KEY', read: text },
  createdAt: { column: 'created_at', type: 'TEXT NOT NULL', read: text },
  filename: { column: 'filename', type: 'TEXT NOT NULL', read: text },
  digit: { column: 'digit', type: 'INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9)', read: numeric },
  confidence: { column: 'confidence', type: 'REAL NOT NULL', read: numeric },
  probabilities: {
    column: 'probabilities',
    type: 'TEXT NOT NULL',
    write: (value) => JSON.stringify(value),
    read: (cell) => JSON.parse(cell as string) as number[],
  },
  modelVersion: { column: 'model_version', type: 'TEXT NOT NULL', read: text },
  clientIp: { column: 'client_ip', type: 'TEXT NOT NULL', read: text },
  imageKey: { column: 'image_key', type: 'TEXT', read: (cell) => cell as string | null },
  imageSha256: { column: 'image_sha256', type: 'TEXT NOT NULL', read: text },
  imageType: { column: 'image_type', type: 'TEXT NOT NULL', read: text },
  imageBytes: { column: 'image_bytes', type: 'INTEGER NOT NULL', read: numeric },
  inputPreview: { column: 'input_preview', type: 'TEXT NOT NULL', read: text },
  // A default, so that a database made before visitors existed gains the column (their records are nobody's).
  visitorId: { column: 'visitor_id', type: "TEXT NOT NULL DEFAULT ''", read: text },
  // A number's digits; nullable, as columns added to an existing table must be (rows from before).
  number: { column: 'number', type: 'TEXT', read: (cell) => (cell as string | null) ?? '' },
  digits: {
    column: 'digits',
    type: 'TEXT',
    write: (value) => JSON.stringify(value),
    read: (cell) => (typeof cell === 'string' ? (JSON.parse(cell) as PredictionRecord['digits']) : []),
  },
  // The label a person gave, as JSON; NULL while there is none (and on rows from before labels).
  label: {
    column: 'label',
    type: 'TEXT',
    write: (value) => (value === null ? null : JSON.stringify(value)),
    read: (cell) => (typeof cell === 'string' ? (JSON.parse(cell) as RecordLabel) : null),
  },
};

const COLUMN_LIST = columnNames(COLUMNS).join(', ');

/**
 * The statistics' counter cells (layers/stats/cells.ts), added to in the transaction that writes what they
 * count. Not idempotent (a save tried again counts twice), and kept when records are deleted or expire: they are
 * anonymous aggregates.
 */
const STATS_SCHEMA = `
CREATE TABLE IF NOT EXISTS prediction_stats (
  day TEXT NOT NULL,
  model_version TEXT NOT NULL,
  metric TEXT NOT NULL,
  key TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (day, model_version, metric, key)
) WITHOUT ROWID;
`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  ${columnDeclarations(COLUMNS)
    .map(([name, type]) => `${name} ${type}`)
    .join(',\n  ')}
);
CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_by_digit ON predictions (digit, created_at DESC, id DESC);
`;

/** Created after any missing column is added (an older database has no visitor_id until then). */
const INDEXES = `
CREATE INDEX IF NOT EXISTS predictions_by_visitor ON predictions (visitor_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_by_visitor_digit ON predictions (visitor_id, digit, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_by_image ON predictions (image_key) WHERE image_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS predictions_by_labelled ON predictions ((label IS NOT NULL), created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_by_visitor_labelled ON predictions (visitor_id, (label IS NOT NULL), created_at DESC, id DESC);
`;

/** How often a writing store deletes expired rows (reads never see them meanwhile). */
const PURGE_EVERY_MS = 3_600_000;

const INSERT = `INSERT INTO predictions (${COLUMN_LIST}) VALUES (${columnNames(COLUMNS)
  .map((name) => `@${name}`)
  .join(', ')})`;

export class SqliteStore implements PredictionStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly count: Database.Statement;
  private readonly retentionMs: number;
  private lastPurge = 0;

  constructor(path: string, options: RetentionOptions = { retentionMs: 0 }) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.retentionMs = options.retentionMs;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.addMissingColumns();
    this.db.exec(INDEXES);
    this.db.exec(STATS_SCHEMA);
    this.insert = this.db.prepare(INSERT);
    this.count = this.db.prepare(
      `INSERT INTO prediction_stats (day, model_version, metric, key, value) VALUES (@day, @modelVersion, @metric, @key, @value)
       ON CONFLICT (day, model_version, metric, key) DO UPDATE SET value = value + excluded.value`,
    );
    this.purgeExpired();
  }

  /** Columns of the table that a database made by an older version lacks (each has a default). */
  private addMissingColumns(): void {
    const present = new Set((this.db.prepare('PRAGMA table_info(predictions)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const [name, type] of columnDeclarations(COLUMNS)) {
      if (!present.has(name)) this.db.exec(`ALTER TABLE predictions ADD COLUMN ${name} ${type}`);
    }
  }

  /** The oldest createdAt still kept, or '' when records are kept forever (every ISO date is >= ''). */
  private cutoff(): string {
    return this.retentionMs > 0 ? new Date(Date.now() - this.retentionMs).toISOString() : '';
  }

  private purgeExpired(): void {
    this.lastPurge = Date.now();
    if (this.retentionMs > 0) this.db.prepare('DELETE FROM predictions WHERE created_at < ?').run(this.cutoff());
  }

  /** Adds the cells; a failure is logged and leaves the rest of the transaction alone (a statement's error undoes only it). */
  private countCells(cells: StatCell[], id: string): void {
    try {
      for (const cell of cells) this.count.run(cell);
    } catch (error: unknown) {
      log('warn', 'statistics not counted', { id, ...describeError(error) });
    }
  }

  async save(record: PredictionRecord, facts: SaveFacts = { uncertain: false }): Promise<void> {
    this.db.transaction(() => {
      this.insert.run(columnValuesByName(COLUMNS, record));
      this.countCells(predictionCells(record, facts.uncertain), record.id);
    })();
    if (Date.now() - this.lastPurge > PURGE_EVERY_MS) this.purgeExpired();
  }

  async setLabel(record: PredictionRecord, label: RecordLabel): Promise<void> {
    this.db.transaction(() => {
      // The label the row holds now, which may be newer than the one the caller read: that is the one replaced.
      const row = this.db.prepare('SELECT label FROM predictions WHERE id = ?').get(record.id) as { label: string | null } | undefined;
      if (row === undefined) return;
      this.db.prepare('UPDATE predictions SET label = ? WHERE id = ?').run(JSON.stringify(label), record.id);
      const current = COLUMNS.label.read(row.label);
      this.countCells(relabelCells({ ...record, label: current }, label), record.id);
    })();
  }

  async countRefusal(refusal: Refusal): Promise<void> {
    for (const cell of refusalCells(refusal.code, refusal.modelVersion, refusal.at)) this.count.run(cell);
  }

  async countShadow(reading: ShadowReading): Promise<void> {
    for (const cell of shadowCells(reading.outcome, reading.shadowVersion, reading.at)) this.count.run(cell);
  }

  async readStats(days: readonly string[]): Promise<StatCell[]> {
    if (days.length === 0) return [];
    const sorted = [...days].sort();
    const rows = this.db
      .prepare('SELECT day, model_version, metric, key, value FROM prediction_stats WHERE day BETWEEN ? AND ?')
      .all(sorted[0], sorted[sorted.length - 1]) as Array<{
      day: string;
      model_version: string;
      metric: StatMetric;
      key: string;
      value: number;
    }>;
    const wanted = new Set(days);
    return rows
      .filter((row) => wanted.has(row.day))
      .map((row) => ({ day: row.day, modelVersion: row.model_version, metric: row.metric, key: row.key, value: row.value }));
  }

  async get(id: string): Promise<PredictionRecord | null> {
    const row = this.db.prepare(`SELECT ${COLUMN_LIST} FROM predictions WHERE id = ? AND created_at >= ?`).get(id, this.cutoff()) as
      | Row
      | undefined;
    return row ? recordFromRow(COLUMNS, (column) => row[column]) : null;
  }

  async delete(record: PredictionRecord): Promise<void> {
    this.db.prepare('DELETE FROM predictions WHERE id = ?').run(record.id);
  }

  async imageReferenced(imageKey: string, exceptId = ''): Promise<boolean> {
    const sql = 'SELECT 1 FROM predictions WHERE image_key = ? AND id != ? AND created_at >= ? LIMIT 1';
    return this.db.prepare(sql).get(imageKey, exceptId, this.cutoff()) !== undefined;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, isSqliteCursor);
    if (after) checkBinding(after, query);
    const where: string[] = ['created_at >= @cutoff'];
    const params: Record<string, unknown> = { limit: query.limit + 1, cutoff: this.cutoff() };
    if (query.visitorId !== undefined) {
      where.push('visitor_id = @visitor');
      params.visitor = query.visitorId;
    }
    if (query.digit !== undefined) {
      // The predictions whose answer is this digit: a number's top-level digit is only its least sure one.
      where.push('digit = @digit AND (number IS NULL OR length(number) <= 1)');
      params.digit = query.digit;
    }
    if (query.labelled !== undefined) {
      // Refused as the Cassandra store refuses it (no table serves both), so that both answer the same.
      if (query.digit !== undefined) {
        throw new BadRequestError('The digit and labelled filters cannot be combined: use one of them.', 'invalid_labelled');
      }
      // The very expression the labelled indexes are built on, so that the planner uses them.
      where.push('(label IS NOT NULL) = @labelled');
      params.labelled = query.labelled ? 1 : 0;
    }
    if (after) {
      where.push('(created_at < @c OR (created_at = @c AND id < @i))');
      params.c = after.c;
      params.i = after.i;
    }
    const sql = `SELECT ${COLUMN_LIST} FROM predictions WHERE ${where.join(' AND ')}
      ORDER BY created_at DESC, id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    const page = rows.slice(0, query.limit).map((row) => recordFromRow(COLUMNS, (column) => row[column]));
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor({ c: last.createdAt, i: last.id, ...readerBinding(query) } satisfies SqliteCursor)
        : null;
    return { items: page, nextCursor };
  }

  async ping(): Promise<boolean> {
    try {
      return this.db.prepare('SELECT 1 AS ok').get() !== undefined;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
