/**
 * The reader's input and output contract, defined once and imported by its training, its evaluation and the
 * service: the input's size and scale, the heads' shapes, and the two functions both sides must share (the
 * letterbox that turns a cropped grey picture into the model's input, and the decoding of the heads).
 *
 * Input: float32 [N, 32, 128, 1], ink 1 on paper 0, the ink's region scaled to fit 32 x 128 (aspect kept),
 * set at the left and centred in height, the rest padded with paper. Output, Goodfellow et al. 2013: a length softmax over 0..MAX_DIGITS
 * (0 = no number), then MAX_DIGITS position softmaxes over 11 classes (the digits 0-9 and 10 = no digit here).
 */

export const READER_HEIGHT = 32;
export const READER_WIDTH = 128;
export const READER_PIXELS = READER_HEIGHT * READER_WIDTH;
export const MAX_DIGITS = 6;
/** The ten digits and a "no digit at this position" class, so every head has a target in every picture. */
export const POSITION_CLASSES = 11;
export const BLANK = 10;
export const LENGTH_CLASSES = MAX_DIGITS + 1;
export const READER_INPUT_SHAPE = [READER_HEIGHT, READER_WIDTH, 1] as const;

/** A grey picture: one byte-range value (0 black .. 255 white) per pixel, row by row. */
export interface GreyPicture {
  width: number;
  height: number;
  values: Uint8Array | Uint8ClampedArray | Float32Array;
}

/** The size (aspect kept) a picture of width x height is resized to so that it fits the input. */
export function fittedSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(READER_HEIGHT / height, READER_WIDTH / width);
  return {
    width: Math.max(1, Math.min(READER_WIDTH, Math.round(width * scale))),
    height: Math.max(1, Math.min(READER_HEIGHT, Math.round(height * scale))),
  };
}

/** The k-th smallest of the values (k clamped), on a copy; the arrays here hold at most 4,096 values. */
function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))] as number;
}

/**
 * The model's input from a picture already cropped to the ink's region and resized to fittedSize: at the left
 * of a paper-coloured 32 x 128 field, centred in height (so the k-th digit sits about k digit-widths from the left
 * edge, which is what a position head can learn quickly), ink made 1 and paper 0 by a contrast stretch between the paper's level (the
 * picture's 85th percentile: most of a crop is paper, even when strokes are thick) and the ink's (its 1st percentile). The stretch never
 * divides by less than 48 grey levels, so empty paper stays near 0 instead of its grain becoming ink.
 */
export function letterbox(picture: GreyPicture): Float32Array {
  const { width, height, values } = picture;
  if (width > READER_WIDTH || height > READER_HEIGHT || values.length !== width * height) {
    throw new RangeError(`letterbox takes at most ${READER_WIDTH}x${READER_HEIGHT}, got ${width}x${height} (${values.length} values)`);
  }
  const paper = quantile(values, 0.85);
  const ink = quantile(values, 0.01);
  const span = Math.max(48, paper - ink);
  const out = new Float32Array(READER_PIXELS);
  const left = 0;
  const top = Math.floor((READER_HEIGHT - height) / 2);
  for (let y = 0; y < height; y += 1) {
    const row = (top + y) * READER_WIDTH + left;
    for (let x = 0; x < width; x += 1) {
      const v = (paper - (values[y * width + x] as number)) / span;
      out[row + x] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}

/**
 * When the reader refuses (model/reader/refusal.json, fitted to a refusal budget by model/reader/fit-refusal.ts):
 * "no number" only when its probability is at least noNumberAbove (else the likeliest length of one or more), and
 * a number whose digits' probabilities multiply to less than minProbability, when P(no number) is at least
 * floorFromNoNumber (0 when absent: always). Absent: the likeliest length, 0 included, and no floor.
 *
 * The floor's condition is what separates a letter from a hard digit: an "A" drawn with a pen was read as a 1
 * (digit 0.59) with P(no number) 0.48, while a badly written digit is unsure of its digit but sure it is one.
 */
export interface ReaderRefusal {
  noNumberAbove?: number;
  minProbability?: number;
  floorFromNoNumber?: number;
  /**
   * Not a refusal: a digit read with a probability under this is answered "uncertain" (fitted by fit-refusal.ts so
   * that the digits answered sure are right at its target rate on training-side pictures; the service's round 0.9
   * when absent).
   */
  uncertainBelow?: number;
}

/** Whether the refusal's floor on the digits' probability refuses a reading (decodeHeads; fit-refusal.ts tries floors with it). */
export function underDigitsFloor(refusal: ReaderRefusal, noNumber: number, digitsProbability: number): boolean {
  return refusal.minProbability !== undefined && digitsProbability < refusal.minProbability && noNumber >= (refusal.floorFromNoNumber ?? 0);
}

export interface DigitReading {
  digit: number;
  probability: number;
  /** The ten digits' probabilities at this position, renormalised without the blank class. */
  probabilities: number[];
}

export type Reading = { number: string; probability: number; digits: DigitReading[] } | { refused: true; probability: number };

/**
 * The reading of one picture from its heads: the most likely length, the most likely digit at each of its
 * positions. The whole's probability is P(length) times the product of the digits' probabilities; length 0
 * (no number) is a refusal carrying P(no number). `refusal` moves where "no number" begins (ReaderRefusal).
 */
export function decodeHeads(
  lengthProbabilities: ArrayLike<number>,
  positions: ReadonlyArray<ArrayLike<number>>,
  refusal: ReaderRefusal = {},
): Reading {
  if (lengthProbabilities.length !== LENGTH_CLASSES || positions.length !== MAX_DIGITS) {
    throw new RangeError(`expected ${LENGTH_CLASSES} length classes and ${MAX_DIGITS} positions`);
  }
  const noNumber = lengthProbabilities[0] as number;
  let length = refusal.noNumberAbove === undefined ? 0 : 1;
  for (let i = length + 1; i < LENGTH_CLASSES; i += 1) {
    if ((lengthProbabilities[i] as number) > (lengthProbabilities[length] as number)) length = i;
  }
  if (refusal.noNumberAbove !== undefined && noNumber >= refusal.noNumberAbove) return { refused: true, probability: noNumber };
  const lengthProbability = lengthProbabilities[length] as number;
  if (length === 0) return { refused: true, probability: lengthProbability };
  const digits: DigitReading[] = [];
  let probability = lengthProbability;
  for (let p = 0; p < length; p += 1) {
    const head = positions[p] as ArrayLike<number>;
    let digitMass = 0;
    for (let d = 0; d < 10; d += 1) digitMass += head[d] as number;
    const probabilities = Array.from({ length: 10 }, (_, d) => (digitMass > 0 ? (head[d] as number) / digitMass : 0.1));
    let digit = 0;
    for (let d = 1; d < 10; d += 1) if ((probabilities[d] as number) > (probabilities[digit] as number)) digit = d;
    const digitProbability = probabilities[digit] as number;
    probability *= digitProbability;
    digits.push({ digit, probability: digitProbability, probabilities });
  }
  const number = digits.map((d) => d.digit).join('');
  // The floor weighs the digits only: P(length) is already judged by noNumberAbove.
  const digitsProbability = digits.reduce((p, d) => p * d.probability, 1);
  if (underDigitsFloor(refusal, noNumber, digitsProbability)) {
    return { refused: true, probability: 1 - digitsProbability };
  }
  return { number, probability, digits };
}
