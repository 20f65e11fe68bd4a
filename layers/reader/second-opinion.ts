/**
 * A second opinion on the digits the reader reads: the 28x28 classifier (layers/classifier/, trained on MNIST, with
 * its "is a digit" head) reads the same ink, cut from the reader's own input and framed as MNIST was. Why: on a
 * digit alone the reader is weaker than a network trained on single digits (held out, 8 December: MNIST test 98.3%
 * against 99.4%, Optdigits 91.4% against 97.6%), it confused 4, 7 and 9 inside numbers in coloured ink, and it
 * read a pen-drawn "A" as a 1 where the classifier's head is sure it is no digit. Where both read a digit, their
 * distributions are multiplied (a geometric mean with equal weights, not a weight tuned on held-out pictures).
 *
 * What the classifier sees: for a reading of one digit, the box round all the input's ink; for each digit of a
 * longer number, the ink between the reader's own display cuts (cutColumns), and only when blank columns cut it
 * off from both neighbours (a clean cut: no pixel of the cut's column is ink). Touching digits are never cut
 * apart for it: the reader alone reads them, as it learned to.
 *
 * The rules (withSecondOpinion):
 * 1. The reader hesitates between one digit and two (P(one) at least ONE_DIGIT_FROM) while the classifier's head
 *    is sure the whole ink is one digit (at least ONE_DIGIT_SCORE): one digit, the classifier's reading. A 4
 *    blended with a 9 was read "91".
 * 2. One digit that the classifier's head calls no digit (under its own fitted threshold) while the reader gives
 *    "no number" at least its fitted floorFromNoNumber: refused. Both conditions: a digit in a form's box is no
 *    digit to the classifier (the frame is in its crop) but the reader is sure of it (P(no number) under 0.001).
 * 3. Any digit the classifier's head calls a digit: the two distributions multiplied. Otherwise the reader's.
 */
import { frameDigit } from '#preprocess/frame';
import { READER_HEIGHT, READER_WIDTH, type Reading } from './contract';

/** From this P(one digit), a reading of two digits may be one digit (rule 1). */
export const ONE_DIGIT_FROM = 0.2;
/** The classifier's "is a digit" score from which it may turn two digits into one (rule 1). */
export const ONE_DIGIT_SCORE = 0.5;
/** A pixel of the reader's input from this value is ink, for the crops and the clean cuts. */
const CROP_INK = 0.25;

/** The classifier's answer on a crop: its ten probabilities and its "is a digit" score. */
export interface Opinion {
  probabilities: ArrayLike<number>;
  digitScore: number;
}

/** The crops the classifier reads for one reading: the whole ink (for one digit, or two that may be one), and each digit cut cleanly. */
export interface OpinionCrops<T> {
  whole?: T;
  digits: Array<T | undefined>;
}

export interface OpinionRule {
  /** The classifier's fitted digitThreshold (model/refusal.json). */
  digitThreshold: number;
  /** The reader's fitted floorFromNoNumber (model/reader/refusal.json); 1 when absent (rule 2 then never refuses). */
  floorFromNoNumber: number;
}

/**
 * [from, to) column ranges of the input's first `width` columns, `n` of them: each cut at the column with the
 * least ink within a third of a share of where equal shares would cut.
 */
export function cutColumns(input: Float32Array, width: number, n: number): Array<[number, number]> {
  const ink = new Float32Array(width);
  for (let y = 0; y < READER_HEIGHT; y += 1)
    for (let x = 0; x < width; x += 1) ink[x] = (ink[x] as number) + (input[y * READER_WIDTH + x] as number);
  const cuts = [0];
  const share = width / n;
  for (let k = 1; k < n; k += 1) {
    const centre = k * share;
    const lo = Math.max((cuts[k - 1] as number) + 1, Math.round(centre - share / 3));
    const hi = Math.min(width - (n - k), Math.round(centre + share / 3));
    let best = Math.min(Math.max(lo, Math.round(centre)), hi);
    for (let x = lo; x <= hi; x += 1) if ((ink[x] as number) < (ink[best] as number)) best = x;
    cuts.push(best);
  }
  cuts.push(width);
  return cuts.slice(0, -1).map((from, k) => [from, Math.max(from + 1, cuts[k + 1] as number)]);
}

/** The ink of the input's columns [from, to) as the classifier's 28x28 input, framed as MNIST was; null when none. */
export function inkCrop(input: Float32Array, from: number, to: number): Float32Array | null {
  let [x0, y0, x1, y1] = [to, READER_HEIGHT, -1, -1];
  for (let y = 0; y < READER_HEIGHT; y += 1) {
    for (let x = from; x < to; x += 1) {
      if ((input[y * READER_WIDTH + x] as number) < CROP_INK) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const values = new Float32Array(w * h);
  for (let y = 0; y < h; y += 1) values.set(input.subarray((y0 + y) * READER_WIDTH + x0, (y0 + y) * READER_WIDTH + x0 + w), y * w);
  return frameDigit({ values, width: w, height: h });
}

/** Whether no pixel of the input's column is ink: a digit cut there is cut off from its neighbour. */
function blankColumn(input: Float32Array, column: number): boolean {
  for (let y = 0; y < READER_HEIGHT; y += 1) if ((input[y * READER_WIDTH + column] as number) >= CROP_INK) return false;
  return true;
}

/** What the classifier should read for this reading of an input whose picture fills its first `width` columns. */
export function opinionCrops(input: Float32Array, width: number, lengths: ArrayLike<number>, reading: Reading): OpinionCrops<Float32Array> {
  if ('refused' in reading) return { digits: [] };
  const n = reading.digits.length;
  const crops: OpinionCrops<Float32Array> = { digits: [] };
  const whole = n === 1 || (n === 2 && (lengths[1] as number) >= ONE_DIGIT_FROM) ? inkCrop(input, 0, width) : null;
  if (whole) crops.whole = whole;
  if (n >= 2) {
    const cuts = cutColumns(input, width, n);
    crops.digits = cuts.map(([from, to], i) => {
      const clean = (i === 0 || blankColumn(input, from)) && (i === n - 1 || blankColumn(input, to));
      return clean ? (inkCrop(input, from, to) ?? undefined) : undefined;
    });
  }
  return crops;
}

/** The most likely digit of ten probabilities, as a reading's digit. */
function digitOf(probabilities: ArrayLike<number>): Extract<Reading, { digits: unknown }>['digits'][number] {
  const values = Array.from(probabilities, Number);
  let digit = 0;
  for (let d = 1; d < values.length; d += 1) if ((values[d] as number) > (values[digit] as number)) digit = d;
  return { digit, probability: values[digit] as number, probabilities: values };
}

/** Two distributions over the ten digits multiplied (geometric mean) and renormalised. */
function product(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const values = Array.from({ length: 10 }, (_, d) => Math.sqrt((a[d] as number) * (b[d] as number)));
  const total = values.reduce((sum, p) => sum + p, 0);
  return values.map((p) => (total > 0 ? p / total : 0.1));
}

/** The reading after the classifier's opinions (the rules in this file's header); unchanged where no rule applies. */
export function withSecondOpinion(
  lengths: ArrayLike<number>,
  reading: Reading,
  opinions: OpinionCrops<Opinion>,
  rule: OpinionRule,
): Reading {
  if ('refused' in reading) return reading;
  const { whole } = opinions;
  const n = reading.digits.length;
  if (n === 2 && whole && (lengths[1] as number) >= ONE_DIGIT_FROM && whole.digitScore >= ONE_DIGIT_SCORE) {
    const digit = digitOf(whole.probabilities);
    return { number: String(digit.digit), probability: (lengths[1] as number) * digit.probability, digits: [digit] };
  }
  const own = n === 1 ? [whole] : opinions.digits;
  if (n === 1 && whole && whole.digitScore < rule.digitThreshold && (lengths[0] as number) >= rule.floorFromNoNumber) {
    return { refused: true, probability: 1 - whole.digitScore };
  }
  const digits = reading.digits.map((d, i) => {
    const opinion = own[i];
    if (!opinion || opinion.digitScore < rule.digitThreshold) return d;
    return digitOf(product(d.probabilities, opinion.probabilities));
  });
  return {
    number: digits.map((d) => d.digit).join(''),
    probability: digits.reduce((p, d) => p * d.probability, lengths[n] as number),
    digits,
  };
}
