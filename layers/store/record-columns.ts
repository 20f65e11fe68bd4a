/**
 * The shape of a store's field-to-column table, and the three things every statement is derived from it:
 * the column list, a record's values in that order, and a record read back from a row. Each store declares
 * its own table once (SQLite: sqlite-store.ts, Cassandra: cassandra/schema.ts); a field added to
 * PredictionRecord and missing from a table is a compile error there.
 */
import type { PredictionRecord } from './prediction-store';

type Field = keyof PredictionRecord;

export interface ColumnSpec<F extends Field> {
  /** The column that holds the field. */
  column: string;
  /** The column's declaration in the store's own DDL: its type, and constraints where the store has them. */
  type: string;
  /** The record's value as the store takes it; the value itself when absent. */
  write?: (value: PredictionRecord[F]) => unknown;
  /** The field from what the store gives back for the column. */
  read: (cell: unknown) => PredictionRecord[F];
}

/** One entry per field of PredictionRecord, in the order the columns are listed in every statement. */
export type FieldColumns = { readonly [F in Field]: ColumnSpec<F> };

function fieldsOf(table: FieldColumns): Field[] {
  return Object.keys(table) as Field[];
}

/** The column names, in the table's order. */
export function columnNames(table: FieldColumns): string[] {
  return fieldsOf(table).map((field) => table[field].column);
}

/** The column declarations `name type`, in the table's order. */
export function columnDeclarations(table: FieldColumns): Array<readonly [name: string, type: string]> {
  return fieldsOf(table).map((field) => [table[field].column, table[field].type] as const);
}

function written<F extends Field>(table: FieldColumns, record: PredictionRecord, field: F): unknown {
  const spec: ColumnSpec<F> = table[field];
  return spec.write ? spec.write(record[field]) : record[field];
}

/** The record's values as the store takes them, in the table's order. */
export function columnValues(table: FieldColumns, record: PredictionRecord): unknown[] {
  return fieldsOf(table).map((field) => written(table, record, field));
}

/** The record's values as the store takes them, by column name (for named parameters). */
export function columnValuesByName(table: FieldColumns, record: PredictionRecord): Record<string, unknown> {
  return Object.fromEntries(fieldsOf(table).map((field) => [table[field].column, written(table, record, field)]));
}

/**
 * A record from a row, given how to read one column of it. A row stored before numbers were read has no
 * number: it is its one digit (and no per-digit results, which were not kept then).
 */
export function recordFromRow(table: FieldColumns, cell: (column: string) => unknown): PredictionRecord {
  const record: Partial<Record<Field, unknown>> = {};
  for (const field of fieldsOf(table)) record[field] = table[field].read(cell(table[field].column));
  const read = record as PredictionRecord;
  if (read.number === '') read.number = String(read.digit);
  return read;
}
