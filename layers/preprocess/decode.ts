/**
 * Decoding an upload safely, and its limits: the pixel count is checked from the header before a single pixel
 * is decoded (decompression bombs), sharp refuses more than the limit itself as a second guard, and only the
 * first frame is decoded, upright (EXIF orientation), shrunk to a working size, then made grey with
 * transparency flattened.
 *
 * Memory: pixels are not all the same size. A 240 KB PNG of 5000x5000 16-bit RGBA, interlaced, is
 * within the pixel limit but decodes to 200 MB, and an interlaced PNG (like a progressive JPEG) cannot be
 * decoded a strip at a time: libvips holds the whole frame. So two more bounds live here, both from the
 * header, before decoding:
 * - per picture, its decoded size (decodedBytes: width x height x channels x bytes per sample, doubled for a
 *   progressive JPEG, whose 16-bit DCT coefficients are held whole) may not exceed maxDecodedBytes(maxPixels)
 *   = 4 bytes a pixel at the pixel limit: any picture of 25 megapixels at 8 bits per sample passes (RGBA
 *   included: 100 MB), 16-bit samples count double. Over it: 413 too_many_pixels, nothing decoded. The one
 *   knob stays MAX_PIXELS (layers/config/config.ts, default in layers/contract/limits.ts).
 * - at once, decodes may hold at most DECODE_BUDGET_PICTURES x maxDecodedBytes (decodeBudget, a semaphore
 *   weighted by decodedBytes): 100 MB in flight, one picture at the limit or several smaller ones (two phone
 *   photos of 12 megapixels, 36 MB each, decode side by side; small digits many at a time). One picture's
 *   worth, not two: a decode at the limit costs the service about 140 MB resident (libvips' buffers on top of
 *   the frame), the warm service on wasm is 230-255 MB, and native TensorFlow adds about 185 MB to that
 *   (serverless.yml's figures, 310 vs 126 MB); with two at a time the burst below peaked at 523-540 MB on wasm,
 *   which native TensorFlow would take past the 600 MB the issue set for 16 such uploads at once.
 *   The others wait their turn (their bytes, at most 4.5 MiB each, are already in memory), but at most
 *   DECODE_MAX_WAIT_MS: then 503 decoder_busy with Retry-After, rather than a wait that ends in the
 *   function's timeout (15 s for predict; serverless-offline then answers a bare 504 body). In Lambda one
 *   container serves one request at a time, so there only the first bound matters.
 * - small pictures (SMALL_PICTURE_BYTES once decoded, a megapixel) have a lane of their own beside that budget,
 *   so that a digit never queues behind large pictures.
 * - libvips' operation cache is off (sharp.cache(false)): each upload is decoded once, so the cache could
 *   only hold memory, never save work. Measured, it changes little (with two pictures' budget, the burst
 *   below: 528 MB peak and 355 MB 3 s after without it, 523 and 346 with it); what stays resident after a
 *   burst is the allocator's.
 * Measured through serverless-offline on wasm (test/security/decode-memory.test.ts, load average 4-5 on 2
 * cores): 16 copies at once of that PNG are all 413 and the service goes 240 -> 256 MB; 16 pictures at the
 * limit (5000x5000 8-bit RGBA, interlaced) go 256 -> 425 MB peak, 332 MB 3 s after, 7 answered and 9
 * decoder_busy (with two pictures' budget: 523-540 MB peak, as many answered: the decodes share the CPU).
 * Without the two bounds, the same bursts took it from 230 MB to 1198 MB, and 1111 MB stayed.
 */
import sharp from 'sharp';
import { formatMiB } from '#contract/limits';
import { HttpError, PayloadTooLargeError, ServiceUnavailableError, UnprocessableImageError } from '#errors/errors';
import type { ImageMediaType } from './image-format';
import { readPngHeader } from './png-header';

sharp.cache(false);

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

/** Bytes of one sample of each libvips band format. */
const SAMPLE_BYTES: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** What the header says about the decoded size: sharp's metadata, which reads only the header. */
export type HeaderFacts = Pick<sharp.Metadata, 'format' | 'width' | 'height' | 'pageHeight' | 'channels' | 'depth' | 'isProgressive'>;

/**
 * The bytes the first frame takes once decoded: width x height x channels (a palette counts as the colours it
 * expands to) x bytes per sample; a progressive JPEG counts 2 bytes a sample, its coefficients being held
 * whole (chroma subsampling, which would lower that, is ignored: an upper bound).
 */
export function decodedBytes(meta: HeaderFacts): number {
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  const sample = Math.max(SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 1, meta.format === 'jpeg' && meta.isProgressive ? 2 : 1);
  return width * height * (meta.channels ?? 4) * sample;
}

/** Largest decoded picture: 4 bytes a pixel at the pixel limit (8-bit RGBA), 100 MB for 25 megapixels. */
export function maxDecodedBytes(maxPixels: number): number {
  return maxPixels * 4;
}

/** How many pictures at the decoded-size limit may be decoding at once: the budget in bytes (see the header). */
export const DECODE_BUDGET_PICTURES = 1;

/**
 * How long a decode may wait for its turn: with predict's 15 s timeout, the wait plus one decode at the
 * limit (1-3 s here on a loaded machine) plus inference and the store's write must fit.
 */
export const DECODE_MAX_WAIT_MS = 6_000;

/** A task that waited longer than the budget's maxWaitMs for its turn, and did not run. */
export class BudgetWaitExceeded extends Error {}

/**
 * A semaphore counted in bytes: run() waits until `weight` fits in what is left of the capacity (first come,
 * first served), then holds it until `task` settles. A weight above the capacity runs alone. A task that
 * has waited `maxWaitMs` leaves the queue with BudgetWaitExceeded.
 */
export class ByteBudget {
  private inUse = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];

  constructor(
    readonly capacity: number,
    readonly maxWaitMs = Number.POSITIVE_INFINITY,
  ) {}

  get held(): number {
    return this.inUse;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(weight: number, task: () => Promise<T>): Promise<T> {
    const take = Math.min(Math.max(0, weight), this.capacity);
    if (this.waiting.length > 0 || this.inUse + take > this.capacity) {
      await new Promise<void>((start, reject) => {
        const entry = {
          weight: take,
          start: () => {
            clearTimeout(timer);
            start();
          },
        };
        const timer = Number.isFinite(this.maxWaitMs)
          ? setTimeout(() => {
              this.waiting.splice(this.waiting.indexOf(entry), 1);
              // Those behind it may fit now.
              this.wake();
              reject(new BudgetWaitExceeded(`waited ${this.maxWaitMs} ms`));
            }, this.maxWaitMs)
          : undefined;
        this.waiting.push(entry);
      });
    } else {
      this.inUse += take;
    }
    try {
      return await task();
    } finally {
      this.inUse -= take;
      this.wake();
    }
  }

  private wake(): void {
    for (let next = this.waiting[0]; next && this.inUse + next.weight <= this.capacity; next = this.waiting[0]) {
      this.waiting.shift();
      this.inUse += next.weight;
      next.start();
    }
  }
}

/**
 * Pictures at most this large once decoded (a megapixel of 8-bit RGBA: every digit a page or a phone crop sends)
 * decode in a lane of their own, SMALL_LANE_PICTURES at a time, never in the queue behind large ones:
 * with one budget, first come first served, a plain digit waited behind every large picture that arrived before
 * it, 6 s and then 503 decoder_busy while 20 large uploads streamed in. The lane adds at most 16 MiB of decoded
 * pixels to the large pictures' budget.
 */
export const SMALL_PICTURE_BYTES = 4 * 1024 * 1024;
export const SMALL_LANE_PICTURES = 4;

const budgets = new Map<number, ByteBudget>();
const smallLane = new ByteBudget(SMALL_LANE_PICTURES * SMALL_PICTURE_BYTES, DECODE_MAX_WAIT_MS);

/** The process's decode budget for a pixel limit (one limit per configuration, so in practice one budget). */
export function decodeBudget(maxPixels: number): ByteBudget {
  let budget = budgets.get(maxPixels);
  if (!budget) {
    budget = new ByteBudget(DECODE_BUDGET_PICTURES * maxDecodedBytes(maxPixels), DECODE_MAX_WAIT_MS);
    budgets.set(maxPixels, budget);
  }
  return budget;
}

export interface Header {
  /** Size as displayed (after EXIF orientation; the first frame of an animation). */
  width: number;
  height: number;
  /** What decoding the first frame takes (decodedBytes). */
  decodedBytes: number;
}

/** What readHeader needs of a header, from either reader. */
interface HeaderReading {
  width: number;
  height: number;
  channels: number;
  /** Bits per decoded sample, for the message. */
  bits: number;
  decodedBytes: number;
  /** EXIF orientation 5-8: the picture is displayed with its sides swapped. */
  swapped: boolean;
}

/** The header through sharp (libvips reads only the header), for every format but a plain PNG. */
async function readWithSharp(bytes: Buffer, maxPixels: number): Promise<HeaderReading> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).metadata();
  } catch (error: unknown) {
    throw corrupt(error, maxPixels);
  }
  // For animations only the first frame is decoded; sharp reports one page's height.
  return {
    width: meta.width ?? 0,
    height: meta.pageHeight ?? meta.height ?? 0,
    channels: meta.channels ?? 4,
    bits: 8 * (SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 1),
    decodedBytes: decodedBytes(meta),
    swapped: (meta.orientation ?? 1) >= 5,
  };
}

/** A PNG's header read in place (png-header.ts), or null when sharp must read it. */
function readPng(bytes: Buffer): HeaderReading | null {
  const png = readPngHeader(bytes);
  if (!png) return null;
  const { width, height, channels, sampleBytes } = png;
  return { width, height, channels, bits: 8 * sampleBytes, decodedBytes: width * height * channels * sampleBytes, swapped: false };
}

/**
 * Reads only the header: refuses pictures of more than `maxPixels`, or of more than maxDecodedBytes once
 * decoded, before a single pixel is decoded.
 */
export async function readHeader(bytes: Buffer, maxPixels: number): Promise<Header> {
  const { width, height, channels, bits, decodedBytes: size, swapped } = readPng(bytes) ?? (await readWithSharp(bytes, maxPixels));
  if (!width || !height) throw corrupt(new Error('no dimensions in the header'), maxPixels);
  if (width * height > maxPixels) throw tooManyPixels(maxPixels, width, height);
  const limit = maxDecodedBytes(maxPixels);
  if (size > limit) {
    throw new PayloadTooLargeError(
      `The image would take ${formatMiB(size)} once decoded (${width}x${height}, ${channels} channels of ${bits} bits); ` +
        `the limit is ${formatMiB(limit)}, ${megapixels(maxPixels)} megapixels at 8 bits per channel.`,
      'too_many_pixels',
    );
  }
  return swapped ? { width: height, height: width, decodedBytes: size } : { width, height, decodedBytes: size };
}

/**
 * Decodes the first frame, upright, shrunk to at most WORK_SIZE (JPEG and WebP shrink while decoding), once
 * the decode budget has room for `size` bytes (the header's decodedBytes; the whole limit when unknown).
 */
export async function decodeWorkingCopy(bytes: Buffer, maxPixels: number, size = maxDecodedBytes(maxPixels)): Promise<Raster> {
  return withinDecodeBudget(size, maxPixels, () => decodeNow(bytes, maxPixels));
}

/**
 * Runs a decode of `size` bytes (a header's decodedBytes) once the decode budget has room for it: the small
 * pictures' lane or the large pictures' budget. Any decoder goes through here (the digit pipeline's and the
 * learned reader's), so both share one bound; sharp's own errors become corrupt_image or too_many_pixels.
 */
export async function withinDecodeBudget<T>(size: number, maxPixels: number, run: () => Promise<T>): Promise<T> {
  try {
    const budget = size <= SMALL_PICTURE_BYTES ? smallLane : decodeBudget(maxPixels);
    return await budget.run(size, async () => {
      try {
        return await run();
      } catch (error: unknown) {
        throw error instanceof HttpError ? error : corrupt(error, maxPixels);
      }
    });
  } catch (error: unknown) {
    if (!(error instanceof BudgetWaitExceeded)) throw error;
    throw new ServiceUnavailableError('The service is busy decoding other large pictures; retry shortly.', 2, 'decoder_busy');
  }
}

async function decodeNow(bytes: Buffer, maxPixels: number): Promise<Raster> {
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
