/**
 * Raster operations on grey pictures held as Float32Array rows (width x height, no channels): a histogram's
 * percentiles and Otsu's threshold, the sliding minimum and maximum, a small blur, and resampling.
 * Plain loops over typed arrays: for pictures of at most 512 px a side they cost less than a libvips pipeline.
 */

export function percentileOf(hist: Uint32Array, total: number, q: number): number {
  const target = q * total;
  let seen = 0;
  for (let b = 0; b < hist.length; b += 1) {
    seen += hist[b] as number;
    if (seen >= target && seen > 0) return b;
  }
  return hist.length - 1;
}

/** Otsu's threshold over a histogram: the split that best separates paper from ink. */
export function otsu(hist: Uint32Array, total: number): number {
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

/** Sliding minimum or maximum over a window of `radius` on each side, along rows then columns. */
export function rankFilter(src: Float32Array, width: number, height: number, radius: number, max: boolean): Float32Array {
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

/** A 3x3 binomial blur ([1 2 1] along rows and columns), edges repeated. */
export function smooth(src: Float32Array, width: number, height: number): Float32Array {
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

/** Resamples a `from.width` x `from.height` picture to `width` x `height`, values clamped to [0, 1]. */
export function resize(patch: { values: Float32Array; width: number; height: number }, width: number, height: number): Float32Array {
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
