/**
 * Turns an uploaded picture of a digit into the model's input, made the way MNIST itself was made:
 * white ink on black, the digit's longer side scaled to 20 px (antialiased), placed in 28x28 with its centre
 * of mass at the centre. People send photos and drawings, not MNIST scans, so before that the picture is
 * decoded safely (real format from the bytes, pixel count checked from the header before decoding),
 * oriented by EXIF, flattened, made grey, its polarity told, uneven lighting and paper noise removed and
 * specks ignored when cropping to the ink.
 *
 * The entry point of the steps in this folder: decode.ts (decoding within the pixel and decoded-size limits, a bounded number at once), ink.ts with
 * background.ts and crop.ts (from grey to the cropped ink), frame.ts (28x28 and the preview), raster.ts
 * (the pixel operations they share).
 */
import { MAX_PIXELS } from '../contract/limits';
import { BadRequestError } from '../errors';
import { detectImageType, type ImageMediaType } from '../image-format';
import { decodeWorkingCopy, isLossless, readHeader, toGreyscale } from './decode';
import { frameDigit, previewPng } from './frame';
import { extractInk, thickenThinStrokes } from './ink';

/** The default limit, in pixels: the API's (layers/contract/limits.ts), which MAX_PIXELS may lower or raise. */
export const MAX_INPUT_PIXELS = MAX_PIXELS;

export interface PreprocessedImage {
  /** 784 values in [0, 1]: the model contract of layers/model-contract.ts. */
  input: Float32Array;
  /** `data:image/png;base64,...` of the 28x28 input the model saw. */
  preview: string;
  /** The media type detected from the bytes, e.g. `image/png`. */
  format: ImageMediaType;
  /** Size of the picture as displayed (after EXIF orientation; the first frame of an animation). */
  width: number;
  height: number;
}

export interface PreprocessOptions {
  /** The type the client declared; checked against the content, never trusted. */
  declaredType?: string | undefined;
  /** Largest picture accepted, in pixels (the configuration's MAX_PIXELS); MAX_INPUT_PIXELS when absent. */
  maxPixels?: number | undefined;
}

export async function preprocessImage(bytes: Buffer, options: PreprocessOptions = {}): Promise<PreprocessedImage> {
  if (bytes.length === 0) throw new BadRequestError('The file is empty.', 'empty_file');
  const maxPixels = options.maxPixels ?? MAX_INPUT_PIXELS;
  const format = detectImageType(bytes, options.declaredType);
  const { width, height, decodedBytes } = await readHeader(bytes, maxPixels);
  const picture = await decodeWorkingCopy(bytes, maxPixels, decodedBytes);
  const grey = toGreyscale(picture);
  const ink = thickenThinStrokes(extractInk(grey, picture.width, picture.height, isLossless(format, bytes)));
  const input = frameDigit(ink);
  return { input, preview: previewPng(input), format, width, height };
}
