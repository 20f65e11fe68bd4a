/**
 * Decoding an upload safely, and its limits: the pixel count is checked from the header before a single pixel
 * is decoded (decompression bombs), sharp refuses more than the limit itself as a second guard, and only the
 * first frame is decoded, upright (EXIF orientation), shrunk to a working size, then made grey with
 * transparency flattened.
 */
import sharp from 'sharp';
import { type HttpError, PayloadTooLargeError, UnprocessableImageError } from '../errors';
import type { ImageMediaType } from '../image-format';

/** Photos are shrunk to this longer side before the pixel work: plenty for a 20 px digit, and fast. */
const WORK_SIZE = 512;

export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

function corrupt(error: unknown, maxPixels: number): HttpError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return tooManyPixels(maxPixels);
  return new UnprocessableImageError('The image is corrupt or truncated and cannot be decoded.', 'corrupt_image');
}

/** The limit in megapixels, to three significant digits (25 for the default). */
function megapixels(pixels: number): string {
  return String(Number((pixels / 1_000_000).toPrecision(3)));
}

function tooManyPixels(maxPixels: number, width?: number, height?: number): HttpError {
  const size = width !== undefined && height !== undefined ? ` (${width}x${height})` : '';
  return new PayloadTooLargeError(`The image has more than ${megapixels(maxPixels)} megapixels${size}.`, 'too_many_pixels');
}

/** Whether the encoding keeps pixels exactly: lossy ones (JPEG, AVIF, lossy WebP) add ringing around strokes. */
export function isLossless(format: ImageMediaType, bytes: Buffer): boolean {
  if (format === 'image/webp') return bytes.length >= 16 && bytes.subarray(12, 16).toString('latin1') === 'VP8L';
  return format === 'image/png' || format === 'image/gif' || format === 'image/tiff';
}

/** Reads only the header: refuses pictures of more than `maxPixels` before a single pixel is decoded. */
export async function readHeader(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).metadata();
  } catch (error: unknown) {
    throw corrupt(error, maxPixels);
  }
  const width = meta.width;
  // For animations only the first frame is decoded; sharp reports one page's height.
  const height = meta.pageHeight ?? meta.height;
  if (!width || !height) throw corrupt(new Error('no dimensions in the header'), maxPixels);
  if (width * height > maxPixels) throw tooManyPixels(maxPixels, width, height);
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: height, height: width } : { width, height };
}

/** Decodes the first frame, upright, shrunk to at most WORK_SIZE (JPEG and WebP shrink while decoding). */
export async function decodeWorkingCopy(bytes: Buffer, maxPixels: number): Promise<Raster> {
  try {
    const { data, info } = await sharp(bytes, {
      failOn: 'error',
      limitInputPixels: maxPixels,
      sequentialRead: true,
    })
      .rotate()
      .resize({ width: WORK_SIZE, height: WORK_SIZE, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error: unknown) {
    throw corrupt(error, maxPixels);
  }
}

/**
 * Luminance (Rec. 601) in 0..255, transparency flattened. The issue says onto white, which is right for the
 * usual dark ink on a transparent background; when the visible content itself is light (white strokes
 * exported from a drawing canvas), white would erase it, so that case is flattened onto black.
 */
export function toGreyscale(raster: Raster): Float32Array {
  const { data, width, height, channels } = raster;
  const n = width * height;
  const grey = new Float32Array(n);
  const colour = channels >= 3;
  const hasAlpha = channels === 2 || channels === 4;
  for (let i = 0, p = 0; i < n; i += 1, p += channels) {
    grey[i] = colour
      ? 0.299 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number)
      : (data[p] as number);
  }
  if (!hasAlpha) return grey;
  let weighted = 0;
  let weight = 0;
  let transparent = false;
  for (let i = 0, p = channels - 1; i < n; i += 1, p += channels) {
    const a = (data[p] as number) / 255;
    if (a < 1) transparent = true;
    weighted += a * (grey[i] as number);
    weight += a;
  }
  if (!transparent) return grey;
  const backdrop = weight > 0 && weighted / weight > 160 ? 0 : 255;
  for (let i = 0, p = channels - 1; i < n; i += 1, p += channels) {
    const a = (data[p] as number) / 255;
    grey[i] = a * (grey[i] as number) + (1 - a) * backdrop;
  }
  return grey;
}
