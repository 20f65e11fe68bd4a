/**
 * The reader's contract (layers/reader/contract.ts): how the heads decode into a number with its probabilities
 * or a refusal, and the letterbox every input goes through (size, scale, centring, ink 1 on paper 0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BLANK,
  decodeHeads,
  fittedSize,
  LENGTH_CLASSES,
  letterbox,
  MAX_DIGITS,
  POSITION_CLASSES,
  READER_HEIGHT,
  READER_PIXELS,
  READER_WIDTH,
} from '../../layers/reader/contract';

/** A position head's probabilities: `p` on `digit`, the rest spread over the other classes. */
function head(digit: number, p: number): number[] {
  return Array.from({ length: POSITION_CLASSES }, (_, c) => (c === digit ? p : (1 - p) / (POSITION_CLASSES - 1)));
}

function lengths(length: number, p: number): number[] {
  return Array.from({ length: LENGTH_CLASSES }, (_, c) => (c === length ? p : (1 - p) / (LENGTH_CLASSES - 1)));
}

describe('decodeHeads', () => {
  it('reads the most likely length, then that many positions, and multiplies the probabilities', () => {
    const positions = [head(4, 0.9), head(0, 0.8), head(7, 0.6), head(BLANK, 0.9), head(BLANK, 0.9), head(BLANK, 0.9)];
    const reading = decodeHeads(lengths(3, 0.7), positions);
    assert.ok(!('refused' in reading));
    assert.equal(reading.number, '407');
    const digitP = (p: number): number => p / (p + (9 * (1 - p)) / 10);
    assert.ok(Math.abs(reading.probability - 0.7 * digitP(0.9) * digitP(0.8) * digitP(0.6)) < 1e-9);
    assert.equal(reading.digits.length, 3);
    assert.ok(Math.abs((reading.digits[1]?.probabilities.reduce((a, b) => a + b, 0) ?? 0) - 1) < 1e-9);
  });

  it('never reads the blank class as a digit inside the length', () => {
    const positions = [head(BLANK, 0.6), ...Array.from({ length: MAX_DIGITS - 1 }, () => head(BLANK, 0.9))];
    positions[0] = [0.05, 0.3, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.57];
    const reading = decodeHeads(lengths(1, 0.9), positions);
    assert.ok(!('refused' in reading));
    assert.equal(reading.number, '1');
  });

  it('refuses when the length head says there is no number, with that probability', () => {
    const reading = decodeHeads(
      lengths(0, 0.8),
      Array.from({ length: MAX_DIGITS }, () => head(3, 0.9)),
    );
    assert.deepEqual(reading, { refused: true, probability: 0.8 });
  });

  it('with a fitted refusal, says "no number" only from its threshold up, and refuses numbers under the floor', () => {
    const positions = [head(2, 0.9), head(BLANK, 0.9), head(BLANK, 0.9), head(BLANK, 0.9), head(BLANK, 0.9), head(BLANK, 0.9)];
    // P(no number) 0.6, P(one digit) 0.3: unfitted, a refusal; with noNumberAbove 0.9, the digit.
    const heads = [0.6, 0.3, 0.02, 0.02, 0.02, 0.02, 0.02];
    assert.ok('refused' in decodeHeads(heads, positions));
    const read = decodeHeads(heads, positions, { noNumberAbove: 0.9 });
    assert.ok(!('refused' in read) && read.number === '2', JSON.stringify(read));
    assert.deepEqual(decodeHeads([0.95, 0.05, 0, 0, 0, 0, 0], positions, { noNumberAbove: 0.9 }), { refused: true, probability: 0.95 });
    // The floor weighs the digits: 0.9-sure digit over a floor of 0.95 is refused, under 0.5 read.
    assert.ok('refused' in decodeHeads(lengths(1, 0.9), positions, { minProbability: 0.99 }));
    assert.ok(!('refused' in decodeHeads(lengths(1, 0.9), positions, { minProbability: 0.5 })));
    // ... and, with floorFromNoNumber, only when P(no number) is at least that: a digit the reader is unsure of
    // but sure is a digit is read; the same digit with P(no number) 0.6 (a letter, say) is refused.
    const floor = { noNumberAbove: 0.9, minProbability: 0.95, floorFromNoNumber: 0.3 };
    const sure = decodeHeads([0.1, 0.9, 0, 0, 0, 0, 0], positions, floor);
    assert.ok(!('refused' in sure) && sure.number === '2', JSON.stringify(sure));
    assert.ok('refused' in decodeHeads(heads, positions, floor));
  });

  it('rejects heads of the wrong shape', () => {
    assert.throws(() => decodeHeads([1, 0], [head(1, 1)]), RangeError);
  });
});

describe('letterbox', () => {
  it('fits a picture into 32 x 128 with its aspect kept', () => {
    assert.deepEqual(fittedSize(28, 28), { width: 32, height: 32 });
    assert.deepEqual(fittedSize(400, 50), { width: 128, height: 16 });
    assert.deepEqual(fittedSize(100, 50), { width: 64, height: 32 });
  });

  it('sets the picture at the left, centred in height, makes dark ink 1 and paper 0, and pads with paper', () => {
    const width = 32;
    const height = 32;
    const values = new Uint8Array(width * height).fill(230);
    for (let y = 10; y < 22; y += 1) for (let x = 14; x < 18; x += 1) values[y * width + x] = 30;
    const input = letterbox({ width, height, values });
    assert.equal(input.length, READER_PIXELS);
    const left = 0;
    assert.equal(input[15 * READER_WIDTH + left + 15], 1);
    assert.equal(input[15 * READER_WIDTH + left + 2], 0);
    assert.equal(input[15 * READER_WIDTH + width + 2], 0);
    assert.ok(input.every((v) => v >= 0 && v <= 1));
  });

  it('keeps empty paper near 0 instead of stretching its grain into ink', () => {
    const values = Uint8Array.from({ length: 32 * 32 }, (_, i) => 200 + ((i * 7) % 11));
    const input = letterbox({ width: 32, height: 32, values });
    assert.ok(Math.max(...input) < 0.25, `max ${Math.max(...input)}`);
  });

  it('refuses a picture larger than the input', () => {
    assert.throws(
      () => letterbox({ width: READER_WIDTH + 1, height: READER_HEIGHT, values: new Uint8Array((READER_WIDTH + 1) * READER_HEIGHT) }),
      RangeError,
    );
  });
});
