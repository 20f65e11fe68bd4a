/**
 * The model's input and output contract, defined once and imported by training, evaluation and serving.
 *
 * Input: a float32 tensor [N, 28, 28, 1] with values in [0, 1], white ink (1) on a black background (0),
 * the digit's longer side scaled to 20 px and its centre of mass at the centre, as MNIST itself was made.
 * Output: a softmax over the ten digits 0..9.
 */

export const IMAGE_SIZE = 28;
export const IMAGE_CHANNELS = 1;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;
export const INPUT_SHAPE = [IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS] as const;

/** The digit box inside the 28x28 frame (MNIST: the longer side is 20 px). */
export const DIGIT_BOX = 20;

/** Scale raw 8-bit greyscale (0 = background, 255 = ink) into the model's [0, 1] range. */
export function normalisePixels(bytes: Uint8Array | Uint8ClampedArray): Float32Array {
  if (bytes.length % PIXELS !== 0) {
    throw new RangeError(`expected a multiple of ${PIXELS} pixels, got ${bytes.length}`);
  }
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) out[i] = (bytes[i] as number) / 255;
  return out;
}

/** Throws unless `values` is a valid input batch: a whole number of images, every value finite and in [0, 1]. */
export function assertValidInput(values: Float32Array): number {
  if (values.length === 0 || values.length % PIXELS !== 0) {
    throw new RangeError(`input must hold N x ${IMAGE_SIZE} x ${IMAGE_SIZE} values, got ${values.length}`);
  }
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i] as number;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`input value ${v} at index ${i} is outside [0, 1]`);
  }
  return values.length / PIXELS;
}
