/**
 * The classifier's second opinion on the reader's digits (layers/reader/second-opinion.ts): the crops it reads
 * (the whole ink, each digit only where blank columns cut it off) and each of the rules, with made-up heads and
 * opinions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGE_SIZE, PIXELS } from '../../layers/classifier/model-contract';
import { READER_PIXELS, READER_WIDTH, type Reading } from '../../layers/reader/contract';
import {
  inkCrop,
  ONE_DIGIT_FROM,
  ONE_DIGIT_SCORE,
  type Opinion,
  opinionCrops,
  withSecondOpinion,
} from '../../layers/reader/second-opinion';

const RULE = { digitThreshold: 1e-4, floorFromNoNumber: 0.05 };

/** Ten probabilities: `p` on `digit`, the rest spread evenly. */
const spread = (digit: number, p: number): number[] => Array.from({ length: 10 }, (_, d) => (d === digit ? p : (1 - p) / 9));

/** Ten probabilities: `p` on `digit`, `q` on `other`, the rest spread evenly. */
const between = (digit: number, p: number, other: number, q: number): number[] =>
  Array.from({ length: 10 }, (_, d) => (d === digit ? p : d === other ? q : (1 - p - q) / 8));

const digitOf = (digit: number, p: number, probabilities = spread(digit, p)) => ({ digit, probability: p, probabilities });

const numberOf = (...digits: Array<ReturnType<typeof digitOf>>): Reading => ({
  number: digits.map((d) => d.digit).join(''),
  probability: digits.reduce((p, d) => p * d.probability, 1),
  digits,
});

/** Length-head probabilities: P(no number), P(one digit), P(two digits), P(three), the rest 0. */
const lengths = (none: number, one: number, two: number, three = 0): number[] => [none, one, two, three, 0, 0, 0];

const opinion = (digit: number, p: number, digitScore: number): Opinion => ({ probabilities: spread(digit, p), digitScore });

const answer = (reading: Reading): string => ('refused' in reading ? 'refused' : reading.number);

describe('the second opinion', () => {
  it('multiplies the two readings of a digit when the classifier says it is a digit', () => {
    // The reader leans to 9 (0.6) over 4 (0.35); the classifier is sure of 4: the product turns it to 4.
    const leaning = numberOf(digitOf(9, 0.6, between(9, 0.6, 4, 0.35)));
    const after = withSecondOpinion(lengths(0, 1, 0), leaning, { whole: opinion(4, 0.95, 0.9), digits: [] }, RULE);
    assert.equal(answer(after), '4');
    assert.ok(!('refused' in after) && Math.abs((after.digits[0]?.probabilities ?? []).reduce((s, p) => s + p, 0) - 1) < 1e-9);
  });

  it('refuses one digit that the classifier calls no digit when the reader also doubts it is a number', () => {
    // A pen-drawn "A": the reader read a 1 with P(no number) 0.06; the classifier's head scored it 1.6e-9.
    const letter = withSecondOpinion(
      lengths(0.06, 0.87, 0.07),
      numberOf(digitOf(1, 0.85)),
      { whole: opinion(4, 1, 1.6e-9), digits: [] },
      RULE,
    );
    assert.equal(answer(letter), 'refused');
  });

  it('keeps the reader alone for a digit in a box: no digit to the classifier, but the reader is sure of it', () => {
    const boxed = numberOf(digitOf(7, 0.99));
    const after = withSecondOpinion(lengths(1e-5, 0.99, 0.01), boxed, { whole: opinion(8, 0.9, 1e-9), digits: [] }, RULE);
    assert.equal(answer(after), '7');
    assert.equal(!('refused' in after) && after.digits[0]?.probability, 0.99);
  });

  it("reads one digit, the classifier's, when the reader hesitates between one and two and the classifier is sure of one", () => {
    // The 4/9 blend of the tests was read "91" with P(one digit) 0.34.
    const read = numberOf(digitOf(9, 0.9), digitOf(1, 0.8));
    const blend = withSecondOpinion(lengths(0, 0.34, 0.66), read, { whole: opinion(9, 0.73, 0.999), digits: [] }, RULE);
    assert.equal(answer(blend), '9');
    assert.ok(!('refused' in blend) && Math.abs((blend.digits[0]?.probability ?? 0) - 0.73) < 1e-9);
    const unsure = withSecondOpinion(lengths(0, 0.34, 0.66), read, { whole: opinion(9, 0.73, ONE_DIGIT_SCORE / 2), digits: [] }, RULE);
    assert.equal(answer(unsure), '91');
  });

  it('changes only the digits of a longer number that the classifier read and called digits', () => {
    const read = numberOf(digitOf(4, 0.55, between(4, 0.55, 9, 0.4)), digitOf(2, 0.9), digitOf(7, 0.5));
    const after = withSecondOpinion(
      lengths(0, 0, 0.1, 0.9),
      read,
      // The first digit cut cleanly and read a sure 9; the second not cut cleanly; the third no digit to the classifier.
      { digits: [opinion(9, 0.99, 0.9), undefined, opinion(1, 0.99, 1e-9)] },
      RULE,
    );
    assert.equal(answer(after), '927');
    assert.ok(!('refused' in after) && Math.abs(after.probability - 0.9 * (after.digits[0]?.probability ?? 0) * 0.9 * 0.5) < 1e-9);
  });
});

/** An input holding bars 4 wide and 20 tall at the given columns. */
function bars(...columns: number[]): Float32Array {
  const input = new Float32Array(READER_PIXELS);
  for (let y = 6; y < 26; y += 1) for (const left of columns) for (let x = left; x < left + 4; x += 1) input[y * READER_WIDTH + x] = 1;
  return input;
}

describe('the crops the classifier reads', () => {
  it("frames the ink of the input's first columns as MNIST was: 28x28, 20 px tall, nothing from beyond the width", () => {
    const crop = inkCrop(bars(5, 40), 0, 20);
    assert.ok(crop);
    assert.equal(crop.length, PIXELS);
    let ink = 0;
    let rows = 0;
    for (let y = 0; y < IMAGE_SIZE; y += 1) {
      let inRow = 0;
      for (let x = 0; x < IMAGE_SIZE; x += 1) inRow += crop[y * IMAGE_SIZE + x] as number;
      ink += inRow;
      if (inRow > 0) rows += 1;
    }
    assert.equal(rows, 20, 'the bar scaled to 20 px tall');
    assert.ok(ink > 60 && ink < 100, `the bar at column 5 only: ${ink}`);
    assert.equal(inkCrop(new Float32Array(READER_PIXELS), 0, 20), null);
  });

  it('reads the whole ink for one digit, and for two only when one digit is likely enough', () => {
    const one = numberOf(digitOf(1, 0.9));
    assert.ok(opinionCrops(bars(5), 20, lengths(0, 0.9, 0.1), one).whole);
    const two = numberOf(digitOf(1, 0.9), digitOf(1, 0.9));
    assert.ok(opinionCrops(bars(2, 14), 20, lengths(0, ONE_DIGIT_FROM, 0.8), two).whole);
    assert.equal(opinionCrops(bars(2, 14), 20, lengths(0, ONE_DIGIT_FROM / 2, 0.9), two).whole, undefined);
    assert.deepEqual(opinionCrops(bars(5), 20, lengths(0.99, 0, 0), { refused: true, probability: 0.99 }), { digits: [] });
  });

  it('cuts a digit out of a number only where blank columns part it from its neighbours', () => {
    const three = numberOf(digitOf(1, 0.9), digitOf(1, 0.9), digitOf(1, 0.9));
    // Three bars apart: each is cut cleanly.
    const apart = opinionCrops(bars(2, 22, 42), 60, lengths(0, 0, 0, 1), three);
    assert.deepEqual(
      apart.digits.map((d) => d !== undefined),
      [true, true, true],
    );
    // The first two joined by a stroke along the top: neither is cut cleanly; the third still is.
    const joined = bars(2, 22, 42);
    for (let x = 2; x < 30; x += 1) joined[8 * READER_WIDTH + x] = 1;
    const touching = opinionCrops(joined, 60, lengths(0, 0, 0, 1), three);
    assert.deepEqual(
      touching.digits.map((d) => d !== undefined),
      [false, false, true],
    );
  });
});
