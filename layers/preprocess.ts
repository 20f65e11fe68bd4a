/**
 * Turns an uploaded picture of a digit into the model's input, made the way MNIST itself was made:
 * white ink on black, the digit's longer side scaled to 20 px (antialiased), placed in 28x28 with its centre
 * of mass at the centre. People send photos and drawings, not MNIST scans, so before that the picture is
 * decoded safely (real format from the bytes, pixel count checked from the header before decoding),
 * oriented by EXIF, flattened, made grey, its polarity told, uneven lighting and paper noise removed and
 * specks ignored when cropping to the ink.
 */
import sharp from 'sharp';
import { BadRequestError, type HttpError, PayloadTooLargeError, UnprocessableImageError } from './errors';
import { encodeGreyPng } from './grey-png';
import { detectImageType, type ImageMediaType } from './image-format';
import { DIGIT_BOX, IMAGE_SIZE, PIXELS } from './model-contract';

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
}

/** Larger pictures are refused from their header, before any pixel is decoded (decompression bombs). */
export const MAX_INPUT_PIXELS = 25_000_000;

/** Photos are shrunk to this longer side before the pixel work: plenty for a 20 px digit, and fast. */
const WORK_SIZE = 512;
/** Least contrast (of 255) between ink and paper for anything to count as ink. */
const MIN_INK_CONTRAST = 24;
/** Ink must stand this many noise standard deviations above the paper. */
const NOISE_SIGMAS_CORE = 5;
const NOISE_SIGMAS_FLOOR = 3;
/** A connected piece of ink lighter than this share of the heaviest piece is a speck, not part of the digit. */
const SPECK_MASS_RATIO = 0.02;
/** A piece of ink lying along the picture's edge for this share of its shorter side is not the digit. */
const EDGE_CONTACT = 0.3;
/** Ink weaker than this (of full ink) does not widen the crop. */
const BOX_LEVEL = 0.1;
/** Stroke widths in the 20 px box: MNIST's average is about 2.8; thinner than MIN_STROKE is thickened to TARGET_STROKE. */
const MIN_STROKE = 1.5;
const TARGET_STROKE = 2.5;
/** The digit must span at least this share of the picture's longer side (and 3 px) to be a digit, not dust. */
const MIN_DIGIT_SPAN = 0.015;

export async function preprocessImage(bytes: Buffer, options: PreprocessOptions = {}): Promise<PreprocessedImage> {
  if (bytes.length === 0) throw new BadRequestError('the file is empty', 'empty_file');
  const format = detectImageType(bytes, options.declaredType);
  const { width, height } = await readHeader(bytes);
  const picture = await decodeWorkingCopy(bytes);
  const grey = toGreyscale(picture);
  const ink = thickenThinStrokes(extractInk(grey, picture.width, picture.height, isLossless(format, bytes)));
  const input = frameDigit(ink);
  return { input, preview: previewPng(input), format, width, height };
}

interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

function corrupt(error: unknown): HttpError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return tooManyPixels();
  return new UnprocessableImageError('the image is corrupt or truncated and cannot be decoded', 'corrupt_image');
}

function tooManyPixels(width?: number, height?: number): HttpError {
  const size = width !== undefined && height !== undefined ? ` (${width}x${height})` : '';
  return new PayloadTooLargeError(`the image has more than ${MAX_INPUT_PIXELS / 1_000_000} megapixels${size}`, 'too_many_pixels');
}

/** Whether the encoding keeps pixels exactly: lossy ones (JPEG, AVIF, lossy WebP) add ringing around strokes. */
function isLossless(format: ImageMediaType, bytes: Buffer): boolean {
  if (format === 'image/webp') return bytes.length >= 16 && bytes.subarray(12, 16).toString('latin1') === 'VP8L';
  return format === 'image/png' || format === 'image/gif' || format === 'image/tiff';
}

/** Reads only the header: refuses huge pictures before a single pixel is decoded. */
async function readHeader(bytes: Buffer): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).metadata();
  } catch (error: unknown) {
    throw corrupt(error);
  }
  const width = meta.width;
  // For animations only the first frame is decoded; sharp reports one page's height.
  const height = meta.pageHeight ?? meta.height;
  if (!width || !height) throw corrupt(new Error('no dimensions in the header'));
  if (width * height > MAX_INPUT_PIXELS) throw tooManyPixels(width, height);
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: height, height: width } : { width, height };
}

/** Decodes the first frame, upright, shrunk to at most WORK_SIZE (JPEG and WebP shrink while decoding). */
async function decodeWorkingCopy(bytes: Buffer): Promise<Raster> {
  try {
    const { data, info } = await sharp(bytes, {
      failOn: 'error',
      limitInputPixels: MAX_INPUT_PIXELS,
      sequentialRead: true,
    })
      .rotate()
      .resize({ width: WORK_SIZE, height: WORK_SIZE, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error: unknown) {
    throw corrupt(error);
  }
}

/**
 * Luminance (Rec. 601) in 0..255, transparency flattened. The issue says onto white, which is right for the
 * usual dark ink on a transparent background; when the visible content itself is light (white strokes
 * exported from a drawing canvas), white would erase it, so that case is flattened onto black.
 */
function toGreyscale(raster: Raster): Float32Array {
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

/** The ink as a picture: 0 = background, 1 = full ink, already cropped to the digit (specks dropped). */
interface InkPatch {
  values: Float32Array;
  width: number;
  height: number;
}

function bump(hist: Uint32Array, bin: number): void {
  hist[bin] = (hist[bin] as number) + 1;
}

function percentileOf(hist: Uint32Array, total: number, q: number): number {
  const target = q * total;
  let seen = 0;
  for (let b = 0; b < hist.length; b += 1) {
    seen += hist[b] as number;
    if (seen >= target && seen > 0) return b;
  }
  return hist.length - 1;
}

/** Otsu's threshold over a histogram: the split that best separates paper from ink. */
function otsu(hist: Uint32Array, total: number): number {
  let sumAll = 0;
  for (let b = 0; b < hist.length; b += 1) sumAll += b * (hist[b] as number);
  let sumBelow = 0;
  let countBelow = 0;
  let best = 0;
  let bestVariance = -1;
  for (let b = 0; b < hist.length; b += 1) {
    countBelow += hist[b] as number;
    if (countBelow === 0) continue;
    const countAbove = total - countBelow;
    if (countAbove === 0) break;
    sumBelow += b * (hist[b] as number);
    const meanBelow = sumBelow / countBelow;
    const meanAbove = (sumAll - sumBelow) / countAbove;
    const variance = countBelow * countAbove * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = b;
    }
  }
  return best;
}

/**
 * True when the paper is lighter than the ink. Paper covers most of any picture of a digit, so the median
 * grey is paper: dark ink on light paper when it sits in the upper half of the picture's range. (The border
 * would be a worse witness: a photo of a sheet often has a dark desk around it.)
 */
function isDarkInkOnLightPaper(grey: Float32Array): boolean {
  const stride = Math.max(1, Math.floor(grey.length / 20_000));
  const hist = new Uint32Array(256);
  let count = 0;
  for (let i = 0; i < grey.length; i += stride) {
    bump(hist, Math.min(255, Math.max(0, Math.round(grey[i] as number))));
    count += 1;
  }
  const low = percentileOf(hist, count, 0.02);
  const high = percentileOf(hist, count, 0.98);
  return percentileOf(hist, count, 0.5) > (low + high) / 2;
}

/** Sliding minimum or maximum over a window of `radius` on each side, along rows then columns. */
function rankFilter(src: Float32Array, width: number, height: number, radius: number, max: boolean): Float32Array {
  const sign = max ? -1 : 1;
  const rows = new Float32Array(src.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let v = sign * (src[y * width + x] as number);
      const end = Math.min(width - 1, x + radius);
      for (let k = Math.max(0, x - radius); k <= end; k += 1) {
        const c = sign * (src[y * width + k] as number);
        if (c < v) v = c;
      }
      rows[y * width + x] = sign * v;
    }
  }
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let v = sign * (rows[y * width + x] as number);
      const end = Math.min(height - 1, y + radius);
      for (let k = Math.max(0, y - radius); k <= end; k += 1) {
        const c = sign * (rows[k * width + x] as number);
        if (c < v) v = c;
      }
      out[y * width + x] = sign * v;
    }
  }
  return out;
}

/**
 * The paper's brightness everywhere (ink bright, paper dark here): a morphological opening with a window half
 * the picture's size, on a block-averaged copy of at most 64 px. Strokes are far thinner than the window, so
 * the opening removes them and keeps the lighting; a linear lighting gradient passes an opening unchanged.
 */
function estimateBackground(v: Float32Array, width: number, height: number): Float32Array {
  const block = Math.max(1, Math.ceil(Math.max(width, height) / 64));
  const sw = Math.ceil(width / block);
  const sh = Math.ceil(height / block);
  const small = new Float32Array(sw * sh);
  for (let y = 0; y < height; y += 1) {
    const row = Math.floor(y / block) * sw;
    const src = y * width;
    for (let bx = 0; bx < sw; bx += 1) {
      const end = Math.min(width, (bx + 1) * block);
      let sum = 0;
      for (let x = bx * block; x < end; x += 1) sum += v[src + x] as number;
      small[row + bx] = (small[row + bx] as number) + sum;
    }
  }
  for (let by = 0; by < sh; by += 1) {
    const rows = Math.min(height, (by + 1) * block) - by * block;
    for (let bx = 0; bx < sw; bx += 1) {
      const cols = Math.min(width, (bx + 1) * block) - bx * block;
      small[by * sw + bx] = (small[by * sw + bx] as number) / (rows * cols);
    }
  }
  const radius = Math.max(1, Math.floor(Math.min(sw, sh) / 4));
  // The lighting's overall slope is fitted as a plane and taken out before the opening, and put back after:
  // an opening clipped at the picture's edge would flatten a gradient there and leave a bright corner that
  // looks like ink. The plane is fitted to the eroded copy, where ink, and a desk showing along the edges,
  // are already replaced by the paper next to them; only its interior, where no window was clipped, counts.
  const plane = fitPlane(rankFilter(small, sw, sh, radius, false), sw, sh, radius);
  const flat = Float32Array.from(small, (value, i) => value - evaluatePlane(plane, i % sw, Math.floor(i / sw)));
  const opened = rankFilter(rankFilter(flat, sw, sh, radius, false), sw, sh, radius, true);
  for (let i = 0; i < opened.length; i += 1) opened[i] = (opened[i] as number) + evaluatePlane(plane, i % sw, Math.floor(i / sw));
  if (block === 1) return opened;
  // Bilinear back to full size, sampling block centres.
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const wxs = new Float32Array(width);
  for (let x = 0; x < width; x += 1) {
    const fx = Math.min(Math.max((x + 0.5) / block - 0.5, 0), sw - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min((x0s[x] as number) + 1, sw - 1);
    wxs[x] = fx - (x0s[x] as number);
  }
  const out = new Float32Array(width * height);
  const top = new Float32Array(sw);
  const bottom = new Float32Array(sw);
  for (let y = 0; y < height; y += 1) {
    const fy = Math.min(Math.max((y + 0.5) / block - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let sx = 0; sx < sw; sx += 1) {
      top[sx] = opened[y0 * sw + sx] as number;
      bottom[sx] = opened[y1 * sw + sx] as number;
    }
    const dst = y * width;
    for (let x = 0; x < width; x += 1) {
      const x0 = x0s[x] as number;
      const x1 = x1s[x] as number;
      const wx = wxs[x] as number;
      const t = (top[x0] as number) * (1 - wx) + (top[x1] as number) * wx;
      const b = (bottom[x0] as number) * (1 - wx) + (bottom[x1] as number) * wx;
      out[dst + x] = t + (b - t) * wy;
    }
  }
  return out;
}

type Plane = readonly [number, number, number];

function evaluatePlane(plane: Plane, x: number, y: number): number {
  return plane[0] + plane[1] * x + plane[2] * y;
}

/** Least-squares plane a + b x + c y through the samples at least `margin` inside the edges. */
function fitPlane(values: Float32Array, width: number, height: number, margin: number): Plane {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sz = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let sxz = 0;
  let syz = 0;
  const inset = 2 * margin < Math.min(width, height) ? margin : 0;
  for (let y = inset; y < height - inset; y += 1) {
    for (let x = inset; x < width - inset; x += 1) {
      const z = values[y * width + x] as number;
      n += 1;
      sx += x;
      sy += y;
      sz += z;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
      sxz += x * z;
      syz += y * z;
    }
  }
  if (n < 3) return [n > 0 ? sz / n : 0, 0, 0];
  // Centred normal equations for the two slopes.
  const mx = sx / n;
  const my = sy / n;
  const mz = sz / n;
  const cxx = sxx / n - mx * mx;
  const cyy = syy / n - my * my;
  const cxy = sxy / n - mx * my;
  const cxz = sxz / n - mx * mz;
  const cyz = syz / n - my * mz;
  const det = cxx * cyy - cxy * cxy;
  if (Math.abs(det) < 1e-9) return [mz, 0, 0];
  const b = (cxz * cyy - cyz * cxy) / det;
  const c = (cyz * cxx - cxz * cxy) / det;
  return [mz - b * mx - c * my, b, c];
}

/**
 * The paper's level and noise in the residual, in grey levels, from at most about 20,000 evenly spread
 * pixels. The level is the histogram's mode: the paper is the most common grey even when a desk or shadow
 * covers a large part of the picture (which would pull a median). The noise is measured on the paper's dark
 * side only (1.4826 x the median distance below the mode), since ink, desk and shadow all lie above it.
 * Both are 0 for a clean synthetic picture such as an MNIST digit.
 */
function noiseOf(residual: Float32Array): { median: number; sigma: number } {
  const stride = Math.max(1, Math.floor(residual.length / 20_000));
  const signed = new Uint32Array(511);
  for (let i = 0; i < residual.length; i += stride) {
    const b = Math.round(residual[i] as number) + 255;
    bump(signed, b < 0 ? 0 : Math.min(b, 510));
  }
  let mode = 255;
  let best = -1;
  for (let b = 0; b < signed.length; b += 1) {
    let around = 0;
    for (let k = Math.max(0, b - 2); k <= Math.min(510, b + 2); k += 1) around += signed[k] as number;
    if (around > best) {
      best = around;
      mode = b;
    }
  }
  // The fullest single bin near the fullest neighbourhood (a clean black background is exactly 0).
  const centre = mode;
  for (let k = Math.max(0, centre - 2); k <= Math.min(510, centre + 2); k += 1) {
    if ((signed[k] as number) > (signed[mode] as number)) mode = k;
  }
  // Distances below the mode, and half of the pixels at the mode itself (its share of the symmetric noise).
  const below = new Uint32Array(256);
  let count = 0;
  for (let b = 0; b <= mode; b += 1) {
    const n = b === mode ? Math.ceil((signed[b] as number) / 2) : (signed[b] as number);
    below[Math.min(255, mode - b)] = (below[Math.min(255, mode - b)] as number) + n;
    count += n;
  }
  const sigma = count > 0 ? 1.4826 * percentileOf(below, count, 0.5) : 0;
  return { median: mode - 255, sigma };
}

/** A 3x3 binomial blur ([1 2 1] along rows and columns), edges repeated. */
function smooth(src: Float32Array, width: number, height: number): Float32Array {
  const rows = new Float32Array(src.length);
  for (let y = 0; y < height; y += 1) {
    const r = y * width;
    for (let x = 0; x < width; x += 1) {
      const l = src[r + Math.max(0, x - 1)] as number;
      const c = src[r + x] as number;
      const rt = src[r + Math.min(width - 1, x + 1)] as number;
      rows[r + x] = 0.25 * l + 0.5 * c + 0.25 * rt;
    }
  }
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y += 1) {
    const up = Math.max(0, y - 1) * width;
    const down = Math.min(height - 1, y + 1) * width;
    const r = y * width;
    for (let x = 0; x < width; x += 1) {
      out[r + x] = 0.25 * (rows[up + x] as number) + 0.5 * (rows[r + x] as number) + 0.25 * (rows[down + x] as number);
    }
  }
  return out;
}

function noDigit(): HttpError {
  return new UnprocessableImageError('no digit found: the image has no ink that stands out from the background', 'no_digit');
}

/**
 * From greyscale to the digit's ink: polarity normalised to light ink, the lighting subtracted, the ink's
 * levels stretched so that stroke cores reach 1 (as in MNIST) while the antialiased edges keep their grey,
 * noise below a floor set from the paper's own noise zeroed, and the crop taken around the connected pieces
 * of ink that matter.
 */
function extractInk(grey: Float32Array, width: number, height: number, lossless: boolean): InkPatch {
  const n = width * height;
  const lightPaper = isDarkInkOnLightPaper(grey);
  const v = new Float32Array(n);
  if (lightPaper) for (let i = 0; i < n; i += 1) v[i] = 255 - (grey[i] as number);
  else v.set(grey);
  const background = estimateBackground(v, width, height);
  let residual: Float32Array = new Float32Array(n);
  if (lightPaper) {
    // Light falling on paper scales paper and ink alike, so ink is measured relative to the paper under it
    // (flat-field correction): a stroke in a shadow keeps the contrast it has in the light.
    for (let i = 0; i < n; i += 1) {
      const b = background[i] as number;
      const paper = b < 239 ? 255 - b : 16;
      residual[i] = (((v[i] as number) - b) * 255) / paper;
    }
  } else {
    for (let i = 0; i < n; i += 1) residual[i] = (v[i] as number) - (background[i] as number);
  }

  // The paper's level and noise (see noiseOf). Noisy paper is smoothed first, so that grain next to a
  // stroke does not chain onto it and widen the crop; clean pictures (an MNIST digit itself) are left
  // exactly as they are.
  let { median, sigma } = noiseOf(residual);
  for (let pass = 0; pass < 2 && sigma > 1; pass += 1) {
    residual = smooth(residual, width, height);
    ({ median, sigma } = noiseOf(residual));
  }

  const stride = Math.max(1, Math.floor(n / 50_000));
  const inkHist = new Uint32Array(256);
  let sampled = 0;
  for (let i = 0; i < n; i += stride) {
    const r = Math.round(residual[i] as number);
    bump(inkHist, r < 0 ? 0 : Math.min(r, 255));
    sampled += 1;
  }
  const coreThreshold = Math.max(otsu(inkHist, sampled), median + NOISE_SIGMAS_CORE * sigma, median + MIN_INK_CONTRAST);
  let coreCount = 0;
  let coreMax = 0;
  const coreHist = new Uint32Array(256);
  for (let i = 0; i < n; i += 1) {
    const r = residual[i] as number;
    if (r > coreThreshold) {
      coreCount += 1;
      if (r > coreMax) coreMax = r;
      bump(coreHist, Math.min(255, Math.round(r)));
    }
  }
  if (coreCount === 0) throw noDigit();
  // Stroke cores are stretched to full ink (as in MNIST) at the 90th percentile of the ink, which outliers
  // cannot move. A noiseless, losslessly encoded picture (an MNIST digit, a canvas drawing) is only scaled,
  // by its own maximum and without a floor, so that its grey levels keep their proportions and an MNIST
  // digit comes back as it was, centre of mass included.
  const clean = lossless && sigma === 0;
  const inkLevel = clean ? coreMax : percentileOf(coreHist, coreCount, 0.9);
  const floor = clean ? median : median + Math.max(NOISE_SIGMAS_FLOOR * sigma, 1);
  if (inkLevel - floor < MIN_INK_CONTRAST / 2) throw noDigit();

  const ink = new Float32Array(n);
  const gain = 1 / (inkLevel - floor);
  for (let i = 0; i < n; i += 1) {
    const t = ((residual[i] as number) - floor) * gain;
    ink[i] = t <= 0 ? 0 : Math.min(t, 1);
  }
  // JPEG ringing, blur and enlargement leave a faint fringe that would widen the crop, and noise leaves
  // specks. A noiseless picture already at about MNIST's scale has neither: there faint edge pixels are the
  // antialiasing the model expects and every mark belongs to the box, as in MNIST itself.
  const mnistScale = clean && Math.max(width, height) <= 2 * IMAGE_SIZE;
  return cropToDigit(ink, residual, coreThreshold, mnistScale ? 0 : BOX_LEVEL, mnistScale, width, height);
}

/**
 * Labels 8-connected pieces of ink, keeps the pieces that hold real ink (a core pixel) and weigh at least
 * SPECK_MASS_RATIO of the heaviest, and crops to the box of their pixels above `boxLevel` with everything
 * else zeroed. With `keepAll` (a noiseless picture, where nothing is noise) every piece is kept, as MNIST
 * kept every mark of its scans in the box; only a desk along the edge is still left out.
 */
function cropToDigit(
  ink: Float32Array,
  residual: Float32Array,
  coreThreshold: number,
  boxLevel: number,
  keepAll: boolean,
  width: number,
  height: number,
): InkPatch {
  const n = width * height;
  const labels = new Int32Array(n);
  const stack = new Int32Array(n);
  const mass: number[] = [0];
  const hasCore: boolean[] = [false];
  const onEdge: number[] = [0];
  const boxes: [number, number, number, number][] = [[0, 0, 0, 0]];
  let next = 1;
  for (let start = 0; start < n; start += 1) {
    if (labels[start] !== 0 || (ink[start] as number) <= 0) continue;
    const label = next;
    next += 1;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let m = 0;
    let core = false;
    let edgePixels = 0;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    while (top > 0) {
      const p = stack[--top] as number;
      const x = p % width;
      const y = (p - x) / width;
      m += ink[p] as number;
      if ((residual[p] as number) > coreThreshold) core = true;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) edgePixels += 1;
      if ((ink[p] as number) > boxLevel) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (labels[q] === 0 && (ink[q] as number) > 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    mass.push(m);
    hasCore.push(core);
    onEdge.push(edgePixels);
    boxes.push([x0, y0, x1, y1]);
  }
  // A piece that runs along the picture's edge for a long stretch is the desk or the shadow around a
  // photographed sheet, not the digit (a stroke that reaches the edge touches it only for its width), as
  // long as something else is left to be the digit.
  const candidate = (l: number): boolean => keepAll || hasCore[l] === true;
  const edgeRun = EDGE_CONTACT * Math.min(width, height);
  const alongEdge = (l: number): boolean => (onEdge[l] as number) >= edgeRun;
  let heaviest = 0;
  let heaviestInside = 0;
  for (let l = 1; l < next; l += 1) {
    if (!candidate(l)) continue;
    heaviest = Math.max(heaviest, mass[l] as number);
    if (!alongEdge(l)) heaviestInside = Math.max(heaviestInside, mass[l] as number);
  }
  if (heaviest === 0) throw noDigit();
  const dropEdgePieces = heaviestInside > 0;
  if (dropEdgePieces) heaviest = heaviestInside;
  const keep = new Uint8Array(next);
  let bx0 = width;
  let by0 = height;
  let bx1 = -1;
  let by1 = -1;
  for (let l = 1; l < next; l += 1) {
    if (!candidate(l) || (!keepAll && (mass[l] as number) < SPECK_MASS_RATIO * heaviest)) continue;
    if (dropEdgePieces && alongEdge(l)) continue;
    keep[l] = 1;
    const [x0, y0, x1, y1] = boxes[l] as [number, number, number, number];
    bx0 = Math.min(bx0, x0);
    by0 = Math.min(by0, y0);
    bx1 = Math.max(bx1, x1);
    by1 = Math.max(by1, y1);
  }
  const cw = bx1 - bx0 + 1;
  const ch = by1 - by0 + 1;
  if (Math.max(cw, ch) < Math.max(3, MIN_DIGIT_SPAN * Math.max(width, height))) throw noDigit();
  const values = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y += 1) {
    for (let x = 0; x < cw; x += 1) {
      const p = (by0 + y) * width + bx0 + x;
      if (keep[labels[p] as number]) values[y * cw + x] = ink[p] as number;
    }
  }
  return { values, width: cw, height: ch };
}

/**
 * Thin pen lines on a large picture would shrink to faint hairlines in the 20 px box, which MNIST never
 * shows; when the strokes are thinner than MIN_STROKE box pixels they are dilated to about TARGET_STROKE.
 * Stroke width is estimated as 2 x area / boundary of the ink above half strength. A picture that is not
 * larger than the box cannot be thickened meaningfully and is left alone (the MNIST digit itself).
 */
function thickenThinStrokes(patch: InkPatch): InkPatch {
  const { values, width, height } = patch;
  const longer = Math.max(width, height);
  if (longer <= 2 * DIGIT_BOX) return patch;
  let area = 0;
  let boundary = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((values[y * width + x] as number) <= 0.5) continue;
      area += 1;
      const edge =
        x === 0 ||
        y === 0 ||
        x === width - 1 ||
        y === height - 1 ||
        (values[y * width + x - 1] as number) <= 0.5 ||
        (values[y * width + x + 1] as number) <= 0.5 ||
        (values[(y - 1) * width + x] as number) <= 0.5 ||
        (values[(y + 1) * width + x] as number) <= 0.5;
      if (edge) boundary += 1;
    }
  }
  const pxPerBox = longer / DIGIT_BOX;
  const stroke = boundary > 0 ? (2 * area) / boundary : 0;
  if (stroke >= MIN_STROKE * pxPerBox) return patch;
  const radius = Math.max(1, Math.round((TARGET_STROKE * pxPerBox - stroke) / 2));
  const pw = width + 2 * radius;
  const ph = height + 2 * radius;
  const padded = new Float32Array(pw * ph);
  for (let y = 0; y < height; y += 1) padded.set(values.subarray(y * width, (y + 1) * width), (y + radius) * pw + radius);
  return { values: rankFilter(padded, pw, ph, radius, true), width: pw, height: ph };
}

/**
 * Weights resampling `from` samples into `to`: area averaging when shrinking (each output pixel integrates
 * its footprint, which gives MNIST's grey antialiased edges), linear interpolation when enlarging.
 */
function resampleWeights(from: number, to: number): { index: number[]; weight: number[] }[] {
  const scale = to / from;
  const taps: { index: number[]; weight: number[] }[] = [];
  for (let o = 0; o < to; o += 1) {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale < 1) {
      const start = o / scale;
      const end = (o + 1) / scale;
      for (let i = Math.floor(start); i < Math.min(from, Math.ceil(end)); i += 1) {
        const overlap = Math.min(end, i + 1) - Math.max(start, i);
        if (overlap > 0) {
          index.push(i);
          weight.push(overlap * scale);
        }
      }
    } else {
      const centre = Math.min(Math.max((o + 0.5) / scale - 0.5, 0), from - 1);
      const i0 = Math.floor(centre);
      const i1 = Math.min(i0 + 1, from - 1);
      const w = centre - i0;
      index.push(i0, i1);
      weight.push(1 - w, w);
    }
    taps.push({ index, weight });
  }
  return taps;
}

function resize(patch: InkPatch, width: number, height: number): Float32Array {
  const cols = resampleWeights(patch.width, width);
  const rows = resampleWeights(patch.height, height);
  const across = new Float32Array(width * patch.height);
  for (let y = 0; y < patch.height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const { index, weight } = cols[x] as { index: number[]; weight: number[] };
      let s = 0;
      for (let k = 0; k < index.length; k += 1)
        s += (patch.values[y * patch.width + (index[k] as number)] as number) * (weight[k] as number);
      across[y * width + x] = s;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const { index, weight } = rows[y] as { index: number[]; weight: number[] };
    for (let x = 0; x < width; x += 1) {
      let s = 0;
      for (let k = 0; k < index.length; k += 1) s += (across[(index[k] as number) * width + x] as number) * (weight[k] as number);
      out[y * width + x] = s < 0 ? 0 : Math.min(s, 1);
    }
  }
  return out;
}

/**
 * Scales the digit's longer side to 20 px keeping its aspect ratio, and places it in 28x28 shifted by whole
 * pixels so that its centre of mass lands within half a pixel of the frame's centre (14, 14), as MNIST did;
 * the shift is clamped so that no ink leaves the frame.
 */
function frameDigit(patch: InkPatch): Float32Array {
  const longer = Math.max(patch.width, patch.height);
  const w = Math.max(1, Math.round((patch.width * DIGIT_BOX) / longer));
  const h = Math.max(1, Math.round((patch.height * DIGIT_BOX) / longer));
  const scaled = resize(patch, w, h);
  let total = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const m = scaled[y * w + x] as number;
      total += m;
      sx += m * x;
      sy += m * y;
    }
  }
  // MNIST's centres of mass, in pixel-index coordinates, all lie in [13.5, 14.5) on both axes (its test set):
  // the shift is chosen to land there too, so an MNIST digit keeps exactly its place.
  const cx = total > 0 ? sx / total : (w - 1) / 2;
  const cy = total > 0 ? sy / total : (h - 1) / 2;
  const low = IMAGE_SIZE / 2 - 0.5;
  const left = Math.min(Math.max(Math.ceil(low - cx - 1e-6), 0), IMAGE_SIZE - w);
  const top = Math.min(Math.max(Math.ceil(low - cy - 1e-6), 0), IMAGE_SIZE - h);
  const input = new Float32Array(PIXELS);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) input[(top + y) * IMAGE_SIZE + left + x] = scaled[y * w + x] as number;
  }
  return input;
}

/** The input as a greyscale PNG data URL (encoded in JS: a libvips pipeline costs 20 times more for 784 bytes). */
function previewPng(input: Float32Array): string {
  const bytes = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i += 1) bytes[i] = Math.round((input[i] as number) * 255);
  return `data:image/png;base64,${encodeGreyPng(bytes, IMAGE_SIZE, IMAGE_SIZE).toString('base64')}`;
}
