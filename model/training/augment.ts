/**
 * Seeded data augmentation for 28x28 digits, in plain TypeScript on Float32Arrays (no tensors, so it runs the
 * same on every backend and costs a few milliseconds per batch).
 *
 * Why these: people's digits differ from MNIST's scans in slant, size, position and pen width. Each image gets
 * a random affine map (rotation, zoom, shear, shift) sampled bilinearly, and some get their strokes thickened
 * or thinned. The ranges stay small enough that a 6 never becomes a 9 and a 1 never a 7.
 */
import { IMAGE_SIZE, PIXELS } from '#classifier/model-contract';

/** A deterministic generator (mulberry32): the same seed gives the same sequence on every machine. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of 0..n-1 driven by `rng`. */
export function shuffledIndices(n: number, rng: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order;
}

export interface AugmentOptions {
  /** Largest rotation either way, degrees. */
  maxRotationDeg: number;
  /** Zoom factor range is [1 - maxZoom, 1 + maxZoom]. */
  maxZoom: number;
  /** Extra independent stretch of one axis (aspect change), fraction. */
  maxAspect: number;
  /** Largest shear, degrees. */
  maxShearDeg: number;
  /** Largest shift either way, pixels. */
  maxShift: number;
  /** Share of images whose strokes are thickened (3x3 grey dilation). */
  dilateProbability: number;
  /** Share of images whose strokes are thinned (grey erosion, softened when it would erase the digit). */
  erodeProbability: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = {
  maxRotationDeg: 12,
  maxZoom: 0.1,
  maxAspect: 0.05,
  maxShearDeg: 8,
  maxShift: 2.5,
  dilateProbability: 0.12,
  erodeProbability: 0.08,
};

const CENTRE = (IMAGE_SIZE - 1) / 2;

/**
 * Writes an augmented copy of `src` (784 values in [0, 1]) into `dst`. The map is built as output -> input
 * (inverse mapping) so every output pixel is sampled exactly once.
 */
export function augmentImage(
  src: Float32Array,
  dst: Float32Array,
  rng: () => number,
  options: AugmentOptions = DEFAULT_AUGMENT,
  scratch: Float32Array = new Float32Array(PIXELS),
): void {
  const uniform = (max: number): number => (rng() * 2 - 1) * max;
  const rotation = (uniform(options.maxRotationDeg) * Math.PI) / 180;
  const shear = (uniform(options.maxShearDeg) * Math.PI) / 180;
  const zoom = 1 + uniform(options.maxZoom);
  const aspect = 1 + uniform(options.maxAspect);
  const sx = zoom * aspect;
  const sy = zoom / aspect;
  const tx = uniform(options.maxShift);
  const ty = uniform(options.maxShift);
  const strokeDraw = rng();

  // Forward map A = R(rotation) * Shear * S(sx, sy) around the centre, then shift; sample with A^-1.
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const sh = Math.tan(shear);
  // Shear in x: [1 sh; 0 1]. A = R * H * S.
  const a00 = cos * sx;
  const a01 = (cos * sh - sin) * sy;
  const a10 = sin * sx;
  const a11 = (sin * sh + cos) * sy;
  const det = a00 * a11 - a01 * a10;
  const i00 = a11 / det;
  const i01 = -a01 / det;
  const i10 = -a10 / det;
  const i11 = a00 / det;

  const warped = strokeDraw < options.dilateProbability + options.erodeProbability ? scratch : dst;
  for (let y = 0; y < IMAGE_SIZE; y += 1) {
    const dy = y - CENTRE - ty;
    for (let x = 0; x < IMAGE_SIZE; x += 1) {
      const dx = x - CENTRE - tx;
      const u = i00 * dx + i01 * dy + CENTRE;
      const v = i10 * dx + i11 * dy + CENTRE;
      warped[y * IMAGE_SIZE + x] = sampleBilinear(src, u, v);
    }
  }

  if (strokeDraw < options.dilateProbability) {
    morph(warped, dst, Math.max);
  } else if (strokeDraw < options.dilateProbability + options.erodeProbability) {
    morph(warped, dst, Math.min);
    // MNIST strokes are 2-3 px wide, so a full erosion can take most of a thin digit away; then thin it
    // half-way (the mean of the two) instead of training on a broken digit.
    let before = 0;
    let after = 0;
    for (let i = 0; i < PIXELS; i += 1) {
      before += warped[i] as number;
      after += dst[i] as number;
    }
    if (after < 0.5 * before) {
      for (let i = 0; i < PIXELS; i += 1) dst[i] = ((dst[i] as number) + (warped[i] as number)) / 2;
    }
  }
}

/** Bilinear sample at (u, v) in pixel coordinates; outside the frame is background (0). */
export function sampleBilinear(src: Float32Array, u: number, v: number): number {
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  const fx = u - x0;
  const fy = v - y0;
  const at = (x: number, y: number): number =>
    x < 0 || y < 0 || x >= IMAGE_SIZE || y >= IMAGE_SIZE ? 0 : (src[y * IMAGE_SIZE + x] as number);
  const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
  const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * Grey-level morphology with a plus-shaped 3x3 element (the centre and its four neighbours): a full 3x3
 * square would fatten MNIST's 2-3 px strokes too much. `pick` is Math.max (dilate) or Math.min (erode).
 */
export function morph(src: Float32Array, dst: Float32Array, pick: (a: number, b: number) => number): void {
  const edge = 0; // outside the frame is background
  for (let y = 0; y < IMAGE_SIZE; y += 1) {
    for (let x = 0; x < IMAGE_SIZE; x += 1) {
      const i = y * IMAGE_SIZE + x;
      let v = src[i] as number;
      v = pick(v, x > 0 ? (src[i - 1] as number) : edge);
      v = pick(v, x < IMAGE_SIZE - 1 ? (src[i + 1] as number) : edge);
      v = pick(v, y > 0 ? (src[i - IMAGE_SIZE] as number) : edge);
      v = pick(v, y < IMAGE_SIZE - 1 ? (src[i + IMAGE_SIZE] as number) : edge);
      dst[i] = v;
    }
  }
}
