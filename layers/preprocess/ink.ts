/**
 * From greyscale to the digit's ink: the polarity told (which of ink and paper is lighter), the lighting
 * subtracted (background.ts), the paper's noise measured and smoothed away, the ink's levels stretched as in
 * MNIST, the crop taken around the pieces of ink that matter (crop.ts), and thin pen strokes thickened to
 * the width MNIST's strokes have in the 20 px box.
 */
import { DIGIT_BOX, IMAGE_SIZE } from '#classifier/model-contract';
import { estimateBackground } from './background';
import { type InkMap, type InkPatch, noDigit } from './crop';
import { removeRuledLines } from './lines';
import { otsu, percentileOf, rankFilter, smooth } from './raster';

/** Least contrast (of 255) between ink and paper for anything to count as ink. */
const MIN_INK_CONTRAST = 24;

/** Ink must stand this many noise standard deviations above the paper. */
const NOISE_SIGMAS_CORE = 5;
const NOISE_SIGMAS_FLOOR = 3;
/** Ink weaker than this (of full ink) does not widen the crop. */
const BOX_LEVEL = 0.1;

/** Stroke widths in the 20 px box: MNIST's average is about 2.8; thinner than MIN_STROKE is thickened to TARGET_STROKE. */
const MIN_STROKE = 1.5;
const TARGET_STROKE = 2.5;

/**
 * Counts one pixel into a histogram. Called per pixel, so it lives beside the loops that call it: a call into
 * another module costs an accessor lookup per pixel when the tests run the TypeScript through tsx (measured:
 * 30% of the preprocessing's CPU time).
 */
function bump(hist: Uint32Array, bin: number): void {
  hist[bin] = (hist[bin] as number) + 1;
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

/**
 * From greyscale to the ink: polarity normalised to light ink, the lighting subtracted, printed lines of
 * ruled or squared paper taken out (lines.ts), the ink's levels stretched so that stroke cores reach 1 (as in
 * MNIST) while the antialiased edges keep their grey, and noise below a floor set from the paper's own noise
 * zeroed. The crop (one digit, or each digit of a number) is taken from this map by crop.ts and segment.ts.
 */
export function extractInk(grey: Float32Array, width: number, height: number, lossless: boolean): InkMap {
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
  // A noiseless picture at MNIST's own scale has no paper to be ruled: left exactly as it is.
  if (Math.max(width, height) > 2 * IMAGE_SIZE) removeRuledLines(residual, width, height, median, sigma);

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
  return { ink, residual, coreThreshold, boxLevel: mnistScale ? 0 : BOX_LEVEL, keepAll: mnistScale, width, height };
}

/**
 * Thin pen lines on a large picture would shrink to faint hairlines in the 20 px box, which MNIST never
 * shows; when the strokes are thinner than MIN_STROKE box pixels they are dilated to about TARGET_STROKE.
 * Stroke width is estimated as 2 x area / boundary of the ink above half strength. A picture that is not
 * larger than the box cannot be thickened meaningfully and is left alone (the MNIST digit itself).
 */
export function thickenThinStrokes(patch: InkPatch): InkPatch {
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
