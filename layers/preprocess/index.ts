/**
 * Turns an uploaded picture of a digit, or of a number (one line of digits), into the model's input, one
 * 28x28 frame per digit, made the way MNIST itself was made:
 * white ink on black, the digit's longer side scaled to 20 px (antialiased), placed in 28x28 with its centre
 * of mass at the centre. People send photos and drawings, not MNIST scans, so before that the picture is
 * decoded safely (real format from the bytes, pixel count checked from the header before decoding),
 * oriented by EXIF, flattened, made grey, its polarity told, uneven lighting and paper noise removed and
 * specks ignored when cropping to the ink.
 *
 * The entry point of the steps in this folder: decode.ts (decoding within the pixel and decoded-size limits, a bounded number at once), ink.ts with
 * background.ts and lines.ts (from grey to the ink, printed lines of ruled paper taken out), crop.ts and
 * segment.ts (the pieces of ink that matter, grouped into digits left to right), frame.ts (28x28 and the
 * preview), raster.ts (the pixel operations they share).
 */

import { PIXELS } from '#classifier/model-contract';
import { MAX_PIXELS } from '#contract/limits';
import { BadRequestError } from '#errors/errors';
import { assertDigitSized, cropPieces, labelPieces, selectPieces, unionBox } from './crop';
import { decodeWorkingCopy, type Header, isLossless, readHeader, toGreyscale } from './decode';
import { frameDigit, previewPng } from './frame';
import { detectImageType, type ImageMediaType } from './image-format';
import { extractInk, thickenThinStrokes } from './ink';
import { segmentDigits } from './segment';

/** The default limit, in pixels: the API's (layers/contract/limits.ts), which MAX_PIXELS may lower or raise. */
export const MAX_INPUT_PIXELS = MAX_PIXELS;

/** Where a digit is in the uploaded picture, in its pixels after EXIF orientation. */
export interface DigitBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PreprocessedDigit {
  /** 784 values in [0, 1]: the model contract of layers/classifier/model-contract.ts. */
  input: Float32Array;
  /** `data:image/png;base64,...` of the 28x28 input the model saw. */
  preview: string;
  box: DigitBox;
}

export interface PreprocessedImage {
  /** The digits' inputs one after the other, left to right (N x 784 values): one batch for the classifier. */
  input: Float32Array;
  /** The digits, left to right: one for a single digit. */
  digits: PreprocessedDigit[];
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

/** An upload admitted for decoding: its real format, the pixel limit that applies, and its header's facts. */
export interface AdmittedUpload {
  format: ImageMediaType;
  maxPixels: number;
  header: Header;
}

/**
 * The checks every model's read path makes before a pixel is decoded: not empty, the real format from the bytes
 * (the declared type checked against it, never trusted), and the pixel and decoded-size limits from the header.
 */
export async function admitUpload(bytes: Buffer, options: PreprocessOptions = {}): Promise<AdmittedUpload> {
  if (bytes.length === 0) throw new BadRequestError('The file is empty.', 'empty_file');
  const maxPixels = options.maxPixels ?? MAX_INPUT_PIXELS;
  const format = detectImageType(bytes, options.declaredType);
  return { format, maxPixels, header: await readHeader(bytes, maxPixels) };
}

export async function preprocessImage(bytes: Buffer, options: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const {
    format,
    maxPixels,
    header: { width, height, decodedBytes },
  } = await admitUpload(bytes, options);
  const picture = await decodeWorkingCopy(bytes, maxPixels, decodedBytes);
  const grey = toGreyscale(picture);
  const map = extractInk(grey, picture.width, picture.height, isLossless(format, bytes));
  const pieces = labelPieces(map);
  const kept = selectPieces(pieces, map.keepAll, map.width, map.height);
  assertDigitSized(unionBox(pieces, kept), map.width, map.height);
  // The working copy may be smaller than the picture: boxes are given in the picture's own pixels.
  const sx = width / picture.width;
  const sy = height / picture.height;
  const digits = segmentDigits(map, pieces, kept).map((group): PreprocessedDigit => {
    const input = frameDigit(thickenThinStrokes(cropPieces(map, pieces, group.labels, group.box)));
    const [x0, y0, x1, y1] = group.box;
    const x = Math.floor(x0 * sx);
    const y = Math.floor(y0 * sy);
    const box = { x, y, width: Math.min(width, Math.ceil((x1 + 1) * sx)) - x, height: Math.min(height, Math.ceil((y1 + 1) * sy)) - y };
    return { input, preview: previewPng(input), box };
  });
  const input = new Float32Array(digits.length * PIXELS);
  for (const [i, digit] of digits.entries()) input.set(digit.input, i * PIXELS);
  return { input, digits, format, width, height };
}
