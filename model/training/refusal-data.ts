/**
 * The pictures the refusal head and the temperature are fitted and measured on, each turned into the model's
 * 28x28 inputs exactly as the service turns an upload into them (layers/preprocess), so the head learns on the
 * crops it will score:
 * - digits from MNIST's training split: the 28x28 images augmented as training augments them (model/training/augment.ts),
 *   and people-style pictures (numbers of 1 to 4 training digits on paper, on a drawing pad, in coloured ink:
 *   model/training/digit-images.ts's numberPicture on the training split) cut into digits by the service's segmentation;
 * - non-digits: model/training/non-digit-images.ts, 'train' split (its fonts and seeds) for fitting, 'heldout' for
 *   measuring only;
 * - MNIST test digits as plain PNGs (what `npm run bench:accuracy` sends), split in two halves by index parity:
 *   even for the temperature and the thresholds, odd for the figures reported. The CNN was trained on all
 *   60,000 training images, so its confidence on them says nothing about its confidence on new digits.
 */
import { PIXELS } from '#classifier/model-contract';
import { preprocessImage } from '#preprocess/index';
import { augmentImage, createRng } from './augment';
import { mnistDigit, NUMBER_KINDS, numberPicture, plainDigit } from './digit-images';
import { loadMnist } from './mnist';
import { type NonDigitKind, type NonDigitSplit, nonDigitPicture } from './non-digit-images';

/** Inputs (N x 784) with, per input, which picture it came from (a picture may give several segments). */
export interface Crops {
  inputs: Float32Array;
  /** The picture each input was cut from (index into the set's pictures). */
  picture: Int32Array;
  /** Digit labels, when known (-1 otherwise). */
  labels: Int8Array;
  /** How many pictures the set holds (some may give no crop: the service would answer no_digit). */
  pictures: number;
}

/** Collects crops as pictures are processed. */
class CropBuilder {
  private readonly chunks: Float32Array[] = [];
  private readonly pictureOf: number[] = [];
  private readonly labelOf: number[] = [];

  add(input: Float32Array, picture: number, label = -1): void {
    this.chunks.push(input);
    this.pictureOf.push(picture);
    this.labelOf.push(label);
  }

  build(pictures: number): Crops {
    const inputs = new Float32Array(this.chunks.length * PIXELS);
    for (const [i, chunk] of this.chunks.entries()) inputs.set(chunk, i * PIXELS);
    return { inputs, picture: Int32Array.from(this.pictureOf), labels: Int8Array.from(this.labelOf), pictures };
  }
}

export type Progress = (done: number, total: number) => void;

/** `count` MNIST training digits from `offset`, each augmented once (seeded), as 28x28 inputs. */
export function augmentedTrainingDigits(offset: number, count: number, seed: number): Crops {
  const train = loadMnist('train');
  const rng = createRng(seed);
  const builder = new CropBuilder();
  const source = new Float32Array(PIXELS);
  for (let i = 0; i < count; i += 1) {
    const index = offset + i;
    for (let p = 0; p < PIXELS; p += 1) source[p] = (train.images[index * PIXELS + p] as number) / 255;
    const out = new Float32Array(PIXELS);
    augmentImage(source, out, rng);
    builder.add(out, i, train.labels[index] as number);
  }
  return builder.build(count);
}

/**
 * `count` people-style pictures of 1 to 4 MNIST training digits drawn from [from, to), cut by the service's
 * preprocessing. A picture whose segmentation does not give one crop per digit keeps no crop (its digits'
 * labels would not line up).
 */
export async function peopleStyleTrainingDigits(
  from: number,
  to: number,
  count: number,
  seed: number,
  progress?: Progress,
): Promise<Crops> {
  const random = createRng(seed);
  const builder = new CropBuilder();
  for (let n = 0; n < count; n += 1) {
    const length = 1 + Math.floor(random() * 4);
    const indices = Array.from({ length }, () => from + Math.floor(random() * (to - from)));
    const kind = NUMBER_KINDS[n % NUMBER_KINDS.length] as (typeof NUMBER_KINDS)[number];
    const picture = await numberPicture(indices, kind, seed + n, 'train');
    try {
      const image = await preprocessImage(picture.bytes);
      if (image.digits.length === length) {
        for (const [i, digit] of image.digits.entries()) builder.add(digit.input, n, mnistDigit(indices[i] as number, 'train').label);
      }
    } catch {
      // Refused by preprocessing (never for these pictures in practice): nothing to learn from.
    }
    progress?.(n + 1, count);
  }
  return builder.build(count);
}

/** The MNIST test digits of one parity as the service sees their plain PNGs (even: fitting; odd: reporting). */
export async function mnistTestHalf(parity: 0 | 1, limit = 5000, progress?: Progress): Promise<Crops> {
  const builder = new CropBuilder();
  const total = Math.min(limit, 5000);
  for (let k = 0; k < total; k += 1) {
    const index = 2 * k + parity;
    const digit = await plainDigit(index);
    const image = await preprocessImage(digit.bytes);
    // The top-level digit is what is scored; a split plain digit is rare (3 of 10,000): keep every crop.
    for (const d of image.digits) builder.add(d.input, k, digit.label);
    progress?.(k + 1, total);
  }
  return builder.build(total);
}

/** `count` non-digit pictures of a split, cut as the service cuts them; also says each picture's kind. */
export async function nonDigits(
  split: NonDigitSplit,
  count: number,
  progress?: Progress,
  offset = 0,
): Promise<Crops & { kinds: NonDigitKind[]; noInk: number }> {
  const builder = new CropBuilder();
  const kinds: NonDigitKind[] = [];
  let noInk = 0;
  for (let n = 0; n < count; n += 1) {
    const picture = await nonDigitPicture(offset + n, split);
    kinds.push(picture.kind);
    try {
      const image = await preprocessImage(picture.bytes);
      for (const d of image.digits) builder.add(d.input, n);
    } catch {
      noInk += 1;
    }
    progress?.(n + 1, count);
  }
  return { ...builder.build(count), kinds, noInk };
}
