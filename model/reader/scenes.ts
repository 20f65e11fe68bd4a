/**
 * The reader's training scenes, drawn directly at the model's input scale (what the geometry's crop looks like
 * once it fits 32 x 128), in plain TypeScript: one to six MNIST *train* digits or none, with the spacing, size,
 * slant, pen, ink, paper, light, frames, ruling, page edges and noise of the pictures people send, then the
 * same letterbox the service applies. Negatives ("no number"): empty paper with its frames and ruling, grids of
 * dots, rows of bars, pages of tiny marks, scribbles, and pictures from tools/non-digit-images.ts (its 'train'
 * and 'extra' splits, never 'heldout') passed through the service's own geometry.
 *
 * Deliberately not shared with the held-out generator (heldout.ts): nothing there imports this file.
 */

import { IMAGE_SIZE } from '#classifier/model-contract';
import { BLANK, fittedSize, letterbox, MAX_DIGITS, READER_PIXELS } from '../../layers/reader/contract';
import type { MnistSplit } from '../training/mnist';

export type Random = () => number;

export interface Scene {
  input: Float32Array;
  /** The digits, empty for "no number". */
  digits: number[];
  /**
   * A single digit that is two MNIST digits overlaid (mixup): its position's target is `weight` on digits[0]
   * and the rest on `second`, so that the reader says "not sure" of a picture that is both.
   */
  mix?: { second: number; weight: number };
}

const between = (r: Random, lo: number, hi: number): number => lo + r() * (hi - lo);
const chance = (r: Random, p: number): boolean => r() < p;
function gaussian(r: Random): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** One MNIST digit's ink (0..1) cropped to its box, so its aspect is its own. */
interface Glyph {
  ink: Float32Array;
  width: number;
  height: number;
  label: number;
}

export class GlyphBank {
  private readonly boxes: Int16Array;
  private readonly byLabel: number[][] = Array.from({ length: 10 }, () => []);
  constructor(private readonly mnist: MnistSplit) {
    this.boxes = new Int16Array(mnist.count * 4);
    for (let n = 0; n < mnist.count; n += 1) this.byLabel[mnist.labels[n] as number]?.push(n);
    for (let n = 0; n < mnist.count; n += 1) {
      let x0 = IMAGE_SIZE;
      let y0 = IMAGE_SIZE;
      let x1 = -1;
      let y1 = -1;
      const base = n * IMAGE_SIZE * IMAGE_SIZE;
      for (let y = 0; y < IMAGE_SIZE; y += 1) {
        for (let x = 0; x < IMAGE_SIZE; x += 1) {
          if ((mnist.images[base + y * IMAGE_SIZE + x] as number) > 40) {
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
          }
        }
      }
      this.boxes.set(x1 < 0 ? [0, 0, 27, 27] : [x0, y0, x1, y1], n * 4);
    }
  }

  get count(): number {
    return this.mnist.count;
  }

  /** Glyphs a and b overlaid, a's ink weighted by `weight` (cropped to their joint box), labelled as a. */
  blend(a: number, b: number, weight: number): Glyph {
    const boxA = Array.from(this.boxes.subarray(a * 4, a * 4 + 4));
    const boxB = Array.from(this.boxes.subarray(b * 4, b * 4 + 4));
    const x0 = Math.min(boxA[0] as number, boxB[0] as number);
    const y0 = Math.min(boxA[1] as number, boxB[1] as number);
    const width = Math.max(boxA[2] as number, boxB[2] as number) - x0 + 1;
    const height = Math.max(boxA[3] as number, boxB[3] as number) - y0 + 1;
    const ink = new Float32Array(width * height);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const i = (y + y0) * IMAGE_SIZE + x + x0;
        const va = this.mnist.images[a * IMAGE_SIZE * IMAGE_SIZE + i] as number;
        const vb = this.mnist.images[b * IMAGE_SIZE * IMAGE_SIZE + i] as number;
        ink[y * width + x] = (weight * va + (1 - weight) * vb) / 255;
      }
    }
    return { ink, width, height, label: this.mnist.labels[a] as number };
  }

  label(n: number): number {
    return this.mnist.labels[n] as number;
  }

  /** The index of a random glyph of `label`. */
  pick(r: Random, label: number): number {
    const all = this.byLabel[label] as number[];
    return all[Math.floor(r() * all.length)] as number;
  }

  /** Glyph n, its strokes thickened (pen > 0) or thinned (pen < 0) by a 3x3 max or min. */
  glyph(n: number, pen: number): Glyph {
    const [x0, y0, x1, y1] = Array.from(this.boxes.subarray(n * 4, n * 4 + 4)) as [number, number, number, number];
    const pad = pen > 0 ? 1 : 0;
    const width = x1 - x0 + 1 + 2 * pad;
    const height = y1 - y0 + 1 + 2 * pad;
    const base = n * IMAGE_SIZE * IMAGE_SIZE;
    const at = (x: number, y: number): number => {
      const sx = x + x0 - pad;
      const sy = y + y0 - pad;
      return sx < 0 || sy < 0 || sx >= IMAGE_SIZE || sy >= IMAGE_SIZE
        ? 0
        : (this.mnist.images[base + sy * IMAGE_SIZE + sx] as number) / 255;
    };
    const ink = new Float32Array(width * height);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        let v = at(x, y);
        if (pen !== 0) {
          for (const [dx, dy] of [
            [1, 0],
            [-1, 0],
            [0, 1],
            [0, -1],
          ] as const) {
            const w = at(x + dx, y + dy) * Math.abs(pen);
            v = pen > 0 ? Math.max(v, w) : Math.min(v, at(x + dx, y + dy) + (1 - Math.abs(pen)));
          }
        }
        ink[y * width + x] = v;
      }
    }
    return { ink, width, height, label: this.mnist.labels[n] as number };
  }
}

/** A digit placed in scene units (the digits' height is about 1). */
interface Placed {
  glyph: Glyph;
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Inverse of its own slant and rotation: scene offset -> glyph offset. */
  a: number;
  b: number;
  c: number;
  d: number;
}

type Segment = readonly [number, number, number, number];

/** Strokes other than digits, each with a half-width and its ink darkness (0..1 of the paper's contrast). */
interface Stroke {
  segment: Segment;
  half: number;
  dark: number;
}

function sampleGlyph(g: Glyph, u: number, v: number): number {
  // u, v in 0..1 over the glyph's box; bilinear.
  const x = u * g.width - 0.5;
  const y = v * g.height - 0.5;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const px = (xx: number, yy: number): number =>
    xx < 0 || yy < 0 || xx >= g.width || yy >= g.height ? 0 : (g.ink[yy * g.width + xx] as number);
  return (px(x0, y0) * (1 - fx) + px(x0 + 1, y0) * fx) * (1 - fy) + (px(x0, y0 + 1) * (1 - fx) + px(x0 + 1, y0 + 1) * fx) * fy;
}

function segmentDistance(px: number, py: number, [x0, y0, x1, y1]: Segment): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len));
  const ex = px - (x0 + t * dx);
  const ey = py - (y0 + t * dy);
  return Math.sqrt(ex * ex + ey * ey);
}

function rectangle(x0: number, y0: number, x1: number, y1: number): Segment[] {
  return [
    [x0, y0, x1, y0],
    [x1, y0, x1, y1],
    [x1, y1, x0, y1],
    [x0, y1, x0, y0],
  ];
}

/** A smooth random path: many turns, so it reads as a scribble rather than a digit. */
function scribblePath(r: Random, x0: number, y0: number, x1: number, y1: number, points: number): Segment[] {
  const out: Segment[] = [];
  let px = between(r, x0, x1);
  let py = between(r, y0, y1);
  let angle = r() * Math.PI * 2;
  const step = Math.max(x1 - x0, y1 - y0) / 10;
  for (let i = 0; i < points * 4; i += 1) {
    angle += gaussian(r) * 0.7;
    const nx = Math.max(x0, Math.min(x1, px + Math.cos(angle) * step));
    const ny = Math.max(y0, Math.min(y1, py + Math.sin(angle) * step));
    out.push([px, py, nx, ny]);
    px = nx;
    py = ny;
  }
  return out;
}

/** A number already through the service's geometry, for SceneOptions.positivePool. */
export interface PooledNumber {
  input: Float32Array;
  digits: number[];
  mix?: Scene['mix'];
}

export interface SceneOptions {
  /** Share of scenes with no number. */
  negativeShare: number;
  /** Inputs of non-digit pictures already through the geometry, reused with light changes. */
  negativePool: readonly Float32Array[];
  /**
   * Numbers already through the service's geometry (drawn numbers, MNIST digits as stored), drawn for
   * `positivePoolShare` of the positive scenes with light changes, so that having come through sharp and the
   * geometry is no sign of "no number".
   */
  positivePool?: ReadonlyArray<PooledNumber>;
  positivePoolShare?: number;
}

type Pt = readonly [number, number];

/** Points along an ellipse arc (angles in radians, y down). */
function arcPoints(cx: number, cy: number, rx: number, ry: number, from: number, to: number, steps = 12): Pt[] {
  return Array.from({ length: steps + 1 }, (_, i) => {
    const a = from + ((to - from) * i) / steps;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as const;
  });
}

const TAU = Math.PI * 2;

/**
 * Each digit as a person draws it with a mouse, a finger or a stylus: strokes of even width through a few points,
 * in the unit box (x right, y down), a few ways each. The page's drawing pad, a tablet or a paint program sends
 * these, and nothing of MNIST's texture is in them: without them the reader learned that clean, even strokes
 * are shapes, not digits, and refused a drawn 7.
 */
const DRAWN: ReadonlyArray<ReadonlyArray<(r: Random) => Pt[][]>> = [
  [(r) => [arcPoints(0.5, 0.5, 0.42, 0.5, -Math.PI / 2 + between(r, -0.5, 0.5), -Math.PI / 2 + TAU * between(r, 0.92, 1.08), 20)]],
  [
    () => [
      [
        [0.5, 0],
        [0.5, 1],
      ],
    ],
    () => [
      [
        [0.25, 0.22],
        [0.55, 0],
        [0.55, 1],
      ],
    ],
    () => [
      [
        [0.3, 0.2],
        [0.55, 0],
        [0.55, 1],
      ],
      [
        [0.25, 1],
        [0.85, 1],
      ],
    ],
  ],
  [
    () => [[...arcPoints(0.5, 0.3, 0.38, 0.3, Math.PI * 1.05, Math.PI * 2.2, 10), [0.1, 1], [0.92, 1]]],
    () => [
      [
        [0.15, 0.2],
        [0.45, 0],
        [0.8, 0.12],
        [0.78, 0.38],
        [0.12, 1],
        [0.9, 0.96],
      ],
    ],
  ],
  [
    () => [
      [
        ...arcPoints(0.47, 0.26, 0.36, 0.26, Math.PI * 1.1, Math.PI * 2.45, 9),
        ...arcPoints(0.47, 0.74, 0.4, 0.26, -Math.PI * 0.45, Math.PI * 0.85, 10),
      ],
    ],
    () => [[[0.1, 0], [0.88, 0], [0.4, 0.42], ...arcPoints(0.48, 0.7, 0.4, 0.3, -Math.PI * 0.5, Math.PI * 0.85, 10)]],
  ],
  [
    () => [
      [
        [0.72, 1],
        [0.72, 0],
        [0.06, 0.68],
        [0.95, 0.68],
      ],
    ],
    () => [
      [
        [0.28, 0],
        [0.12, 0.62],
        [0.92, 0.62],
      ],
      [
        [0.7, 0.22],
        [0.7, 1],
      ],
    ],
  ],
  [
    () => [[[0.88, 0], [0.22, 0], [0.16, 0.45], ...arcPoints(0.48, 0.68, 0.4, 0.32, -Math.PI * 0.7, Math.PI * 0.8, 10)]],
    () => [
      [[0.2, 0], [0.14, 0.45], ...arcPoints(0.48, 0.68, 0.4, 0.32, -Math.PI * 0.7, Math.PI * 0.8, 10)],
      [
        [0.2, 0],
        [0.88, 0],
      ],
    ],
  ],
  [
    () => [[[0.8, 0.05], [0.45, 0], [0.2, 0.2], [0.1, 0.55], ...arcPoints(0.48, 0.72, 0.38, 0.28, Math.PI, Math.PI * 3, 14)]],
    () => [[[0.75, 0], [0.2, 0.5], ...arcPoints(0.5, 0.72, 0.36, 0.28, Math.PI * 1.1, Math.PI * 3.05, 12)]],
  ],
  [
    () => [
      [
        [0.06, 0],
        [0.94, 0],
        [0.35, 1],
      ],
    ],
    () => [
      [
        [0.06, 0.08],
        [0.92, 0],
        [0.5, 0.5],
        [0.4, 1],
      ],
    ],
    () => [
      [
        [0.06, 0],
        [0.94, 0],
        [0.38, 1],
      ],
      [
        [0.3, 0.5],
        [0.85, 0.5],
      ],
    ],
  ],
  [
    () => [arcPoints(0.5, 0.25, 0.3, 0.25, 0, TAU, 14), arcPoints(0.5, 0.73, 0.4, 0.27, 0, TAU, 14)],
    () => [
      [
        ...arcPoints(0.5, 0.25, 0.32, 0.25, Math.PI * 0.3, Math.PI * 1.9, 12),
        ...arcPoints(0.5, 0.73, 0.4, 0.27, -Math.PI * 0.6, Math.PI * 1.2, 14),
      ],
    ],
  ],
  [
    () => [
      arcPoints(0.47, 0.3, 0.36, 0.3, 0, TAU, 16),
      [
        [0.83, 0.3],
        [0.78, 1],
      ],
    ],
    () => [[...arcPoints(0.47, 0.3, 0.36, 0.3, -0.1, TAU - 0.3, 14), [0.83, 0.3], [0.55, 1]]],
  ],
];

/** A drawn digit: one of DRAWN's ways, its points moved a little, its strokes `width` (of the height) wide. */
function drawnGlyph(r: Random, digit: number, width: number): Glyph {
  const ways = DRAWN[digit] as ReadonlyArray<(r: Random) => Pt[][]>;
  const strokes = (ways[Math.floor(r() * ways.length)] as (r: Random) => Pt[][])(r).map((points) =>
    points.map(([x, y]) => [x + gaussian(r) * 0.025, y + gaussian(r) * 0.025] as const),
  );
  const height = 40;
  const aspect = between(r, 0.5, 0.85);
  const pad = Math.ceil((width * height) / 2) + 1;
  const w = Math.round(height * aspect) + 2 * pad;
  const h = height + 2 * pad;
  const half = (width * height) / 2;
  const segments: Segment[] = strokes.flatMap((points) =>
    points.slice(1).map((q, i): Segment => {
      const p = points[i] as Pt;
      return [pad + p[0] * (w - 2 * pad), pad + p[1] * height, pad + q[0] * (w - 2 * pad), pad + q[1] * height];
    }),
  );
  const ink = new Float32Array(w * h);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      let d = Number.POSITIVE_INFINITY;
      for (const segment of segments) d = Math.min(d, segmentDistance(x + 0.5, y + 0.5, segment));
      ink[y * w + x] = Math.max(0, Math.min(1, half + 0.5 - d));
    }
  }
  return { ink, width: w, height: h, label: digit };
}

/**
 * Strokes drawn as the page's pad or a paint program sends them, as SVG for the training's pools that go through
 * the service's own geometry (train.ts): each glyph (its strokes in the unit box, x right, y down) as polylines
 * with round caps, its points moved a little, in an even pen 6-20% of its height, dark or blue ink, on white or on
 * a transparent canvas, with a margin of its own. Without such positives the only pictures that came through
 * sharp and the geometry were the negatives' (non-digit-images.ts), and clean drawn digits were refused: "17"
 * drawn on the page read P(no number) 0.99.
 */
export function drawnSvg(r: Random, glyphs: ReadonlyArray<ReadonlyArray<ReadonlyArray<Pt>>>): string {
  const height = between(r, 60, 220);
  const pen = between(r, 0.06, 0.2) * height;
  const ink = chance(r, 0.8) ? `rgb(${Array.from({ length: 3 }, () => Math.round(between(r, 0, 60))).join(',')})` : '#1f3fa0';
  const paths: string[] = [];
  const margin = pen + between(r, 0.05, 0.6) * height;
  let x = margin;
  for (const strokes of glyphs) {
    const w = height * between(r, 0.45, 0.8);
    const slant = between(r, -0.25, 0.25);
    for (const points of strokes) {
      const d = points
        .map(([px, py], i) => {
          const u = px + gaussian(r) * 0.025;
          const v = py + gaussian(r) * 0.025;
          return `${i === 0 ? 'M' : 'L'}${(x + u * w + slant * (1 - v) * height * 0.3).toFixed(1)},${(margin + v * height).toFixed(1)}`;
        })
        .join(' ');
      paths.push(`<path d="${d}"/>`);
    }
    x += w + between(r, -0.05, 0.8) * w;
  }
  const width = Math.round(x + margin);
  const total = Math.round(height + 2 * margin);
  const background = chance(r, 0.3) ? '' : `<rect width="100%" height="100%" fill="#ffffff"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}">${background}` +
    `<g fill="none" stroke="${ink}" stroke-width="${pen.toFixed(1)}" stroke-linecap="round" stroke-linejoin="round">${paths.join('')}</g></svg>`
  );
}

/** A number drawn with DRAWN's ways (drawnSvg). */
export function drawnNumberSvg(r: Random, digits: readonly number[]): string {
  return drawnSvg(
    r,
    digits.map((digit) => {
      const ways = DRAWN[digit] as ReadonlyArray<(r: Random) => Pt[][]>;
      return (ways[Math.floor(r() * ways.length)] as (r: Random) => Pt[][])(r);
    }),
  );
}

/** The digits' count of a positive scene: single digits 30% of the time, 2..6 evenly otherwise. */
function digitCount(r: Random): number {
  return chance(r, 0.3) ? 1 : 2 + Math.floor(r() * (MAX_DIGITS - 1));
}

/**
 * The glyph as a low-resolution source would give it (a small scan, a far camera, a form's coarse grid): its ink
 * averaged over cells of `cell` x `cell` pixels, which the scene's bilinear sampling then draws up to full size
 * as soft, blunt strokes.
 */
function coarsen(glyph: Glyph, cell: number): Glyph {
  const width = Math.max(2, Math.round(glyph.width / cell));
  const height = Math.max(2, Math.round(glyph.height / cell));
  const ink = new Float32Array(width * height);
  const sx = glyph.width / width;
  const sy = glyph.height / height;
  for (let y = 0; y < glyph.height; y += 1) {
    const cy = Math.min(height - 1, Math.floor(y / sy));
    for (let x = 0; x < glyph.width; x += 1) {
      const cx = Math.min(width - 1, Math.floor(x / sx));
      ink[cy * width + cx] = (ink[cy * width + cx] as number) + (glyph.ink[y * glyph.width + x] as number) / (sx * sy);
    }
  }
  for (let i = 0; i < ink.length; i += 1) ink[i] = Math.min(1, ink[i] as number);
  return { ink, width, height, label: glyph.label };
}

/** One scene. */
export function drawScene(r: Random, bank: GlyphBank, options: SceneOptions): Scene {
  const negative = chance(r, options.negativeShare);
  if (negative && options.negativePool.length > 0 && chance(r, 0.5)) {
    return {
      input: varyPooled(r, options.negativePool[Math.floor(r() * options.negativePool.length)] as Float32Array),
      digits: [],
    };
  }
  const positives = options.positivePool ?? [];
  if (!negative && positives.length > 0 && chance(r, options.positivePoolShare ?? 0)) {
    const picked = positives[Math.floor(r() * positives.length)] as PooledNumber;
    const scene: Scene = { input: varyPooled(r, picked.input, false), digits: picked.digits };
    if (picked.mix) scene.mix = picked.mix;
    return scene;
  }
  const n = negative ? 0 : digitCount(r);
  const pen = chance(r, 0.3) ? between(r, 0.5, 1) : chance(r, 0.12) ? -between(r, 0.3, 0.7) : 0;
  const slant = between(r, -0.35, 0.35);
  const touching = n > 1 && chance(r, 0.4);
  const coarse = chance(r, 0.12) ? between(r, 1.8, 3.5) : 0;
  // A third of the numbers are drawn with even strokes (a mouse, a finger, a stylus), one width for the number.
  const drawn = chance(r, 0.35);
  const drawnWidth = between(r, 0.06, 0.2);
  // Numbers of straight strokes (1s, 7s, 4s; "11", "17", "741"): otherwise rare as whole numbers, and the negatives'
  // rows of bars and sans-serif words ("ill") taught the reader that a few parallel sticks are not a number (a
  // drawn "17" was refused at P(no number) 0.99).
  const sticks = chance(r, 0.1);
  const label = (): number => (sticks ? (chance(r, 0.6) ? 1 : chance(r, 0.6) ? 7 : 4) : Math.floor(r() * 10));
  let mix: Scene['mix'];
  const placed: Placed[] = [];
  let x = 0;
  for (let i = 0; i < n; i += 1) {
    let sharp = drawn ? drawnGlyph(r, label(), drawnWidth) : bank.glyph(bank.pick(r, label()), pen);
    if (n === 1 && !drawn && chance(r, 0.06)) {
      const a = Math.floor(r() * bank.count);
      const b = Math.floor(r() * bank.count);
      const weight = between(r, 0.25, 0.75);
      sharp = bank.blend(a, b, weight);
      const second = bank.label(b);
      if (second !== sharp.label) mix = { second, weight };
    }
    const glyph = coarse ? coarsen(sharp, coarse) : sharp;
    const h = between(r, 0.85, 1.15);
    const w = Math.max(0.18, (h * glyph.width) / glyph.height) * between(r, 0.8, 1.25);
    const gap = i === 0 ? 0 : touching ? between(r, -0.35, 0.02) * w : between(r, 0.02, 0.9) * w;
    x += gap;
    const angle = ((between(r, -8, 8) * Math.PI) / 180) * 1;
    const shear = slant + between(r, -0.1, 0.1);
    // Forward map (glyph offset -> scene offset): rotate(angle) * shear; store its inverse.
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const fa = cos;
    const fb = cos * -shear - sin;
    const fc = sin;
    const fd = sin * -shear + cos;
    const det = fa * fd - fb * fc;
    placed.push({ glyph, cx: x + w / 2, cy: between(r, -0.08, 0.08), w, h, a: fd / det, b: -fb / det, c: -fc / det, d: fa / det });
    x += w;
  }
  // The content's box in scene units (for a negative, a made-up one the size of a few digits).
  let left = 0;
  let right = n > 0 ? x : between(r, 0.8, 5);
  let top = -0.55;
  let bottom = 0.55;
  const strokes: Stroke[] = [];
  const printDark = between(r, 0.5, 1);
  const lineHalf = between(r, 0.015, 0.06);
  // Frames: a box per digit (a comb of boxes), one box round the whole, a comb field, an underline.
  const frame = r();
  if (frame < 0.14 && n > 0) {
    // A comb of boxes, one per digit, each centred on its digit (digits may touch or cross the frame).
    const pad = between(r, 0.05, 0.3);
    const cell = Math.max(...placed.map((p) => p.w)) + pad;
    for (const p of placed) {
      strokes.push(
        ...rectangle(p.cx - cell / 2, -0.5 - pad, p.cx + cell / 2, 0.5 + pad).map((segment) => ({
          segment,
          half: lineHalf * 2,
          dark: printDark,
        })),
      );
    }
    left = Math.min(left, (placed[0]?.cx ?? 0) - cell / 2);
    right = Math.max(right, (placed[placed.length - 1]?.cx ?? 0) + cell / 2);
    top = -0.5 - pad;
    bottom = 0.5 + pad;
  } else if (frame < 0.3) {
    const pad = between(r, 0.05, 0.45);
    const half = between(r, 0.03, 0.12);
    strokes.push(...rectangle(left - pad, -0.5 - pad, right + pad, 0.5 + pad).map((segment) => ({ segment, half, dark: printDark })));
    left -= pad;
    right += pad;
    top = -0.5 - pad;
    bottom = 0.5 + pad;
  } else if (frame < 0.36) {
    const y = 0.55 + between(r, 0, 0.15);
    strokes.push({ segment: [left - 0.2, y, right + 0.2, y], half: lineHalf * 1.5, dark: printDark });
    const cells = Math.max(n, 1);
    for (let i = 0; i <= cells; i += 1) {
      const tx = left - 0.1 + ((right - left + 0.2) * i) / cells;
      strokes.push({ segment: [tx, y, tx, y - between(r, 0.2, 0.5)], half: lineHalf * 1.5, dark: printDark });
    }
    bottom = y;
  } else if (frame < 0.41) {
    const y = between(r, 0.5, 0.7);
    strokes.push({ segment: [left, y, right, y + between(r, -0.1, 0.1)], half: between(r, 0.02, 0.07), dark: between(r, 0.6, 1) });
  }
  // Margins round the content: mostly the geometry's 15%, sometimes a wide context with the number small in it.
  const wide = chance(r, 0.2);
  const margin = (): number => (wide ? between(r, 0.1, 0.9) : between(r, 0.02, 0.4));
  left -= margin();
  right += margin();
  top -= margin();
  bottom += margin();
  const sceneW = right - left;
  const sceneH = bottom - top;
  // Ruling across the whole scene.
  const ruling = r();
  const rulingDark = between(r, 0.15, 0.6);
  const rulingHalf = between(r, 0.01, 0.04);
  if (ruling < 0.15) {
    const gap = between(r, 0.5, 1.3);
    for (let y = top + r() * gap; y < bottom; y += gap)
      strokes.push({ segment: [left - 1, y, right + 1, y], half: rulingHalf, dark: rulingDark });
    if (chance(r, 0.4))
      strokes.push({
        segment: [left + between(r, 0, sceneW * 0.3), top - 1, left + between(r, 0, sceneW * 0.3), bottom + 1],
        half: rulingHalf,
        dark: rulingDark,
      });
  } else if (ruling < 0.25) {
    const gap = between(r, 0.25, 0.7);
    for (let y = top + r() * gap; y < bottom; y += gap)
      strokes.push({ segment: [left - 1, y, right + 1, y], half: rulingHalf, dark: rulingDark });
    for (let xx = left + r() * gap; xx < right; xx += gap)
      strokes.push({ segment: [xx, top - 1, xx, bottom + 1], half: rulingHalf, dark: rulingDark });
  }
  const dots: Array<readonly [number, number, number]> = [];
  if (ruling >= 0.25 && ruling < 0.3) {
    const gap = between(r, 0.2, 0.5);
    for (let y = top + r() * gap; y < bottom; y += gap)
      for (let xx = left + r() * gap; xx < right; xx += gap) dots.push([xx, y, rulingHalf * 2]);
  }
  // Negatives' own drawings.
  if (negative) {
    const kind = r();
    if (kind < 0.2) {
      const gap = between(r, 0.15, 0.5);
      const size = between(r, 0.03, 0.1);
      for (let y = top + r() * gap; y < bottom; y += gap) for (let xx = left + r() * gap; xx < right; xx += gap) dots.push([xx, y, size]);
    } else if (kind < 0.35) {
      // A row of 7-20 bars, or 2-5 such rows (a barcode, a tally, a page of bars: one was read as a 4).
      const count = 7 + Math.floor(r() * 14);
      const rows = chance(r, 0.4) ? 2 + Math.floor(r() * 4) : 1;
      const gap = sceneW / (count + 1);
      const half = between(r, 0.05, 0.3) * gap;
      const pitch = (bottom - top) / rows;
      const tall = between(r, 0.4, 1) * (rows === 1 ? 1 : pitch * 0.8);
      for (let row = 0; row < rows; row += 1) {
        const cy = rows === 1 ? 0 : top + pitch * (row + 0.5);
        for (let i = 1; i <= count; i += 1)
          strokes.push({ segment: [left + i * gap, cy - tall / 2, left + i * gap, cy + tall / 2], half, dark: printDark });
      }
    } else if (kind < 0.5) {
      for (let i = 0; i < 40 + r() * 120; i += 1) {
        const mx = between(r, left, right);
        const my = between(r, top, bottom);
        const len = between(r, 0, 0.12);
        const angle = r() * Math.PI;
        strokes.push({
          segment: [mx, my, mx + Math.cos(angle) * len, my + Math.sin(angle) * len],
          half: between(r, 0.01, 0.03),
          dark: printDark,
        });
      }
    } else if (kind < 0.8) {
      const half = between(r, 0.03, 0.08);
      const paths = 1 + Math.floor(r() * 3);
      for (let p = 0; p < paths; p += 1) {
        for (const segment of scribblePath(r, left + 0.1, -0.5, right - 0.1, 0.5, 3 + Math.floor(r() * 6)))
          strokes.push({ segment, half, dark: 1 });
      }
    }
    // else: paper with only its frames and ruling, or nothing at all.
  }
  // Distractor marks beside the number, small and faint enough that the number stays the subject.
  if (!negative && wide && chance(r, 0.3)) {
    const mx = chance(r, 0.5) ? between(r, left, left + 0.3) : between(r, right - 0.3, right);
    for (const segment of scribblePath(r, mx - 0.15, top, mx + 0.15, top + 0.3, 2)) strokes.push({ segment, half: 0.02, dark: 0.4 });
  }
  const scene: Scene = { input: render(r, placed, strokes, dots, { left, top, sceneW, sceneH }), digits: placed.map((p) => p.glyph.label) };
  if (mix) scene.mix = mix;
  return scene;
}

interface Frame {
  left: number;
  top: number;
  sceneW: number;
  sceneH: number;
}

/** Paper, light, ink and camera; then the letterbox, as the service does it. */
function render(
  r: Random,
  placed: readonly Placed[],
  strokes: readonly Stroke[],
  dots: ReadonlyArray<readonly [number, number, number]>,
  frame: Frame,
): Float32Array {
  const size = fittedSize(frame.sceneW, frame.sceneH);
  const W = size.width;
  const H = size.height;
  const scale = Math.min(W / frame.sceneW, H / frame.sceneH);
  // 1. The ink, flat (scene axes), each drawing only over its own box: darkness-weighted coverage 0..1.
  const flat = new Float32Array(W * H);
  const toPx = (sx: number): number => (sx - frame.left) * scale;
  const toPy = (sy: number): number => (sy - frame.top) * scale;
  const put = (i: number, v: number): void => {
    if (v > (flat[i] as number)) flat[i] = v;
  };
  for (const s of strokes) {
    const [x0, y0, x1, y1] = s.segment;
    const reach = s.half + 1 / scale;
    const xa = Math.max(0, Math.floor(toPx(Math.min(x0, x1) - reach)));
    const xb = Math.min(W - 1, Math.ceil(toPx(Math.max(x0, x1) + reach)));
    const ya = Math.max(0, Math.floor(toPy(Math.min(y0, y1) - reach)));
    const yb = Math.min(H - 1, Math.ceil(toPy(Math.max(y0, y1) + reach)));
    for (let py = ya; py <= yb; py += 1) {
      const sy = frame.top + (py + 0.5) / scale;
      for (let px = xa; px <= xb; px += 1) {
        const dist = segmentDistance(frame.left + (px + 0.5) / scale, sy, s.segment);
        const a = (s.half - dist) * scale + 0.5;
        if (a > 0) put(py * W + px, Math.min(1, a) * s.dark);
      }
    }
  }
  for (const [dx, dy, rad] of dots) {
    const reach = rad + 1 / scale;
    for (let py = Math.max(0, Math.floor(toPy(dy - reach))); py <= Math.min(H - 1, Math.ceil(toPy(dy + reach))); py += 1) {
      for (let px = Math.max(0, Math.floor(toPx(dx - reach))); px <= Math.min(W - 1, Math.ceil(toPx(dx + reach))); px += 1) {
        const dist = Math.hypot(frame.left + (px + 0.5) / scale - dx, frame.top + (py + 0.5) / scale - dy);
        const a = (rad - dist) * scale + 0.5;
        if (a > 0) put(py * W + px, Math.min(1, a) * 0.8);
      }
    }
  }
  for (const p of placed) {
    const reach = Math.hypot(p.w, p.h) * 0.75;
    for (let py = Math.max(0, Math.floor(toPy(p.cy - reach))); py <= Math.min(H - 1, Math.ceil(toPy(p.cy + reach))); py += 1) {
      const ey = frame.top + (py + 0.5) / scale - p.cy;
      for (let px = Math.max(0, Math.floor(toPx(p.cx - reach))); px <= Math.min(W - 1, Math.ceil(toPx(p.cx + reach))); px += 1) {
        const ex = frame.left + (px + 0.5) / scale - p.cx;
        const u = (p.a * ex + p.b * ey) / p.w + 0.5;
        const v = (p.c * ex + p.d * ey) / p.h + 0.5;
        if (u < -0.05 || v < -0.05 || u > 1.05 || v > 1.05) continue;
        put(py * W + px, sampleGlyph(p.glyph, u, v));
      }
    }
  }
  // 2. Camera and light: rotation and keystone as one warp of the flat ink, then paper, shadow, table, grain.
  const paper = chance(r, 0.3) ? between(r, 110, 210) : between(r, 190, 252);
  const contrast = chance(r, 0.12) ? between(r, 0.12, 0.3) : between(r, 0.3, 0.95);
  const pencil = chance(r, 0.15);
  const gx = between(r, -50, 50) * (chance(r, 0.5) ? 1 : 0);
  const gy = between(r, -50, 50) * (chance(r, 0.5) ? 1 : 0);
  const shadow = chance(r, 0.2)
    ? { nx: gaussian(r), ny: gaussian(r), off: between(r, -0.5, 0.5), depth: between(r, 15, 80), soft: between(r, 0.02, 0.3) }
    : null;
  // A dark table beyond the page's edge, in a corner or along a side, never over the number.
  const tableAngle = r() * Math.PI * 2;
  const table = chance(r, 0.12)
    ? { nx: Math.cos(tableAngle), ny: Math.sin(tableAngle), off: between(r, 0.3, 0.5), level: between(r, 10, 100) }
    : null;
  const grain = between(r, 0, 7);
  const angle = chance(r, 0.3) ? between(r, -15, 15) : between(r, -5, 5);
  const cos = Math.cos((angle * Math.PI) / 180);
  const sin = Math.sin((angle * Math.PI) / 180);
  const keystone = chance(r, 0.25) ? between(r, -0.25, 0.25) : 0;
  const out = new Float32Array(W * H);
  const at = (xx: number, yy: number): number => (xx < 0 || yy < 0 || xx >= W || yy >= H ? 0 : (flat[yy * W + xx] as number));
  for (let py = 0; py < H; py += 1) {
    const ny = (py + 0.5) / H - 0.5;
    for (let px = 0; px < W; px += 1) {
      const nx = (px + 0.5) / W - 0.5;
      const kx = nx * (1 + keystone * ny * 2) * W;
      const ky = ny * H;
      const fx = W / 2 + cos * kx + sin * ky - 0.5;
      const fy = H / 2 - sin * kx + cos * ky - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const tx = fx - x0;
      const ty = fy - y0;
      let ink = (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty;
      if (pencil) ink *= 0.5 + 0.5 * r();
      let level = paper + gx * nx + gy * ny;
      if (shadow) {
        const t = (shadow.nx * nx + shadow.ny * ny - shadow.off) / shadow.soft;
        level -= shadow.depth * Math.max(0, Math.min(1, t + 0.5));
      }
      let value = level * (1 - contrast * ink);
      if (table && table.nx * nx + table.ny * ny - table.off > 0) value = table.level;
      out[py * W + px] = value;
    }
  }
  // 3. Blur sometimes, grain, quantise, letterbox.
  const blurred = chance(r, 0.3) ? boxBlur(out, W, H) : out;
  const noise = grain + (chance(r, 0.3) ? between(r, 0, 10) : 0);
  for (let i = 0; i < blurred.length; i += 1)
    blurred[i] = Math.max(0, Math.min(255, Math.round((blurred[i] as number) + noise * gaussian(r))));
  return letterbox({ width: W, height: H, values: blurred });
}

function boxBlur(values: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      let count = 0;
      for (let dy = -1; dy <= 1; dy += 1) {
        for (let dx = -1; dx <= 1; dx += 1) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const w = dx === 0 && dy === 0 ? 4 : dx === 0 || dy === 0 ? 2 : 1;
          sum += (values[yy * width + xx] as number) * w;
          count += w;
        }
      }
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

/** A pooled input with a little change: mirrored (negatives only), its contrast and grain varied. */
function varyPooled(r: Random, base: Float32Array, mayMirror = true): Float32Array {
  const out = new Float32Array(READER_PIXELS);
  const mirror = mayMirror && chance(r, 0.5);
  const gain = between(r, 0.7, 1.1);
  const noise = between(r, 0, 0.05);
  for (let i = 0; i < READER_PIXELS; i += 1) {
    const y = Math.floor(i / 128);
    const x = i % 128;
    const v = (base[y * 128 + (mirror ? 127 - x : x)] as number) * gain + noise * gaussian(r);
    out[i] = Math.min(1, Math.max(0, v));
  }
  return out;
}

/** The heads' targets for a scene: its length, and each position's digit or BLANK. */
export function targetsOf(digits: readonly number[]): { length: number; positions: number[] } {
  return { length: digits.length, positions: Array.from({ length: MAX_DIGITS }, (_, i) => digits[i] ?? BLANK) };
}
