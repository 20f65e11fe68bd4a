/**
 * Ruled and squared paper: the printed lines (light blue or grey rules, a red margin line) taken out of the
 * ink before anything is measured on it, whether they cross the digit or not.
 *
 * A printed line is told from ink by three things at once: it runs across most of the picture (a row or
 * column mostly lit), it is thin (a band of a few such rows or columns), and it is lighter than the ink the
 * person wrote with (a printed rule is pale; a pen stroke, even a long thin one, is as dark as the rest of
 * the writing). Where a line crosses the digit, the pen's pixels are darker than the line's and stay.
 * Works on the residual of ink.ts (ink positive, the paper at `paper`), after lighting and noise are taken
 * out, so that a line's level is measured against the paper under it. Lines are looked for along rows and
 * columns only: a sheet photographed askew by more than a line's width over the picture is not handled yet.
 */

/** A row (column) is lit across at least this share of the picture's width (height) to be part of a line. */
const LINE_COVERAGE = 0.6;
/**
 * A band of such rows thicker than this share of the picture's longer side (and MIN_LINE_BAND px: a 2 px rule
 * spreads over 5-6 rows once antialiased, JPEG-blurred and smoothed) is not a printed line.
 */
const MAX_LINE_THICKNESS = 0.025;
const MIN_LINE_BAND = 7;
/** Rows (columns) each side of a line's band cleared with it: its faint antialiased and blurred edges. */
const LINE_EDGE = 2;
/** A printed line is at most this share of the ink's level: lighter than the writing. */
const LINE_INK_RATIO = 0.6;
/** Least contrast (of 255) for a pixel to count as lit when looking for lines. */
const MIN_LINE_CONTRAST = 8;

interface Band {
  /** First and last row (column) of the band, inclusive. */
  from: number;
  to: number;
  /** Whether the band runs along rows (a horizontal line) or columns. */
  horizontal: boolean;
  /** The line's typical residual (median of its lit pixels). */
  level: number;
}

function medianOf(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Bands of consecutive rows (or columns) lit across most of the picture, each no thicker than `maxThickness`, with their level. */
function findBands(
  residual: Float32Array,
  width: number,
  height: number,
  lit: number,
  count: Uint32Array,
  horizontal: boolean,
  maxThickness: number,
): Band[] {
  const lines = horizontal ? height : width;
  const along = horizontal ? width : height;
  const bands: Band[] = [];
  const need = LINE_COVERAGE * along;
  for (let i = 0; i < lines; ) {
    if ((count[i] as number) < need) {
      i += 1;
      continue;
    }
    let j = i;
    while (j + 1 < lines && (count[j + 1] as number) >= need) j += 1;
    if (j - i + 1 <= maxThickness) {
      // Sampled: a line's level needs a few hundred of its pixels, not all.
      const samples: number[] = [];
      const step = Math.max(1, Math.floor(along / 256));
      for (let k = i; k <= j; k += 1) {
        for (let a = 0; a < along; a += step) {
          const v = residual[horizontal ? k * width + a : a * width + k] as number;
          if (v > lit) samples.push(v);
        }
      }
      bands.push({ from: i, to: j, horizontal, level: medianOf(samples) });
    }
    i = j + 1;
  }
  return bands;
}

/**
 * Takes printed lines out of `residual` in place: each pixel of a line (and of the rows or columns each side
 * of it, its antialiased edge) nearer the line's level than the ink's is set back to the paper's level `paper`.
 * Returns how many lines were taken out. Pictures without such lines are left exactly as they were.
 */
export function removeRuledLines(residual: Float32Array, width: number, height: number, paper: number, sigma: number): number {
  const lit = paper + Math.max(MIN_LINE_CONTRAST, 4 * sigma);
  const maxThickness = Math.max(MIN_LINE_BAND, Math.round(MAX_LINE_THICKNESS * Math.max(width, height)));
  // Lit pixels per row and per column, in one pass (the only cost for a picture without lines).
  const perRow = new Uint32Array(height);
  const perColumn = new Uint32Array(width);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    let inRow = 0;
    for (let x = 0; x < width; x += 1) {
      if ((residual[row + x] as number) > lit) {
        inRow += 1;
        perColumn[x] = (perColumn[x] as number) + 1;
      }
    }
    perRow[y] = inRow;
  }
  const bands = [
    ...findBands(residual, width, height, lit, perRow, true, maxThickness),
    ...findBands(residual, width, height, lit, perColumn, false, maxThickness),
  ];
  if (bands.length === 0) return 0;

  // The writing's level: the darkest lit pixels away from every candidate line (and its edges).
  const rowsOut = new Uint8Array(height);
  const colsOut = new Uint8Array(width);
  for (const b of bands) {
    const mask = b.horizontal ? rowsOut : colsOut;
    for (let i = Math.max(0, b.from - LINE_EDGE); i <= Math.min(mask.length - 1, b.to + LINE_EDGE); i += 1) mask[i] = 1;
  }
  const inBand = (x: number, y: number): boolean => rowsOut[y] === 1 || colsOut[x] === 1;
  const hist = new Uint32Array(256);
  let litCount = 0;
  const stride = Math.max(1, Math.floor((width * height) / 100_000));
  for (let p = 0; p < residual.length; p += stride) {
    const v = residual[p] as number;
    if (v <= lit) continue;
    const x = p % width;
    if (inBand(x, (p - x) / width)) continue;
    hist[Math.min(255, Math.round(v))] = (hist[Math.min(255, Math.round(v))] as number) + 1;
    litCount += 1;
  }
  if (litCount === 0) return 0;
  let seen = 0;
  let inkLevel = 255;
  for (let b = 255; b >= 0; b -= 1) {
    seen += hist[b] as number;
    if (seen >= 0.02 * litCount) {
      inkLevel = b;
      break;
    }
  }

  let removed = 0;
  for (const band of bands) {
    if (band.level > LINE_INK_RATIO * inkLevel) continue;
    removed += 1;
    // A pixel nearer the ink's level than the line's is the pen crossing it.
    const ceiling = (band.level + inkLevel) / 2;
    const lines = band.horizontal ? height : width;
    const along = band.horizontal ? width : height;
    for (let k = Math.max(0, band.from - LINE_EDGE); k <= Math.min(lines - 1, band.to + LINE_EDGE); k += 1) {
      for (let a = 0; a < along; a += 1) {
        const p = band.horizontal ? k * width + a : a * width + k;
        if ((residual[p] as number) <= ceiling) residual[p] = paper;
      }
    }
  }
  return removed;
}
