/**
 * Amazon Keyspaces write request units per prediction, from the rows the store's save really sends
 * (layers/store/cassandra/keyspaces-units.ts), for a plain digit and a 6-digit number whose previews and boxes come
 * from preprocessing real pictures (examples/). Also what the same prediction cost as saved before each record was written once (every
 * record table written whole, one LOGGED batch), rebuilt from that version's tables, for bench/cost.ts's before/after.
 *
 *   npx tsx bench/write-units.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { preprocessImage } from '../layers/preprocess';
import { saveWriteUnits, writeUnits } from '../layers/store/cassandra/keyspaces-units';
import type { RowWrite } from '../layers/store/cassandra/rows';
import { RECORD_COLUMNS } from '../layers/store/cassandra/schema';
import type { PredictionRecord, StoredDigit } from '../layers/store/prediction-store';
import { columnValuesByName } from '../layers/store/record-columns';
import { ROOT } from '../tools/root';

const DAY_MS = 86_400_000;
/** RETENTION_DAYS' default (layers/config.ts): every row has a TTL. */
export const RETENTION_MS = 30 * DAY_MS;

/** A softmax as the model answers it: float32 values widened to doubles (17 significant digits in JSON). */
function probabilities(digit: number, confidence: number): number[] {
  const rest = Math.fround((1 - confidence) / 9);
  return Array.from({ length: 10 }, (_, i) => (i === digit ? Math.fround(confidence) : rest));
}

/**
 * A record as the service stores it for `picture` (examples/), read as `number`: its digits' previews and boxes
 * from the real preprocessing, the fields of a kept upload (its content key), a visitor's id, no label.
 */
export async function realisticRecord(picture: string, number: string): Promise<PredictionRecord> {
  const image = await preprocessImage(readFileSync(join(ROOT, 'examples', picture)), {});
  const previews = image.digits.map((d) => d.preview);
  const digits: StoredDigit[] = [...number].map((char, i) => {
    const d = Number(char);
    const confidence = 0.93 + i / 100;
    return {
      digit: d,
      confidence: Math.fround(confidence),
      probabilities: probabilities(d, confidence),
      box: image.digits[i % image.digits.length]?.box ?? { x: 0, y: 0, width: 28, height: 28 },
      inputPreview: previews[i % previews.length] ?? '',
    };
  });
  const weakest = digits[0] as StoredDigit;
  const sha = 'c'.repeat(64);
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    filename: picture,
    digit: weakest.digit,
    confidence: weakest.confidence,
    probabilities: weakest.probabilities,
    modelVersion: 'mnist-cnn-2026-12-01',
    clientIp: '203.0.113.0',
    imageKey: `uploads/${sha.slice(0, 2)}/${sha}.${picture.endsWith('.png') ? 'png' : 'jpg'}`,
    imageSha256: sha,
    imageType: picture.endsWith('.png') ? 'image/png' : 'image/jpeg',
    imageBytes: image.width * image.height,
    inputPreview: weakest.inputPreview,
    number,
    digits,
    visitorId: 'Vb3k9QxZ2mT8rLp0aN4wYe',
    label: null,
  };
}

/** The rows the store wrote for `record` before each record was written once (cbc29d7): every record table whole, in one LOGGED batch. */
export function rowsBefore(record: PredictionRecord, bucketMs = DAY_MS): RowWrite[] {
  const cells = columnValuesByName(RECORD_COLUMNS, record);
  cells[RECORD_COLUMNS.digits.column] = JSON.stringify(record.digits);
  delete cells[RECORD_COLUMNS.label.column];
  const bucket = Math.floor(Date.parse(record.createdAt) / bucketMs);
  const ttl = Math.ceil(RETENTION_MS / 1000);
  const rows: RowWrite[] = [
    { table: 'predictions_by_time', cells: { bucket, ...cells }, ttl },
    { table: 'predictions_by_digit', cells: { bucket, ...cells }, ttl },
    { table: 'predictions_by_labelled', cells: { labelled: false, bucket, ...cells }, ttl },
    { table: 'predictions_by_id', cells, ttl },
    { table: 'predictions_by_visitor', cells: { bucket, ...cells }, ttl },
    { table: 'predictions_by_visitor_digit', cells: { bucket, ...cells }, ttl },
    { table: 'predictions_by_visitor_labelled', cells: { labelled: false, bucket, ...cells }, ttl },
  ];
  if (record.imageKey !== null) rows.push({ table: 'prediction_images', cells: { image_key: record.imageKey, id: record.id }, ttl });
  return rows;
}

export interface WriteUnitsFigure {
  what: string;
  /** WRU of a save now: the record's row and its list rows (index rows written once a bucket, left out). */
  now: number;
  /** Its record row's encoded bytes. */
  recordBytes: number;
  /** WRU of the same save before each record was written once (logged batch, every table whole). */
  before: number;
}

export async function writeUnitFigures(): Promise<WriteUnitsFigure[]> {
  const cases: Array<[string, string, string]> = [
    ['plain digit', 'digit-7.png', '7'],
    ['6-digit number', 'number-407.jpg', '407407'],
  ];
  const figures: WriteUnitsFigure[] = [];
  for (const [what, picture, number] of cases) {
    const record = await realisticRecord(picture, number);
    const now = saveWriteUnits(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS });
    figures.push({
      what,
      now: now.total,
      recordBytes: now.rows[0]?.bytes ?? 0,
      before: writeUnits(rowsBefore(record), { logged: true }),
    });
  }
  return figures;
}

/** One line per case, for the bench's report and this script. */
export function writeUnitLines(figures: readonly WriteUnitsFigure[]): string[] {
  return figures.map(
    (f) =>
      `Keyspaces WRU per prediction, ${f.what}: ${f.now} (record row ${f.recordBytes} B; before each record was written once: ${f.before}; statistics counters apart)`,
  );
}

if (process.argv[1]?.endsWith('write-units.ts')) {
  writeUnitFigures().then(
    (figures) => console.log(writeUnitLines(figures).join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
