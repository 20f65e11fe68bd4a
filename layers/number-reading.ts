/**
 * From the preprocessed digits and the classifier's batch of probabilities to what a prediction says: the
 * number (every digit, left to right), each digit's reading and box, and the top-level digit, confidence,
 * probabilities and preview.
 *
 * The top-level fields are the least confident digit's (the leftmost of equals). A single digit is its own
 * least confident digit, so its answer is what it always was. For a number, a client that knows only the
 * top-level fields then never sees more certainty than the number has: the number is read right only if its
 * weakest digit is, so its confidence is at most that digit's. (The first digit's would have made `?digit=`
 * read as "starts with", but would let a sure first digit hide a doubtful last one.)
 */
import { toPrediction } from './classifier';
import { NUM_CLASSES } from './model-contract';
import type { PreprocessedImage } from './preprocess';
import type { StoredDigit } from './store/prediction-store';

export interface NumberReading {
  digit: number;
  confidence: number;
  probabilities: number[];
  inputPreview: string;
  number: string;
  digits: StoredDigit[];
}

/** `probabilities` holds the classifier's N x 10 answer for the N digits of `image`, in their order. */
export function readNumber(image: Pick<PreprocessedImage, 'digits'>, probabilities: Float32Array): NumberReading {
  if (image.digits.length === 0 || probabilities.length !== image.digits.length * NUM_CLASSES) {
    throw new Error(`${probabilities.length} probabilities for ${image.digits.length} digits`);
  }
  const digits = image.digits.map((d, i): StoredDigit => {
    const p = toPrediction(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES));
    return { digit: p.digit, confidence: p.confidence, probabilities: p.probabilities, box: { ...d.box }, inputPreview: d.preview };
  });
  let weakest = digits[0] as StoredDigit;
  for (const d of digits) if (d.confidence < weakest.confidence) weakest = d;
  return {
    digit: weakest.digit,
    confidence: weakest.confidence,
    probabilities: weakest.probabilities,
    inputPreview: weakest.inputPreview,
    number: digits.map((d) => d.digit).join(''),
    digits,
  };
}
