/**
 * How a record's digits are stored without repeating what the record already holds. The top-level preview and
 * probabilities are the least sure digit's (layers/number-reading.ts): of a single digit, its own. Stored whole
 * they doubled a plain digit's row (two ~400-byte previews, two sets of probabilities); a digit whose preview or
 * probabilities equal the record's is stored without them and given them back on read.
 */
import type { PredictionRecord, StoredDigit } from './prediction-store';

type StoredForm = Omit<StoredDigit, 'inputPreview' | 'probabilities'> & Partial<Pick<StoredDigit, 'inputPreview' | 'probabilities'>>;

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/** The digits as JSON text, each without the preview and probabilities it shares with the record. */
export function compactDigits(record: Pick<PredictionRecord, 'digits' | 'inputPreview' | 'probabilities'>): string {
  const stored = record.digits.map((d): StoredForm => {
    const { inputPreview, probabilities, ...rest } = d;
    return {
      ...rest,
      ...(inputPreview === record.inputPreview ? {} : { inputPreview }),
      ...(sameNumbers(probabilities, record.probabilities) ? {} : { probabilities }),
    };
  });
  return JSON.stringify(stored);
}

/** The digits from their stored JSON (compact or whole), each with its preview and probabilities. */
export function expandDigits(cell: unknown, record: Pick<PredictionRecord, 'inputPreview' | 'probabilities'>): StoredDigit[] {
  if (typeof cell !== 'string' || cell === '') return [];
  return (JSON.parse(cell) as StoredForm[]).map((d) => ({
    ...d,
    inputPreview: d.inputPreview ?? record.inputPreview,
    probabilities: d.probabilities ?? [...record.probabilities],
  }));
}
