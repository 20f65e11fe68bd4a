/** Builders for PredictionRecords in tests: valid by default, any field overridable. */
import { randomUUID } from 'node:crypto';
import type { PredictionRecord } from '#store/prediction-store';

const TINY_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

export function probabilitiesFor(digit: number, confidence = 0.91): number[] {
  const rest = (1 - confidence) / 9;
  return Array.from({ length: 10 }, (_, i) => (i === digit ? confidence : rest));
}

export function makeRecord(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  const digit = overrides.digit ?? 7;
  const confidence = overrides.confidence ?? 0.91;
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    filename: 'seven.png',
    digit,
    confidence: 0.91,
    probabilities: probabilitiesFor(digit),
    modelVersion: 'test-model',
    clientIp: '127.0.0.1',
    imageKey: null,
    imageSha256: 'a'.repeat(64),
    imageType: 'image/png',
    imageBytes: 1234,
    inputPreview: TINY_PNG,
    number: String(digit),
    digits: [
      {
        digit,
        confidence,
        probabilities: probabilitiesFor(digit, confidence),
        box: { x: 12, y: 8, width: 40, height: 61 },
        inputPreview: TINY_PNG,
      },
    ],
    visitorId: '',
    label: null,
    ...overrides,
  };
}

/** `count` records one second apart, newest first at `newest`, digits cycling 0..9. */
export function makeTimeline(count: number, newest = Date.now()): PredictionRecord[] {
  return Array.from({ length: count }, (_, i) => makeRecord({ digit: i % 10, createdAt: new Date(newest - i * 1000).toISOString() }));
}
