/**
 * The embedded store: SQLite through better-sqlite3, so a first `npm start` needs no server.
 * Durability: WAL journal with synchronous=FULL, so a record acknowledged by save() survives a crash of the
 * process or of the machine. Paging is keyset paging on (created_at, id), newest first, through indexes that
 * match both queries (all records; one digit), so a page costs the same at any depth.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from './cursor';
import type { ListPage, ListQuery, PredictionRecord, PredictionStore } from './prediction-store';

interface Row {
  id: string;
  created_at: string;
  filename: string;
  digit: number;
  confidence: number;
  probabilities: string;
  model_version: string;
  client_ip: string;
  image_key: string | null;
  image_sha256: string;
  image_type: string;
  image_bytes: number;
  input_preview: string;
}

interface SqliteCursor {
  c: string;
  i: string;
}

function isSqliteCursor(value: unknown): value is SqliteCursor {
  const v = value as Partial<SqliteCursor> | null;
  return typeof v === 'object' && v !== null && typeof v.c === 'string' && typeof v.i === 'string' && Object.keys(v).length === 2;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  filename TEXT NOT NULL,
  digit INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9),
  confidence REAL NOT NULL,
  probabilities TEXT NOT NULL,
  model_version TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  image_key TEXT,
  image_sha256 TEXT NOT NULL,
  image_type TEXT NOT NULL,
  image_bytes INTEGER NOT NULL,
  input_preview TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_by_digit ON predictions (digit, created_at DESC, id DESC);
`;

function toRecord(row: Row): PredictionRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    filename: row.filename,
    digit: row.digit,
    confidence: row.confidence,
    probabilities: JSON.parse(row.probabilities) as number[],
    modelVersion: row.model_version,
    clientIp: row.client_ip,
    imageKey: row.image_key,
    imageSha256: row.image_sha256,
    imageType: row.image_type,
    imageBytes: row.image_bytes,
    inputPreview: row.input_preview,
  };
}

export class SqliteStore implements PredictionStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(`INSERT INTO predictions (id, created_at, filename, digit, confidence, probabilities,
      model_version, client_ip, image_key, image_sha256, image_type, image_bytes, input_preview)
      VALUES (@id, @created_at, @filename, @digit, @confidence, @probabilities, @model_version, @client_ip,
      @image_key, @image_sha256, @image_type, @image_bytes, @input_preview)`);
  }

  async save(record: PredictionRecord): Promise<void> {
    this.insert.run({
      id: record.id,
      created_at: record.createdAt,
      filename: record.filename,
      digit: record.digit,
      confidence: record.confidence,
      probabilities: JSON.stringify(record.probabilities),
      model_version: record.modelVersion,
      client_ip: record.clientIp,
      image_key: record.imageKey,
      image_sha256: record.imageSha256,
      image_type: record.imageType,
      image_bytes: record.imageBytes,
      input_preview: record.inputPreview,
    });
  }

  async list(query: ListQuery): Promise<ListPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, isSqliteCursor);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit + 1 };
    if (query.digit !== undefined) {
      where.push('digit = @digit');
      params.digit = query.digit;
    }
    if (after) {
      where.push('(created_at < @c OR (created_at = @c AND id < @i))');
      params.c = after.c;
      params.i = after.i;
    }
    const sql = `SELECT * FROM predictions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    const page = rows.slice(0, query.limit).map(toRecord);
    const last = page[page.length - 1];
    const nextCursor = rows.length > query.limit && last ? encodeCursor({ c: last.createdAt, i: last.id }) : null;
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
