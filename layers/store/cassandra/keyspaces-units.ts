/**
 * What a write costs on Amazon Keyspaces, from the rows it really sends (rows.ts): each row's encoded size by the
 * rules of the Keyspaces developer guide, "Estimate row size in Amazon Keyspaces" (read December 2026; verify
 * against the page before quoting a bill), and its write request units: one per started KB of each row, twice for a
 * row of a LOGGED batch.
 *
 *   partition key column   its value stored twice, plus 3 bytes of metadata
 *   clustering column      its value stored twice, plus 1 byte of metadata per 5 bytes of value
 *   regular column         its value plus its column identifier (1 byte while a table has at most 62 columns)
 *   text                   UTF-8 bytes;  int: 1 byte per two significant digits, plus 1;  boolean, null: 1 byte
 *   timestamp, double      8 bytes;  list: 3 bytes, plus each element's size and 1 byte per element
 *   every row              100 bytes of row metadata; 8 more when it has a TTL
 */
import type { PredictionRecord } from '../prediction-store';
import type { RowWrite } from './rows';
import { TABLES, type TableSpec } from './schema';
import { type SaveRows, saveRows } from './store';

const KB = 1024;
const ROW_METADATA_BYTES = 100;
const TTL_BYTES = 8;

function intBytes(value: number): number {
  const digits = String(Math.abs(Math.trunc(value)))
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return 1 + Math.ceil(Math.max(1, digits.length) / 2);
}

/** The encoded size of one value of a CQL type. */
export function valueBytes(type: string, value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (type.startsWith('list<')) {
    const element = type.slice(5, -1);
    return 3 + (value as unknown[]).reduce<number>((sum, v) => sum + valueBytes(element, v) + 1, 0);
  }
  switch (type) {
    case 'text':
      return Buffer.byteLength(String(value), 'utf8');
    case 'int':
      return intBytes(value as number);
    case 'boolean':
      return 1;
    case 'timestamp':
    case 'double':
    case 'counter':
      return 8;
    default:
      throw new Error(`No Keyspaces size rule for the CQL type ${type}.`);
  }
}

function tableSpec(name: string): TableSpec {
  const spec = TABLES.find((t) => t.name === name);
  if (spec === undefined) throw new Error(`No table ${name} in TABLES.`);
  return spec;
}

/** The encoded size of the row a write puts, in bytes. */
export function rowBytes(row: RowWrite): number {
  const spec = tableSpec(row.table);
  const types = new Map(spec.columns);
  const idBytes = Math.ceil(spec.columns.length / 62);
  let bytes = ROW_METADATA_BYTES + (row.ttl === null ? 0 : TTL_BYTES);
  for (const [column, value] of Object.entries(row.cells)) {
    const type = types.get(column);
    if (type === undefined) throw new Error(`No column ${column} in ${row.table}.`);
    const size = valueBytes(type, value);
    if (spec.partitionKey.includes(column)) bytes += 2 * size + 3;
    else if (spec.clusteringDesc.includes(column)) bytes += 2 * size + Math.ceil(size / 5);
    else bytes += idBytes + size;
  }
  return bytes;
}

/** Write request units of rows sent on their own or unlogged (one per started KB of each), or in a LOGGED batch (twice that). */
export function writeUnits(rows: readonly RowWrite[], options: { logged: boolean } = { logged: false }): number {
  const once = rows.reduce((sum, row) => sum + Math.ceil(rowBytes(row) / KB), 0);
  return options.logged ? 2 * once : once;
}

export interface SaveUnits {
  /** Each row a save sends, in order, with its encoded size and units. */
  rows: Array<{ table: string; bytes: number; units: number }>;
  total: number;
}

function priced(rows: readonly RowWrite[]): SaveUnits {
  const each = rows.map((row) => ({ table: row.table, bytes: rowBytes(row), units: writeUnits([row]) }));
  return { rows: each, total: each.reduce((sum, r) => sum + r.units, 0) };
}

/**
 * The write units of saving `record` as the store does (saveRows): the record's row and its list rows, with the
 * bucket-index rows only when `firstOfBucket` (a store writes each index row once a bucket). The statistics'
 * counters are priced apart (bench/cost.ts): they are summed over a second's predictions before being written.
 */
export function saveWriteUnits(
  record: PredictionRecord,
  options: { bucketMs: number; retentionMs: number; firstOfBucket?: boolean },
): SaveUnits {
  const rows: SaveRows = saveRows(record, { bucketMs: options.bucketMs, retentionMs: options.retentionMs });
  const lists = options.firstOfBucket ? rows.lists : rows.lists.filter((row) => row.table !== 'prediction_buckets');
  return priced([rows.record, ...lists]);
}
