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
 *
 * Before any of that, the refusal rule of layers/classifier/refusal.ts: a picture any of whose segments the refusal head
 * does not score as a digit is refused (422 not_a_digit); each digit below the uncertainty threshold is marked
 * uncertain with its two best candidates, and so is the number.
 */
import type { BatchReading } from '#classifier/classifier';
import { toPrediction } from '#classifier/classifier';
import { NUM_CLASSES } from '#classifier/model-contract';
import { isUncertain, NEVER_REFUSE, type RefusalThresholds, refusesPicture, twoBest } from '#classifier/refusal';
import type { DigitAnswer } from '#contract';
import { UnprocessableImageError } from '#errors/errors';
import type { PreprocessedImage } from '#preprocess/index';

export interface NumberReading {
  digit: number;
  confidence: number;
  probabilities: number[];
  inputPreview: string;
  number: string;
  uncertain: boolean;
  candidates: DigitAnswer['candidates'];
  digits: DigitAnswer[];
}

/** The message of a refusal: for the person who sent the picture. */
export const NOT_A_DIGIT_MESSAGE =
  'This picture does not look like a digit or a number (it looks like a letter, a word, a shape or a drawing): send a picture of digits only.';

/**
 * `reading` holds the classifier's answer for the N digits of `image`, in their order: N x 10 probabilities
 * and N refusal scores. Throws not_a_digit when the picture is refused.
 */
export function readNumber(
  image: Pick<PreprocessedImage, 'digits'>,
  reading: BatchReading,
  thresholds: RefusalThresholds = NEVER_REFUSE,
): NumberReading {
  const { probabilities, digitScores } = reading;
  if (
    image.digits.length === 0 ||
    probabilities.length !== image.digits.length * NUM_CLASSES ||
    digitScores.length !== image.digits.length
  ) {
    throw new Error(`${probabilities.length} probabilities and ${digitScores.length} scores for ${image.digits.length} digits`);
  }
  if (refusesPicture(digitScores, thresholds)) throw new UnprocessableImageError(NOT_A_DIGIT_MESSAGE, 'not_a_digit');
  const digits = image.digits.map((d, i): DigitAnswer => {
    const p = toPrediction(probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES));
    return {
      digit: p.digit,
      confidence: p.confidence,
      probabilities: p.probabilities,
      box: { ...d.box },
      inputPreview: d.preview,
      uncertain: isUncertain(p.confidence, thresholds),
      candidates: twoBest(p.probabilities),
    };
  });
  return readingOfDigits(digits);
}

/**
 * A number's reading from its digits, left to right: the number, and the top-level fields of its least confident
 * digit (the leftmost of equals), uncertain when any digit is. Shared by both models' answers.
 */
export function readingOfDigits(digits: DigitAnswer[]): NumberReading {
  let weakest = digits[0] as DigitAnswer;
  for (const d of digits) if (d.confidence < weakest.confidence) weakest = d;
  return {
    digit: weakest.digit,
    confidence: weakest.confidence,
    probabilities: weakest.probabilities,
    inputPreview: weakest.inputPreview,
    number: digits.map((d) => d.digit).join(''),
    uncertain: digits.some((d) => d.uncertain),
    candidates: weakest.candidates,
    digits,
  };
}
