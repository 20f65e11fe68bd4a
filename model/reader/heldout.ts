/**
 * Held-out pictures for the reader's evaluation, drawn by code that shares nothing with the training scenes
 * (scenes.ts): real picture files (PNG, JPEG, RGBA) built with sharp at full size, MNIST *test* digits only,
 * other parameter ranges, and the non-digit generator's 'heldout' split (fonts and seeds training never saw).
 * The reader reads them through the service's own path (decode, geometry, model), as a user's upload.
 */
import sharp from 'sharp';
import { IMAGE_SIZE } from '#classifier/model-contract';
import { createRng } from '../training/augment';
import { loadMnist, type MnistSplit } from '../training/mnist';
import { nonDigitPicture } from '../training/non-digit-images';
import { loadOptdigits, type OptDigit } from './optdigits';

export const CATEGORIES = [
  'single-plain',
  'form-box',
  'slanted-photo',
  'numbers-jpeg',
  'colour-ink',
  'transparent',
  'touching',
  'optdigits',
  'mnist-test',
  'non-digits',
  'drawn-pad',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface HeldOutPicture {
  bytes: Buffer;
  /** The number written, '' when there is none (the picture must be refused). */
  expected: string;
}

type Rgb = readonly [number, number, number];
type Rand = () => number;
const uniform = (rand: Rand, lo: number, hi: number): number => lo + (hi - lo) * rand();
const integer = (rand: Rand, lo: number, hi: number): number => Math.floor(uniform(rand, lo, hi + 1));

/** Ink coverage 0..1 over a width x height canvas. */
interface Coverage {
  width: number;
  height: number;
  ink: Float32Array;
}

let test: MnistSplit | null = null;
const mnistTest = (): MnistSplit => {
  test ??= loadMnist('test');
  return test;
};
let opt: OptDigit[] | null = null;

/** MNIST test digit `index` resized by sharp (bicubic) to size x size, as coverage. */
async function digitAt(index: number, size: number): Promise<Coverage> {
  const split = mnistTest();
  const pixels = Buffer.from(split.images.subarray(index * IMAGE_SIZE * IMAGE_SIZE, (index + 1) * IMAGE_SIZE * IMAGE_SIZE));
  const data = await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return { width: size, height: size, ink: Float32Array.from(data, (v) => v / 255) };
}

/** Columns of a coverage holding ink, so digits are spaced by their strokes and not MNIST's padding. */
function inkColumns(c: Coverage): [number, number] {
  let lo = c.width;
  let hi = -1;
  for (let y = 0; y < c.height; y += 1) {
    for (let x = 0; x < c.width; x += 1) {
      if ((c.ink[y * c.width + x] as number) > 0.2) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  return hi < 0 ? [0, c.width - 1] : [lo, hi];
}

/** Digits set in a row on a canvas: `advance` is the gap between ink extents as a share of the digit size. */
async function row(
  rand: Rand,
  indices: readonly number[],
  size: number,
  advance: () => number,
  canvas: { padX: number; padY: number },
): Promise<Coverage> {
  const glyphs = await Promise.all(indices.map((i) => digitAt(i, size)));
  const lefts: number[] = [];
  let x = 0;
  glyphs.forEach((g, i) => {
    const [lo, hi] = inkColumns(g);
    if (i > 0) x += Math.round(advance() * size);
    lefts.push(x - lo);
    x += hi - lo + 1;
  });
  const padX = Math.round(canvas.padX);
  const padY = Math.round(canvas.padY);
  const width = x + 2 * padX;
  const height = size + 2 * padY;
  const ink = new Float32Array(width * height);
  glyphs.forEach((g, i) => {
    const dy = padY + integer(rand, -Math.round(size * 0.05), Math.round(size * 0.05));
    for (let y = 0; y < g.height; y += 1) {
      for (let gx = 0; gx < g.width; gx += 1) {
        const cx = padX + (lefts[i] as number) + gx;
        const cy = dy + y;
        if (cx < 0 || cy < 0 || cx >= width || cy >= height) continue;
        const k = cy * width + cx;
        ink[k] = Math.max(ink[k] as number, g.ink[y * g.width + gx] as number);
      }
    }
  });
  return { width, height, ink };
}

/** Paints coverage onto paper: RGB raw, with a soft light falloff and sensor noise. */
function paint(rand: Rand, c: Coverage, ink: Rgb, paper: Rgb, noise: number, falloff: number): Buffer {
  const out = Buffer.alloc(c.width * c.height * 3);
  for (let y = 0; y < c.height; y += 1) {
    for (let x = 0; x < c.width; x += 1) {
      const a = c.ink[y * c.width + x] as number;
      const light = 1 - falloff * (x / c.width);
      for (let ch = 0; ch < 3; ch += 1) {
        const v = ((paper[ch] as number) * (1 - a) + (ink[ch] as number) * a) * light + noise * (rand() + rand() + rand() - 1.5);
        out[(y * c.width + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

const encode = (raw: Buffer, width: number, height: number, channels: 3 | 4, jpeg?: number): Promise<Buffer> => {
  const image = sharp(raw, { raw: { width, height, channels } });
  return (jpeg ? image.jpeg({ quality: jpeg }) : image.png()).toBuffer();
};

const darkInk = (rand: Rand): Rgb => {
  const v = integer(rand, 10, 70);
  return [v, v, v + integer(rand, 0, 30)];
};
const whitePaper = (rand: Rand): Rgb => {
  const v = integer(rand, 225, 255);
  return [v, v, v - integer(rand, 0, 10)];
};
const lengthOf = (rand: Rand, lo: number, hi: number): number => integer(rand, lo, hi);
const testIndices = (rand: Rand, count: number): number[] => Array.from({ length: count }, () => integer(rand, 0, 9_999));
const labelOf = (indices: readonly number[]): string => indices.map((i) => mnistTest().labels[i] as number).join('');

async function singlePlain(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, 1);
  const size = integer(rand, 56, 150);
  const c = await row(rand, indices, size, () => 0, { padX: uniform(rand, 0.1, 0.8) * size, padY: uniform(rand, 0.1, 0.6) * size });
  return { bytes: await encode(paint(rand, c, darkInk(rand), whitePaper(rand), 4, 0.1), c.width, c.height, 3), expected: labelOf(indices) };
}

/** Strokes of a printed frame drawn into a coverage: a rectangle `thick` px wide. */
function frameInto(c: Coverage, x0: number, y0: number, x1: number, y1: number, thick: number): void {
  for (let y = Math.max(0, y0); y < Math.min(c.height, y1); y += 1) {
    for (let x = Math.max(0, x0); x < Math.min(c.width, x1); x += 1) {
      if (x - x0 < thick || x1 - 1 - x < thick || y - y0 < thick || y1 - 1 - y < thick) c.ink[y * c.width + x] = 1;
    }
  }
}

async function formBox(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, 1);
  const size = integer(rand, 44, 90);
  const pad = Math.round(size * uniform(rand, 0.25, 0.7));
  const c = await row(rand, indices, size, () => 0, { padX: pad, padY: pad });
  const thick = integer(rand, 2, 5);
  const inset = integer(rand, Math.round(pad * 0.2), Math.round(pad * 0.7));
  frameInto(c, inset, inset, c.width - inset, c.height - inset, thick);
  return {
    bytes: await encode(paint(rand, c, darkInk(rand), whitePaper(rand), 5, 0.05), c.width, c.height, 3, integer(rand, 75, 95)),
    expected: labelOf(indices),
  };
}

/** Solves the 8 unknowns of the homography mapping the unit square's corners to `to`. */
function homography(to: ReadonlyArray<readonly [number, number]>): number[] {
  const from = [
    [0, 0],
    [1, 0],
    [1, 1],
    [0, 1],
  ] as const;
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    const [x, y] = from[i] as readonly [number, number];
    const [u, v] = to[i] as readonly [number, number];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  // Gaussian elimination with partial pivoting.
  for (let col = 0; col < 8; col += 1) {
    let pivot = col;
    for (let r = col + 1; r < 8; r += 1) if (Math.abs(a[r]?.[col] as number) > Math.abs(a[pivot]?.[col] as number)) pivot = r;
    [a[col], a[pivot]] = [a[pivot] as number[], a[col] as number[]];
    [b[col], b[pivot]] = [b[pivot] as number, b[col] as number];
    for (let r = 0; r < 8; r += 1) {
      if (r === col) continue;
      const f = (a[r]?.[col] as number) / (a[col]?.[col] as number);
      for (let k = col; k < 8; k += 1) (a[r] as number[])[k] = (a[r]?.[k] as number) - f * (a[col]?.[k] as number);
      b[r] = (b[r] as number) - f * (b[col] as number);
    }
  }
  return b.map((v, i) => v / (a[i]?.[i] as number));
}

async function slantedPhoto(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, 1);
  const size = integer(rand, 60, 110);
  const page = await row(rand, indices, size, () => 0, { padX: size * uniform(rand, 0.8, 1.4), padY: size * uniform(rand, 0.8, 1.4) });
  const width = integer(rand, 260, 380);
  const height = integer(rand, 260, 380);
  const jitter = (v: number, spread: number): number => v + uniform(rand, -spread, spread);
  // The page's corners in the photo: a trapezoid, tilted, filling 55-85% of the frame.
  const fill = uniform(rand, 0.55, 0.85);
  const mx = (width * (1 - fill)) / 2;
  const my = (height * (1 - fill)) / 2;
  const narrow = uniform(rand, 0, 0.18) * width;
  const top = rand() < 0.5;
  const corners: Array<[number, number]> = [
    [jitter(mx + (top ? narrow : 0), 15), jitter(my, 15)],
    [jitter(width - mx - (top ? narrow : 0), 15), jitter(my, 15)],
    [jitter(width - mx - (top ? 0 : narrow), 15), jitter(height - my, 15)],
    [jitter(mx + (top ? 0 : narrow), 15), jitter(height - my, 15)],
  ];
  const [h0, h1, h2, h3, h4, h5, h6, h7] = homography(corners) as [number, number, number, number, number, number, number, number];
  // Inverse of the 3x3 matrix [a b c; d e f; g h 1], to map each photo pixel back onto the page.
  const [a, b, c, d, e, f, g, h] = [h0, h1, h2, h3, h4, h5, h6, h7];
  const det = a * (e - f * h) - b * (d - f * g) + c * (d * h - e * g);
  const inv = [e - f * h, c * h - b, b * f - c * e, f * g - d, a - c * g, c * d - a * f, d * h - e * g, b * g - a * h, a * e - b * d].map(
    (v) => v / det,
  ) as [number, number, number, number, number, number, number, number, number];
  const [i0, i1, i2, i3, i4, i5, i6, i7, i8] = inv;
  const tableLevel = integer(rand, 25, 95);
  const paperLevel = integer(rand, 190, 245);
  const inkLevel = integer(rand, 15, 70);
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const w = i6 * x + i7 * y + i8;
      const u = (i0 * x + i1 * y + i2) / w;
      const v = (i3 * x + i4 * y + i5) / w;
      let value: number;
      if (u < 0 || v < 0 || u > 1 || v > 1) value = tableLevel + 12 * Math.sin(x / 7 + y / 13);
      else {
        const px = Math.min(page.width - 1, Math.floor(u * page.width));
        const py = Math.min(page.height - 1, Math.floor(v * page.height));
        const a = page.ink[py * page.width + px] as number;
        value = (paperLevel * (1 - a) + inkLevel * a) * (1 - 0.2 * v);
      }
      const noise = 6 * (rand() - 0.5);
      raw[(y * width + x) * 3] = Math.max(0, Math.min(255, Math.round(value + noise + 6)));
      raw[(y * width + x) * 3 + 1] = Math.max(0, Math.min(255, Math.round(value + noise)));
      raw[(y * width + x) * 3 + 2] = Math.max(0, Math.min(255, Math.round(value + noise - 8)));
    }
  }
  return { bytes: await encode(raw, width, height, 3, integer(rand, 70, 92)), expected: labelOf(indices) };
}

async function numbersJpeg(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, lengthOf(rand, 2, 6));
  const size = integer(rand, 30, 56);
  // The number small in a wider picture: margins of 0.3-1.2 times the number's own width, 1-2.5 digit heights.
  const padX = Math.round(indices.length * size * 0.7 * uniform(rand, 0.3, 1.2));
  const padY = Math.round(size * uniform(rand, 1, 2.5));
  const c = await row(rand, indices, size, () => uniform(rand, 0.08, 0.45), { padX, padY });
  return {
    bytes: await encode(paint(rand, c, darkInk(rand), whitePaper(rand), 6, 0.15), c.width, c.height, 3, integer(rand, 50, 80)),
    expected: labelOf(indices),
  };
}

const INKS: readonly Rgb[] = [
  [30, 60, 190],
  [20, 40, 140],
  [200, 30, 30],
  [150, 20, 40],
  [20, 130, 50],
  [40, 100, 60],
];
const TINTS: readonly Rgb[] = [
  [250, 240, 200],
  [255, 225, 230],
  [225, 240, 255],
  [230, 250, 225],
  [240, 235, 225],
];

async function colourInk(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, lengthOf(rand, 2, 6));
  const size = integer(rand, 32, 80);
  const c = await row(rand, indices, size, () => uniform(rand, 0.1, 0.5), {
    padX: size * uniform(rand, 0.2, 0.8),
    padY: size * uniform(rand, 0.2, 0.8),
  });
  const ink = INKS[integer(rand, 0, INKS.length - 1)] as Rgb;
  const paper = TINTS[integer(rand, 0, TINTS.length - 1)] as Rgb;
  return { bytes: await encode(paint(rand, c, ink, paper, 3, 0), c.width, c.height, 3), expected: labelOf(indices) };
}

async function transparent(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, lengthOf(rand, 2, 6));
  const size = integer(rand, 28, 80);
  const c = await row(rand, indices, size, () => uniform(rand, 0.1, 0.5), {
    padX: size * uniform(rand, 0.1, 0.6),
    padY: size * uniform(rand, 0.1, 0.6),
  });
  const ink = rand() < 0.5 ? ([0, 0, 0] as Rgb) : (INKS[integer(rand, 0, INKS.length - 1)] as Rgb);
  const raw = Buffer.alloc(c.width * c.height * 4);
  for (let i = 0; i < c.width * c.height; i += 1) {
    raw[i * 4] = ink[0];
    raw[i * 4 + 1] = ink[1];
    raw[i * 4 + 2] = ink[2];
    raw[i * 4 + 3] = Math.round((c.ink[i] as number) * 255);
  }
  return { bytes: await encode(raw, c.width, c.height, 4), expected: labelOf(indices) };
}

async function touching(rand: Rand): Promise<HeldOutPicture> {
  const indices = testIndices(rand, lengthOf(rand, 2, 4));
  const size = integer(rand, 36, 90);
  const c = await row(rand, indices, size, () => uniform(rand, -0.14, 0), {
    padX: size * uniform(rand, 0.2, 0.6),
    padY: size * uniform(rand, 0.2, 0.6),
  });
  return {
    bytes: await encode(paint(rand, c, darkInk(rand), whitePaper(rand), 4, 0.05), c.width, c.height, 3),
    expected: labelOf(indices),
  };
}

async function optdigit(rand: Rand, n: number): Promise<HeldOutPicture> {
  opt ??= loadOptdigits();
  const digit = opt[n % opt.length] as OptDigit;
  const size = integer(rand, 64, 160);
  // Drawn up from the 8x8 counts by sharp's bicubic, then "photographed": light, noise and JPEG.
  const data = await sharp(Buffer.from(digit.blocks.map((v) => Math.round((v * 255) / 16))), { raw: { width: 8, height: 8, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const pad = Math.round(size * uniform(rand, 0.15, 0.5));
  const width = size + 2 * pad;
  const c: Coverage = { width, height: width, ink: new Float32Array(width * width) };
  for (let y = 0; y < size; y += 1)
    for (let x = 0; x < size; x += 1) c.ink[(y + pad) * width + x + pad] = (data[y * size + x] as number) / 255;
  return {
    bytes: await encode(paint(rand, c, darkInk(rand), whitePaper(rand), 8, 0.15), width, width, 3, integer(rand, 70, 90)),
    expected: String(digit.label),
  };
}

async function mnistPlain(n: number): Promise<HeldOutPicture> {
  const split = mnistTest();
  const index = (n * 10 + 3) % split.count;
  const pixels = Buffer.from(split.images.subarray(index * IMAGE_SIZE * IMAGE_SIZE, (index + 1) * IMAGE_SIZE * IMAGE_SIZE));
  const bytes = await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .png()
    .toBuffer();
  return { bytes, expected: String(split.labels[index]) };
}

/**
 * One to three digits drawn on a white canvas with a round pen of even width, as the page's drawing pad, a tablet
 * or a paint program sends them: each digit a cubic Bézier path (its own forms, not the training scenes' polylines
 * and arcs), its control points moved a little, rotated and sheared, rendered by librsvg.
 */
const PAD_PATHS: readonly string[] = [
  'M0.5,0 C0.02,0 0.02,1 0.5,1 C0.98,1 0.98,0 0.5,0',
  'M0.28,0.18 L0.55,0 L0.55,1',
  'M0.1,0.25 C0.2,-0.08 0.9,-0.05 0.85,0.3 C0.8,0.55 0.3,0.75 0.08,1 L0.92,1',
  'M0.1,0.1 C0.5,-0.1 0.95,0.1 0.7,0.4 C0.6,0.48 0.4,0.48 0.4,0.48 C1.0,0.5 0.95,1.05 0.45,1 C0.3,1 0.15,0.95 0.1,0.88',
  'M0.65,1 L0.65,0 L0.05,0.7 L0.95,0.7',
  'M0.85,0 L0.2,0 L0.15,0.45 C0.5,0.3 0.95,0.5 0.85,0.8 C0.75,1.05 0.3,1.05 0.1,0.85',
  'M0.8,0.05 C0.4,-0.05 0.1,0.3 0.12,0.7 C0.15,1.05 0.85,1.05 0.85,0.7 C0.85,0.4 0.3,0.4 0.15,0.65',
  'M0.05,0 L0.95,0 C0.7,0.3 0.45,0.6 0.4,1',
  'M0.5,0.48 C0.0,0.4 0.1,0 0.5,0 C0.9,0 1.0,0.4 0.5,0.48 C0.0,0.56 0.0,1 0.5,1 C1.0,1 1.0,0.56 0.5,0.48',
  'M0.85,0.3 C0.85,-0.05 0.12,-0.05 0.12,0.3 C0.12,0.6 0.85,0.6 0.85,0.3 L0.8,1',
];

async function drawnPad(rand: Rand): Promise<HeldOutPicture> {
  const count = integer(rand, 1, 3);
  const height = 280;
  const digitHeight = uniform(rand, 0.5, 0.72) * height;
  const pen = uniform(rand, 0.06, 0.12) * height;
  const digits: number[] = [];
  const paths: string[] = [];
  let x = uniform(rand, 20, 50);
  for (let i = 0; i < count; i += 1) {
    const digit = integer(rand, 0, 9);
    digits.push(digit);
    const w = digitHeight * uniform(rand, 0.5, 0.8);
    const d = (PAD_PATHS[digit] as string).replace(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g, (pair) => {
      const [px, py] = pair.split(',').map(Number) as [number, number];
      return `${((px + uniform(rand, -0.04, 0.04)) * w).toFixed(1)},${((py + uniform(rand, -0.04, 0.04)) * digitHeight).toFixed(1)}`;
    });
    const top = (height - digitHeight) / 2 + uniform(rand, -15, 15);
    const turn = uniform(rand, -8, 8);
    const shear = uniform(rand, -12, 12);
    paths.push(
      `<path transform="translate(${x.toFixed(1)} ${top.toFixed(1)}) rotate(${turn.toFixed(1)}) skewX(${shear.toFixed(1)})" d="${d}"/>`,
    );
    x += w + uniform(rand, 0.15, 0.6) * digitHeight;
  }
  const width = Math.max(280, Math.round(x + uniform(rand, 20, 50)));
  const ink = integer(rand, 0x10, 0x40).toString(16).padStart(2, '0');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/><g fill="none" stroke="#${ink}${ink}${ink}" stroke-width="${pen.toFixed(1)}" stroke-linecap="round" stroke-linejoin="round">${paths.join('')}</g></svg>`;
  return { bytes: await sharp(Buffer.from(svg)).png().toBuffer(), expected: digits.join('') };
}

/** The n-th held-out picture of a category; the same n always gives the same picture. */
export async function heldOutPicture(category: Category, n: number): Promise<HeldOutPicture> {
  const rand = createRng(0x5eed_0000 + CATEGORIES.indexOf(category) * 100_003 + n * 7_919);
  switch (category) {
    case 'single-plain':
      return singlePlain(rand);
    case 'form-box':
      return formBox(rand);
    case 'slanted-photo':
      return slantedPhoto(rand);
    case 'numbers-jpeg':
      return numbersJpeg(rand);
    case 'colour-ink':
      return colourInk(rand);
    case 'transparent':
      return transparent(rand);
    case 'touching':
      return touching(rand);
    case 'optdigits':
      return optdigit(rand, n);
    case 'mnist-test':
      return mnistPlain(n);
    case 'non-digits': {
      const picture = await nonDigitPicture(n, 'heldout');
      return { bytes: picture.bytes, expected: '' };
    }
    case 'drawn-pad':
      return drawnPad(rand);
  }
}
