/**
 * The rows a record puts in the Cassandra store's tables (schema.ts), as data: which table, which cells, which TTL.
 * The store turns them into statements (insertStatement, deleteStatement) and keyspaces-units.ts prices them, so
 * the write units reported are those of the statements a save really sends.
 *
 * A record is one whole row in predictions_by_id (its digits compact, compact-digits.ts; the upload's SHA-256 only in
 * its key when the key holds it). Every list row holds its keys and what its filters need, no
 * more: the answer's partition in predictions_by_digit, the number in a visitor's row (their digit filter), and
 * `labelled` once a label is given. predictions_by_labelled gets a row only when a label is given.
 */
import { types } from 'cassandra-driver';
import { compactDigits } from '../compact-digits';
import type { PredictionRecord } from '../prediction-store';
import { columnValuesByName } from '../record-columns';
import { NUMBER_PARTITION, RECORD_COLUMNS } from './schema';

export type TableName = string;

/** A CQL statement and its parameters, as the driver's execute() and batch() take them. */
export interface BatchStatement {
  query: string;
  params: unknown[];
}

/** One row written: its table, its cells by column (keys included), and its TTL in seconds (null: none). */
export interface RowWrite {
  table: TableName;
  cells: Record<string, unknown>;
  ttl: number | null;
}

/** One row removed: its table and its primary key's cells. */
export interface RowKey {
  table: TableName;
  key: Record<string, unknown>;
}

/** The partition of predictions_by_digit a record's answer is listed in: its digit, or NUMBER_PARTITION for a number. */
export function answerPartition(record: Pick<PredictionRecord, 'digit' | 'number'>): number {
  return record.number.length > 1 ? NUMBER_PARTITION : record.digit;
}

/** The record's one whole row, its digits stored compactly (compact-digits.ts); no label cell while it has none. */
export function recordRow(record: PredictionRecord, ttl: number | null): RowWrite {
  const cells = columnValuesByName(RECORD_COLUMNS, record);
  cells[RECORD_COLUMNS.digits.column] = compactDigits(record);
  // Not written rather than null: a null in an INSERT is a tombstone every read of the row skips.
  if (cells[RECORD_COLUMNS.label.column] === types.unset) delete cells[RECORD_COLUMNS.label.column];
  // A kept upload's key holds its SHA-256 (layers/uploads-bucket.ts): stored once, 64 bytes a record fewer.
  if (record.imageKey?.includes(`/${record.imageSha256}.`)) cells[RECORD_COLUMNS.imageSha256.column] = '';
  return { table: 'predictions_by_id', cells, ttl };
}

/** The upload's SHA-256 as read back: the stored one, or the one its key holds when it was stored only there. */
export function restoredSha256(stored: string, imageKey: string | null): string {
  if (stored !== '' || imageKey === null) return stored;
  return /\/([0-9a-f]{64})\.[a-z]+$/.exec(imageKey)?.[1] ?? '';
}

/** The record's list rows (as its label has them) and the image row; each keyed by the record's time and id. */
export function listRows(record: PredictionRecord, bucket: number, ttl: number | null): RowWrite[] {
  const at = new Date(record.createdAt);
  const labelled = record.label !== null ? { labelled: true } : {};
  const rows: RowWrite[] = [
    { table: 'predictions_by_digit', cells: { digit: answerPartition(record), bucket, created_at: at, id: record.id, ...labelled }, ttl },
  ];
  if (record.visitorId !== '') {
    rows.push({
      table: 'predictions_by_visitor',
      cells: { visitor_id: record.visitorId, bucket, created_at: at, id: record.id, number: record.number, ...labelled },
      ttl,
    });
  }
  if (record.label !== null) {
    rows.push({ table: 'predictions_by_labelled', cells: { labelled: true, bucket, created_at: at, id: record.id }, ttl });
  }
  if (record.imageKey !== null) rows.push({ table: 'prediction_images', cells: { image_key: record.imageKey, id: record.id }, ttl });
  return rows;
}

/** The bucket-index scopes a record's list rows are found through. */
export function indexScopes(record: PredictionRecord): string[] {
  const scopes = ['all'];
  const answer = answerPartition(record);
  if (answer !== NUMBER_PARTITION) scopes.push(`digit:${answer}`);
  if (record.label !== null) scopes.push('labelled:true');
  if (record.visitorId !== '') scopes.push(`visitor:${record.visitorId}`);
  return scopes;
}

export function indexRow(scope: string, bucket: number, ttl: number | null): RowWrite {
  return { table: 'prediction_buckets', cells: { scope, bucket }, ttl };
}

/**
 * Every list row the record may have, in every table that ever held it: the rows this version writes and those an
 * earlier one wrote (a number under its least sure digit, the `false` labelled partitions, the legacy tables).
 * Erasure removes them all; a row that is not there costs a tombstone.
 */
export function everyListKey(record: PredictionRecord, bucket: number): RowKey[] {
  const at = new Date(record.createdAt);
  const row = { created_at: at, id: record.id };
  const digits = new Set([answerPartition(record), record.digit]);
  const keys: RowKey[] = [...digits].map((digit) => ({ table: 'predictions_by_digit', key: { digit, bucket, ...row } }));
  keys.push({ table: 'predictions_by_time', key: { bucket, ...row } });
  for (const labelled of [true, false]) keys.push({ table: 'predictions_by_labelled', key: { labelled, bucket, ...row } });
  const visitor = record.visitorId;
  if (visitor !== '') {
    keys.push({ table: 'predictions_by_visitor', key: { visitor_id: visitor, bucket, ...row } });
    keys.push({ table: 'predictions_by_visitor_digit', key: { visitor_id: visitor, digit: record.digit, bucket, ...row } });
    for (const labelled of [true, false]) {
      keys.push({ table: 'predictions_by_visitor_labelled', key: { visitor_id: visitor, labelled, bucket, ...row } });
    }
  }
  if (record.imageKey !== null) keys.push({ table: 'prediction_images', key: { image_key: record.imageKey, id: record.id } });
  return keys;
}

export function insertStatement(keyspace: string, row: RowWrite): BatchStatement {
  const columns = Object.keys(row.cells);
  const ttl = row.ttl === null ? '' : ' USING TTL ?';
  return {
    query: `INSERT INTO ${keyspace}.${row.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${ttl}`,
    params: row.ttl === null ? Object.values(row.cells) : [...Object.values(row.cells), row.ttl],
  };
}

export function deleteStatement(keyspace: string, row: RowKey): BatchStatement {
  const columns = Object.keys(row.key);
  return {
    query: `DELETE FROM ${keyspace}.${row.table} WHERE ${columns.map((c) => `${c} = ?`).join(' AND ')}`,
    params: Object.values(row.key),
  };
}
