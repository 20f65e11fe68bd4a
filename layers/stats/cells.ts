/**
 * The statistics as counter cells: what each event (a prediction stored, a picture refused, a label given or
 * replaced) adds to which cell, as pure functions both stores apply (SQLite: a table of aggregates in the
 * record's transaction; Cassandra: a counter table). A cell is (day, model version, metric, key) -> count, the
 * day being the UTC day of the prediction (or refusal), so that a label given later counts where its prediction
 * does and a replaced label can be taken back from the very cells it added to.
 *
 * Counters are not idempotent: a write tried again (a driver retry after a timeout, a client that sends the
 * same picture twice) counts twice. They are anonymous aggregates: deleting a prediction for privacy leaves
 * them as they are, since they name no one and no record.
 */
import type { PredictionRecord, RecordLabel } from '#store/prediction-store';
import type { ShadowOutcome, StatCell } from './cell';

export { SHADOW_OUTCOMES, type ShadowOutcome, STAT_METRICS, type StatCell, type StatMetric } from './cell';

/** The UTC day of an ISO timestamp: YYYY-MM-DD. */
export function dayOf(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** The histogram bin of a confidence: tenths, with 1.0 in the last one. */
export function confidenceBin(confidence: number): number {
  return Math.min(9, Math.max(0, Math.floor(confidence * 10)));
}

/** What storing a prediction adds. `uncertain` is the answer's flag, false when the answer has none. */
export function predictionCells(record: PredictionRecord, uncertain: boolean): StatCell[] {
  const at = { day: dayOf(record.createdAt), modelVersion: record.modelVersion };
  const cells: StatCell[] = [
    { ...at, metric: 'predictions', key: '', value: 1 },
    { ...at, metric: 'confidence_micros', key: '', value: Math.round(record.confidence * 1e6) },
    { ...at, metric: 'digit', key: String(record.digit), value: 1 },
    { ...at, metric: 'confidence_bin', key: String(confidenceBin(record.confidence)), value: 1 },
  ];
  if (uncertain) cells.push({ ...at, metric: 'uncertain', key: '', value: 1 });
  return cells;
}

/** What a refused picture adds: one under its error code, on the day it was refused, for the serving model. */
export function refusalCells(code: string, modelVersion: string, at: string): StatCell[] {
  return [{ day: dayOf(at), modelVersion, metric: 'refusal', key: code, value: 1 }];
}

/** What a shadow reading adds: one under its outcome, on the day of the picture, for the shadow reader's version. */
export function shadowCells(outcome: ShadowOutcome, shadowVersion: string, at: string): StatCell[] {
  return [{ day: dayOf(at), modelVersion: shadowVersion, metric: 'shadow', key: outcome, value: 1 }];
}

/**
 * What `label` on `record` adds (sign 1), or takes back (sign -1, the label it replaces). The confusion cells
 * pair each digit of the label with the digit read at the same position, when the label has as many digits as
 * the number read (a record from before numbers reads as its one digit).
 */
export function labelCells(record: PredictionRecord, label: RecordLabel, sign: 1 | -1): StatCell[] {
  const at = { day: dayOf(record.createdAt), modelVersion: record.modelVersion };
  const read = record.number;
  const cells: StatCell[] = [{ ...at, metric: 'labelled', key: '', value: sign }];
  if (label.number === read) cells.push({ ...at, metric: 'correct', key: '', value: sign });
  if (label.number.length === read.length) {
    for (let i = 0; i < read.length; i += 1) cells.push({ ...at, metric: 'confusion', key: `${label.number[i]}${read[i]}`, value: sign });
  }
  return cells;
}

/** What giving `label` to `record` changes: the new label's cells, less those of the label it replaces. */
export function relabelCells(record: PredictionRecord, label: RecordLabel): StatCell[] {
  return [...(record.label === null ? [] : labelCells(record, record.label, -1)), ...labelCells(record, label, 1)];
}
