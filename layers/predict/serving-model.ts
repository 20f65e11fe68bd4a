/**
 * The two models that can read an upload, behind one interface, so that either serves and the other may read in
 * shadow (SERVING_MODEL, SHADOW_MODEL; model/serving.json holds the defaults that `npm run model:promote` and
 * `npm run model:rollback` switch):
 * - `classifier`: the digit pipeline (layers/preprocess/: pixel code that cuts the picture into digits) and the
 *   28x28 CNN with its refusal head (layers/classifier/);
 * - `reader`: the learned reader (layers/reader/: geometry in sharp, then one network that reads the number whole,
 *   or says "no number").
 * Both answer a NumberReading or throw the same errors (422 not_a_digit for a picture that holds no number, the
 * decoder's 400/413/422/503), so the rest of the use case does not know which one read.
 */
import type { Classifier } from '#classifier/classifier';
import { twoBest } from '#classifier/refusal';
import type { ServingModelKind } from '#config/serving-choice';
import type { DigitAnswer } from '#contract';
import { UnprocessableImageError } from '#errors/errors';
import type { StageTimings } from '#observability/timings';
import type { ImageMediaType } from '#preprocess/image-format';
import { preprocessImage } from '#preprocess/index';
import type { Reading } from '#reader/contract';
import { readUploadWith, type UploadReading } from '#reader/serving';
import type { Upload } from '#uploads/upload';
import { NOT_A_DIGIT_MESSAGE, type NumberReading, readingOfDigits, readNumber } from './number-reading';
import type { ShadowAnswer, ShadowReader } from './shadow';

export interface ServingModel {
  kind: ServingModelKind;
  version: string;
  /** The inference backend answering ('wasm', 'tensorflow'). */
  backend: string;
  /** Reads an upload; writes preprocessMs and inferenceMs into `timings`; throws not_a_digit (422) when it holds no number. */
  read(upload: Pick<Upload, 'bytes' | 'declaredType'>, maxPixels?: number, timings?: StageTimings): Promise<ModelReading>;
}

export interface ModelReading {
  reading: NumberReading;
  format: ImageMediaType;
}

/** Whether an error is a model's "no number here" (422 not_a_digit, or the pipeline's no_digit for a picture without ink). */
export function isRefusal(error: unknown): boolean {
  return error instanceof UnprocessableImageError && (error.code === 'not_a_digit' || error.code === 'no_digit');
}

/** Runs one stage and writes its time into `timings`, whether it succeeds or throws. */
export async function timed<T>(timings: StageTimings, stage: keyof StageTimings, run: () => Promise<T> | T): Promise<T> {
  const began = performance.now();
  try {
    return await run();
  } finally {
    timings[stage] = performance.now() - began;
  }
}

/** The digit pipeline and the classifier (what served before the learned reader). */
export function classifierModel(classifier: Classifier): ServingModel {
  return {
    kind: 'classifier',
    version: classifier.version,
    backend: classifier.backend,
    async read(upload, maxPixels, timings = {}) {
      const image = await timed(timings, 'preprocessMs', () =>
        preprocessImage(upload.bytes, { declaredType: upload.declaredType, maxPixels }),
      );
      // Every digit of a number in one batch: one forward pass, whatever the number's length.
      const batch = await timed(timings, 'inferenceMs', () => classifier.readBatch(image.input));
      // A picture that is not digits is refused here, before anything is kept or stored.
      return { reading: readNumber(image, batch, classifier.thresholds), format: image.format };
    },
  };
}

/**
 * A digit of the reader's answer is uncertain below this probability, unless the reader's refusal.json carries a
 * fitted uncertainBelow (model/reader/fit-refusal.ts): a round figure for a reader fitted without one.
 */
export const READER_UNCERTAIN_BELOW = 0.9;

/**
 * The reader's answer in the service's terms: each digit with its probabilities and its approximate box (the
 * number's region cut for display, layers/reader/serving.ts), the weakest digit on top.
 */
export function readerNumberReading(
  read: Pick<UploadReading, 'reading' | 'box' | 'digitBoxes' | 'preview'>,
  uncertainBelow = READER_UNCERTAIN_BELOW,
): NumberReading {
  const { reading, box, digitBoxes, preview } = read;
  if ('refused' in reading) throw new UnprocessableImageError(NOT_A_DIGIT_MESSAGE, 'not_a_digit');
  const digits = reading.digits.map(
    (d, i): DigitAnswer => ({
      digit: d.digit,
      confidence: d.probability,
      probabilities: d.probabilities,
      box: { ...(digitBoxes[i] ?? box) },
      inputPreview: preview,
      uncertain: d.probability < uncertainBelow,
      candidates: twoBest(d.probabilities),
    }),
  );
  return readingOfDigits(digits);
}

/** The learned reader. */
export function readerModel(reader: {
  version: string;
  backend: string;
  uncertainBelow?: number;
  readInput(input: Float32Array, width: number): Promise<Reading>;
}): ServingModel {
  return {
    kind: 'reader',
    version: reader.version,
    backend: reader.backend,
    async read(upload, maxPixels, timings = {}) {
      const read = await readUploadWith(reader, upload.bytes, { declaredType: upload.declaredType, maxPixels, timings });
      return { reading: readerNumberReading(read, reader.uncertainBelow), format: read.format };
    },
  };
}

/**
 * A model reading in shadow: its answer on the same bytes (with the same pixel limit), a refusal when it finds no
 * number. The whole's probability is the product of the digits' confidences; a refusal's is 1 for the pipeline,
 * which has no probability for "no number".
 */
export function asShadow(model: ServingModel, maxPixels?: number): ShadowReader {
  return {
    version: model.version,
    async read(bytes): Promise<ShadowAnswer> {
      try {
        const { reading } = await model.read({ bytes, declaredType: undefined }, maxPixels);
        return { number: reading.number, probability: reading.digits.reduce((p, d) => p * d.confidence, 1) };
      } catch (error: unknown) {
        if (isRefusal(error)) return { refused: true, probability: 1 };
        throw error;
      }
    },
  };
}
