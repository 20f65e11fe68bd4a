/**
 * Pictures made from real MNIST test digits, for tests and bench alike: the plain 28x28 digit in any format
 * the service decodes, and the digit as people send it (re-drawn large and off-centre, dark ink on light
 * paper, coloured ink, transparent background, paper noise, uneven lighting, a sheet photographed on a desk,
 * JPEG-compressed), and multipart upload bodies holding them. Randomness is seeded, so every picture is the
 * same on every run.
 */
import sharp from 'sharp';
import { IMAGE_SIZE, PIXELS } from '#classifier/model-contract';
import { multipart } from '../../tools/events';
import { createRng } from './augment';
import { loadMnist, type MnistSplit, type SplitName } from './mnist';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';

export const MEDIA_TYPES: Record<OutputFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
};

export interface RenderedDigit {
  bytes: Buffer;
  mediaType: string;
  label: number;
  width: number;
  height: number;
}

export type Rgb = readonly [number, number, number];

export interface RenderOptions {
  format?: OutputFormat;
  /** How many times larger than 28x28 the digit is drawn (smoothly interpolated). Default 1. */
  scale?: number;
  /** Canvas size; default the digit's own size. */
  canvasWidth?: number;
  canvasHeight?: number;
  /** Top-left corner of the digit on the canvas; default centred. */
  left?: number;
  top?: number;
  /** Ink and paper colours; default white ink on black paper, as MNIST. */
  ink?: Rgb;
  paper?: Rgb;
  /** Ink only in the alpha channel: the paper is fully transparent. */
  transparent?: boolean;
  /** Standard deviation (of 255) of Gaussian paper noise. */
  noise?: number;
  /** Lighting falls linearly from 1 at the top-left corner to this factor at the bottom-right. */
  lightingLow?: number;
  /** Encoder quality for JPEG, WebP and AVIF. */
  quality?: number;
  seed?: number;
}

const splits: Partial<Record<SplitName, MnistSplit>> = {};

/**
 * The MNIST test digit `index`: 784 bytes (0 background, 255 ink) and its label. Tests and bench use the test
 * split only; the refusal head's positives (model/training/refusal-data.ts) draw people-style pictures from 'train'.
 */
export function mnistDigit(index: number, split: SplitName = 'test'): { pixels: Uint8Array; label: number } {
  splits[split] ??= loadMnist(split);
  const source = splits[split];
  if (!Number.isInteger(index) || index < 0 || index >= source.count) throw new RangeError(`no ${split} digit ${index}`);
  return {
    pixels: source.images.subarray(index * PIXELS, (index + 1) * PIXELS),
    label: source.labels[index] as number,
  };
}

/** The same seeded generator (mulberry32) as training's augmentation, so pictures repeat on every machine. */
export const seededRandom = createRng;

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

async function encode(
  raw: Buffer,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  format: OutputFormat,
  quality: number,
): Promise<Buffer> {
  const image = sharp(raw, { raw: { width, height, channels } });
  switch (format) {
    case 'png':
      return image.png().toBuffer();
    case 'jpeg':
      return image.jpeg({ quality }).toBuffer();
    case 'webp':
      return image.webp({ quality }).toBuffer();
    case 'gif':
      return image.gif().toBuffer();
    case 'tiff':
      return image.tiff().toBuffer();
    case 'avif':
      return image.avif({ quality }).toBuffer();
  }
}

/** The ink coverage (0..1) of digit `index` drawn `scale` times larger, smoothly (bicubic) interpolated. */
async function coverage(index: number, scale: number, split: SplitName = 'test'): Promise<{ values: Float32Array; size: number }> {
  const { pixels } = mnistDigit(index, split);
  const size = Math.round(IMAGE_SIZE * scale);
  const data =
    size === IMAGE_SIZE
      ? Buffer.from(pixels)
      : await sharp(Buffer.from(pixels), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
          .resize(size, size, { kernel: 'cubic' })
          .extractChannel(0)
          .raw()
          .toBuffer();
  const values = new Float32Array(size * size);
  for (let i = 0; i < values.length; i += 1) values[i] = (data[i] as number) / 255;
  return { values, size };
}

/** Draws MNIST test digit `index` as a picture: see RenderOptions. */
export async function renderDigit(index: number, options: RenderOptions = {}): Promise<RenderedDigit> {
  const format = options.format ?? 'png';
  const { values, size } = await coverage(index, options.scale ?? 1);
  const width = options.canvasWidth ?? size;
  const height = options.canvasHeight ?? size;
  const left = options.left ?? Math.floor((width - size) / 2);
  const top = options.top ?? Math.floor((height - size) / 2);
  const ink = options.ink ?? [255, 255, 255];
  const paper = options.paper ?? [0, 0, 0];
  const random = seededRandom(options.seed ?? 1);
  const noise = options.noise ?? 0;
  const lightingLow = options.lightingLow ?? 1;
  const plain =
    !options.transparent && noise === 0 && lightingLow === 1 && ink.every((c) => c === ink[0]) && paper.every((c) => c === paper[0]);
  const channels = options.transparent ? 4 : plain ? 1 : 3;
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const dx = x - left;
      const dy = y - top;
      const a = dx >= 0 && dy >= 0 && dx < size && dy < size ? (values[dy * size + dx] as number) : 0;
      const light = 1 - (1 - lightingLow) * ((x / Math.max(1, width - 1) + y / Math.max(1, height - 1)) / 2);
      const grain = noise > 0 ? noise * gaussian(random) : 0;
      const p = (y * width + x) * channels;
      if (options.transparent) {
        raw[p] = ink[0];
        raw[p + 1] = ink[1];
        raw[p + 2] = ink[2];
        raw[p + 3] = Math.round(a * 255);
        continue;
      }
      for (let c = 0; c < Math.min(channels, 3); c += 1) {
        const colour = (paper[c] as number) * (1 - a) + (ink[c] as number) * a;
        raw[p + c] = Math.max(0, Math.min(255, Math.round(colour * light + grain)));
      }
    }
  }
  const bytes = await encode(raw, width, height, channels as 1 | 3 | 4, format, options.quality ?? 90);
  return { bytes, mediaType: MEDIA_TYPES[format], label: mnistDigit(index).label, width, height };
}

/** The plain 28x28 MNIST digit, white ink on black, losslessly as PNG unless another format is asked for. */
export function plainDigit(index: number, format: OutputFormat = 'png'): Promise<RenderedDigit> {
  return renderDigit(index, { format, quality: 100 });
}

/** Dark ink on light paper, the digit scaled `scale` times and placed off-centre on a canvas with room around it. */
function offCentre(random: () => number, scale: number): Pick<RenderOptions, 'scale' | 'canvasWidth' | 'canvasHeight' | 'left' | 'top'> {
  const size = Math.round(IMAGE_SIZE * scale);
  const canvasWidth = Math.round(size * (1.3 + random() * 0.7));
  const canvasHeight = Math.round(size * (1.3 + random() * 0.7));
  return {
    scale,
    canvasWidth,
    canvasHeight,
    left: Math.floor(random() * (canvasWidth - size)),
    top: Math.floor(random() * (canvasHeight - size)),
  };
}

/**
 * The "re-drawn" digit of the accuracy-over-HTTP script: dark ink on light paper, 5 to 15 times larger,
 * off-centre on a larger sheet, JPEG-compressed (quality 70 to 90). Same index and seed, same bytes.
 */
export function redrawnDigit(index: number, seed: number): Promise<RenderedDigit> {
  const random = seededRandom(seed * 100_003 + index);
  const scale = 5 + random() * 10;
  const shade = 225 + Math.floor(random() * 30);
  const inkShade = Math.floor(random() * 50);
  return renderDigit(index, {
    ...offCentre(random, scale),
    ink: [inkShade, inkShade, inkShade],
    paper: [shade, shade, shade],
    format: 'jpeg',
    quality: 70 + Math.floor(random() * 21),
    seed,
  });
}

/**
 * Two MNIST test digits blended into one 28x28 picture (`weight` of the first, the rest of the second), as a
 * PNG: a digit the model should be unsure of, for the uncertainty tests. Labelled with the first digit.
 */
export async function blendedDigit(first: number, second: number, weight: number): Promise<RenderedDigit> {
  const a = mnistDigit(first);
  const b = mnistDigit(second);
  const pixels = Buffer.alloc(PIXELS);
  for (let i = 0; i < PIXELS; i += 1) pixels[i] = Math.round(weight * (a.pixels[i] as number) + (1 - weight) * (b.pixels[i] as number));
  const bytes = await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .png()
    .toBuffer();
  return { bytes, mediaType: 'image/png', label: a.label, width: IMAGE_SIZE, height: IMAGE_SIZE };
}

/**
 * A phone photo of a sheet lying on a dark desk: the sheet fills the middle, the desk shows along two or
 * more edges, the digit is written in dark ink on the sheet, JPEG-compressed.
 */
export async function sheetOnDesk(index: number, seed: number): Promise<RenderedDigit> {
  const random = seededRandom(seed * 7 + index);
  const sheet = await renderDigit(index, {
    scale: 8,
    canvasWidth: 300,
    canvasHeight: 300,
    ink: [25, 25, 35],
    paper: [238, 236, 228],
    noise: 4,
    seed,
  });
  const left = 20 + Math.floor(random() * 60);
  const top = 20 + Math.floor(random() * 60);
  const bytes = await sharp({
    create: { width: 300 + left + 10, height: 300 + top + 10, channels: 3, background: { r: 70, g: 55, b: 45 } },
  })
    .composite([{ input: sheet.bytes, left, top }])
    .jpeg({ quality: 85 })
    .toBuffer();
  return { bytes, mediaType: 'image/jpeg', label: sheet.label, width: 310 + left, height: 310 + top };
}

/** The variants the preprocessing must see through, each a function of the digit index and a seed. */
export const VARIANTS: Record<string, (index: number, seed: number) => Promise<RenderedDigit>> = {
  inverted: (index) => renderDigit(index, { ink: [0, 0, 0], paper: [255, 255, 255] }),
  offCentre: (index, seed) => renderDigit(index, { canvasWidth: 120, canvasHeight: 90, ...pick(seededRandom(seed), 120 - 28, 90 - 28) }),
  scaled: (index, seed) => {
    const random = seededRandom(seed);
    return renderDigit(index, { ...offCentre(random, 5 + random() * 10), ink: [255, 255, 255], paper: [0, 0, 0] });
  },
  jpeg: (index, seed) => renderDigit(index, { ...offCentre(seededRandom(seed), 6), format: 'jpeg', quality: 60 }),
  transparent: (index) => renderDigit(index, { scale: 4, canvasWidth: 160, canvasHeight: 160, transparent: true, ink: [0, 0, 0] }),
  transparentWhiteInk: (index) =>
    renderDigit(index, { scale: 4, canvasWidth: 160, canvasHeight: 160, transparent: true, ink: [255, 255, 255] }),
  colouredInk: (index, seed) =>
    renderDigit(index, { ...offCentre(seededRandom(seed), 8), ink: [20, 40, 170], paper: [250, 240, 205], format: 'jpeg', quality: 85 }),
  noisyUnevenLight: (index, seed) =>
    renderDigit(index, {
      ...offCentre(seededRandom(seed), 8),
      ink: [30, 30, 30],
      paper: [235, 235, 230],
      noise: 12,
      lightingLow: 0.55,
      seed,
    }),
  sheetOnDesk: (index, seed) => sheetOnDesk(index, seed),
  redrawn: (index, seed) => redrawnDigit(index, seed),
};

/**
 * A digit written as pen strokes (polylines in a 0..100 square), drawn `size` px tall on a `canvas`-px
 * sheet with a pen `penWidth` px wide: the fine-pen pictures MNIST-derived ones cannot give.
 */
export async function penStrokes(
  strokes: readonly (readonly [number, number])[][],
  options: { size: number; canvas: number; penWidth: number; format?: OutputFormat },
): Promise<Buffer> {
  const scale = options.size / 100;
  const offset = (options.canvas - options.size) / 2;
  const lines = strokes
    .map((points) => {
      const d = points
        .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${(offset + x * scale).toFixed(1)},${(offset + y * scale).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="#1a1a40" stroke-width="${options.penWidth}" stroke-linecap="round" stroke-linejoin="round"/>`;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${options.canvas}" height="${options.canvas}"><rect width="100%" height="100%" fill="#fbfaf5"/>${lines}</svg>`;
  const raster = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
  return options.format === 'jpeg' ? raster.jpeg({ quality: 90 }).toBuffer() : raster.png().toBuffer();
}

function pick(random: () => number, maxLeft: number, maxTop: number): { left: number; top: number } {
  return { left: Math.floor(random() * (maxLeft + 1)), top: Math.floor(random() * (maxTop + 1)) };
}

export interface DigitForm {
  body: Buffer;
  contentType: string;
  label: number;
}

/**
 * `count` multipart bodies holding real MNIST test digits from `offset` on: the plain 28x28 PNG, or the same
 * digit re-drawn as a person's photo (dark ink on paper, 5-15x larger, off-centre, JPEG). Same arguments,
 * same bytes.
 */
export async function digitForms(count: number, kind: 'plain' | 'redrawn' = 'plain', offset = 0): Promise<DigitForm[]> {
  const forms: DigitForm[] = [];
  for (let i = 0; i < count; i += 1) {
    const index = offset + i;
    const digit = kind === 'plain' ? await plainDigit(index) : await redrawnDigit(index, 7);
    const ext = kind === 'plain' ? 'png' : 'jpg';
    const { body, contentType } = multipart([
      { field: 'image', filename: `mnist-${index}.${ext}`, contentType: digit.mediaType, content: digit.bytes },
    ]);
    forms.push({ body, contentType, label: digit.label });
  }
  return forms;
}

/** A picture holding several digits (a number) or one digit on printed paper, with what it shows. */
export interface RenderedNumber {
  bytes: Buffer;
  mediaType: string;
  /** The digits shown, left to right ("407"). */
  label: string;
  width: number;
  height: number;
}

/** How a number is written: a phone photo of paper (JPEG), a drawing-pad PNG, or coloured ink on tinted paper (JPEG). */
export type NumberKind = 'paper' | 'canvas' | 'colour';
export const NUMBER_KINDS: readonly NumberKind[] = ['paper', 'canvas', 'colour'];

/** The ink's bounding box inside a 28x28 MNIST digit (columns and rows holding any ink). */
function inkBounds(index: number, split: SplitName = 'test'): { x0: number; y0: number; x1: number; y1: number } {
  const { pixels } = mnistDigit(index, split);
  let x0 = IMAGE_SIZE;
  let y0 = IMAGE_SIZE;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < IMAGE_SIZE; y += 1) {
    for (let x = 0; x < IMAGE_SIZE; x += 1) {
      if ((pixels[y * IMAGE_SIZE + x] as number) === 0) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { x0, y0, x1, y1 };
}

/** Paints `rgb` over the raster with coverage `a` (0..1) at pixel `p` of a 3-channel float canvas. */
function paint(canvas: Float32Array, p: number, rgb: Rgb, a: number): void {
  if (a <= 0) return;
  for (let c = 0; c < 3; c += 1) canvas[p * 3 + c] = (canvas[p * 3 + c] as number) * (1 - a) + (rgb[c] as number) * a;
}

/** Lighting, grain and encoding of a 3-channel float canvas, as a phone photo or a drawing pad gives it. */
async function finish(
  canvas: Float32Array,
  width: number,
  height: number,
  random: () => number,
  look: { noise: number; lightingLow: number; format: 'jpeg' | 'png'; quality: number },
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const light = 1 - (1 - look.lightingLow) * ((x / Math.max(1, width - 1) + y / Math.max(1, height - 1)) / 2);
      const grain = look.noise > 0 ? look.noise * gaussian(random) : 0;
      const p = y * width + x;
      for (let c = 0; c < 3; c += 1) raw[p * 3 + c] = Math.max(0, Math.min(255, Math.round((canvas[p * 3 + c] as number) * light + grain)));
    }
  }
  const image = sharp(raw, { raw: { width, height, channels: 3 } });
  return look.format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: look.quality }).toBuffer();
}

/**
 * A number written with MNIST digits `indices` (of the test split unless `split` says otherwise), left to right on one line as handwriting goes: each digit
 * its own size (0.8-1.2 of the line's), its own height on a wavy baseline, with gaps of 0.1-0.6 of a digit's
 * height between their ink (close, never overlapping). `kind`: a phone photo of paper (grain, uneven light,
 * JPEG), a drawing-pad PNG (dark ink on white, clean), or coloured ink on tinted paper (JPEG). Seeded.
 */
export async function numberPicture(
  indices: readonly number[],
  kind: NumberKind,
  seed: number,
  split: SplitName = 'test',
): Promise<RenderedNumber> {
  const random = seededRandom(seed * 1_000_003 + indices.reduce((a, b) => a * 31 + b, 7));
  const lineScale = (kind === 'canvas' ? 4 : 3) + random() * 3;
  const parts = await Promise.all(
    indices.map(async (index) => {
      const scale = lineScale * (0.8 + random() * 0.4);
      const { values, size } = await coverage(index, scale, split);
      const b = inkBounds(index, split);
      const k = size / IMAGE_SIZE;
      return {
        values,
        size,
        x0: Math.floor(b.x0 * k),
        x1: Math.ceil((b.x1 + 1) * k),
        y0: Math.floor(b.y0 * k),
        y1: Math.ceil((b.y1 + 1) * k),
      };
    }),
  );
  const lineHeight = IMAGE_SIZE * lineScale * (20 / 28);
  const margin = Math.round(lineHeight * 0.5);
  const placed: { left: number; top: number }[] = [];
  let cursor = margin;
  const wave = random() * Math.PI * 2;
  for (const [i, part] of parts.entries()) {
    // Where the ink's left edge goes: after the previous digit's ink and a gap.
    const left = cursor - part.x0;
    const baseline = margin + lineHeight + Math.sin(wave + i * 1.3) * lineHeight * 0.12;
    const top = Math.round(baseline - part.y1);
    placed.push({ left, top });
    cursor = left + part.x1 + Math.round(lineHeight * (0.1 + random() * 0.5));
  }
  const width = cursor + margin;
  const minTop = Math.min(...placed.map((p, i) => p.top + (parts[i]?.y0 ?? 0)));
  const shift = margin - minTop;
  const height = Math.max(...placed.map((p, i) => p.top + shift + (parts[i]?.y1 ?? 0))) + margin;
  const paper: Rgb = kind === 'canvas' ? [255, 255, 255] : kind === 'colour' ? [248, 238, 205] : [236, 234, 226];
  const inkShade = Math.floor(random() * 40);
  const inks: readonly Rgb[] = [
    [20, 40, 170],
    [170, 20, 30],
    [20, 110, 40],
  ];
  const ink: Rgb = kind === 'colour' ? (inks[Math.floor(random() * inks.length)] as Rgb) : [inkShade, inkShade, inkShade + 10];
  const canvas = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p += 1) canvas.set(paper, p * 3);
  for (const [i, part] of parts.entries()) {
    const { left, top } = placed[i] as { left: number; top: number };
    for (let y = 0; y < part.size; y += 1) {
      const cy = top + shift + y;
      if (cy < 0 || cy >= height) continue;
      for (let x = 0; x < part.size; x += 1) {
        const cx = left + x;
        if (cx < 0 || cx >= width) continue;
        paint(canvas, cy * width + cx, ink, part.values[y * part.size + x] as number);
      }
    }
  }
  const look =
    kind === 'canvas'
      ? { noise: 0, lightingLow: 1, format: 'png' as const, quality: 100 }
      : { noise: 3 + random() * 5, lightingLow: 0.75 + random() * 0.25, format: 'jpeg' as const, quality: 70 + Math.floor(random() * 21) };
  const bytes = await finish(canvas, width, height, random, look);
  return {
    bytes,
    mediaType: look.format === 'png' ? 'image/png' : 'image/jpeg',
    label: indices.map((i) => mnistDigit(i, split).label).join(''),
    width,
    height,
  };
}

/**
 * The `n`-th number of `length` digits of the numbers set: its MNIST test digits drawn (seeded) from the whole
 * test set, its kind cycling through paper, canvas and colour.
 */
export function numberOfLength(length: number, n: number): Promise<RenderedNumber> {
  const random = seededRandom(length * 100_019 + n);
  const indices = Array.from({ length }, () => Math.floor(random() * 10_000));
  return numberPicture(indices, NUMBER_KINDS[n % NUMBER_KINDS.length] as NumberKind, n + 1);
}

/** Printed paper: ruled (horizontal rules and, often, a red margin line) or squared (a grid). */
export type PaperRuling = 'ruled' | 'squared';

/**
 * MNIST test digit `index` written on ruled or squared paper, photographed: light blue or grey printed lines
 * (1.5-2.5 px, every 22-36 px for rules, 16-26 px for squares) crossing the digit or not, a red margin line
 * on most ruled sheets, the digit 4-8 times MNIST's size in dark pen, paper grain, uneven light, JPEG. Seeded.
 */
export async function linedPaperDigit(index: number, ruling: PaperRuling, seed: number): Promise<RenderedNumber> {
  const random = seededRandom(seed * 7_919 + index * 13 + (ruling === 'ruled' ? 1 : 2));
  const scale = 4 + random() * 4;
  const { values, size } = await coverage(index, scale);
  const width = Math.round(size * (1.4 + random() * 0.6));
  const height = Math.round(size * (1.3 + random() * 0.5));
  const left = Math.floor(random() * (width - size));
  const top = Math.floor(random() * (height - size));
  const paper: Rgb = [246 + Math.floor(random() * 8), 245 + Math.floor(random() * 8), 236 + Math.floor(random() * 12)];
  const lineColour: Rgb = random() < 0.6 ? [150, 180, 225] : [185, 185, 190];
  const thickness = 1.5 + random();
  const spacing = ruling === 'ruled' ? 22 + random() * 14 : 16 + random() * 10;
  const offsetY = random() * spacing;
  const offsetX = random() * spacing;
  const margin = ruling === 'ruled' && random() < 0.7 ? Math.round(width * (0.08 + random() * 0.15)) : -1;
  const canvas = new Float32Array(width * height * 3);
  // Coverage of a line of `thickness` centred on `centre`, for the pixel spanning [i, i + 1).
  const lineCover = (i: number, centre: number): number => Math.max(0, Math.min(1, thickness / 2 + 0.5 - Math.abs(i + 0.5 - centre)));
  const nearest = (i: number, offset: number): number => offset + Math.round((i + 0.5 - offset) / spacing) * spacing;
  for (let y = 0; y < height; y += 1) {
    const rowCover = lineCover(y, nearest(y, offsetY));
    for (let x = 0; x < width; x += 1) {
      const p = y * width + x;
      canvas.set(paper, p * 3);
      paint(canvas, p, lineColour, rowCover);
      if (ruling === 'squared') paint(canvas, p, lineColour, lineCover(x, nearest(x, offsetX)));
      if (margin >= 0) paint(canvas, p, [225, 120, 120], lineCover(x, margin));
    }
  }
  const inkShade = Math.floor(random() * 45);
  const ink: Rgb = random() < 0.3 ? [25, 35, 120] : [inkShade, inkShade, inkShade + 10];
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) paint(canvas, (top + y) * width + left + x, ink, values[y * size + x] as number);
  }
  const bytes = await finish(canvas, width, height, random, {
    noise: 2 + random() * 5,
    lightingLow: 0.75 + random() * 0.25,
    format: 'jpeg',
    quality: 70 + Math.floor(random() * 21),
  });
  return { bytes, mediaType: 'image/jpeg', label: String(mnistDigit(index).label), width, height };
}
