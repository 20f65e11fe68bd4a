/**
 * CPU time of the reader's geometry (layers/reader/geometry.ts, bytes -> model input) per picture, all threads
 * of the process counted (process.cpuUsage covers libvips' workers), and its wall time; optionally the model's
 * time per input on a backend.
 *
 *   npx tsx model/reader/geometry-time.ts [--runs 50] [--backend wasm]
 *
 * Pictures: a 28x28 PNG (MNIST test digit, as stored); the 32 photo JPEGs that `npm run bench` and the peer's
 * side-by-side send (MNIST test digits 32-63 re-drawn as photos, 270-520 px a side, 2-6 KB; their mean); and photos
 * of a page with a four-digit number on it, with sensor noise, as JPEG (quality 90) of 1600 x 1200 (a phone's upload
 * after the page shrinks it) and 4032 x 3024 (a phone's full 12 MP).
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { BackendChoice } from '#classifier/backend';
import { IMAGE_SIZE } from '#classifier/model-contract';
import { prepareInput } from '../../layers/reader/geometry';
import { loadReader } from '../../layers/reader/reader';
import { redrawnDigit } from '../training/digit-images';
import { loadMnist } from '../training/mnist';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '50' }, backend: { type: 'string' } } });
const runs = Number(args.runs);

async function phonePhoto(width: number, height: number): Promise<Buffer> {
  const digits = loadMnist('test');
  // The number: four MNIST test digits, each a sixth of the height, multiplied onto the page.
  const composites: sharp.OverlayOptions[] = [];
  for (let i = 0; i < 4; i += 1) {
    const pixels = Buffer.from(digits.images.subarray(i * IMAGE_SIZE * IMAGE_SIZE, (i + 1) * IMAGE_SIZE * IMAGE_SIZE).map((v) => 255 - v));
    const size = Math.round(height / 6);
    const input = await sharp(pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
      .resize(size, size)
      .png()
      .toBuffer();
    composites.push({ input, left: Math.round(width / 4) + i * size, top: Math.round(height / 2.5), blend: 'multiply' });
  }
  // Paper with sensor noise, drawn here: sharp's `create` with `noise` draws the noise alone (around its mean, 0:
  // a black page), which is what this script measured until 7 December 2026.
  const paper = Buffer.alloc(width * height * 3);
  const tint = [236, 232, 222];
  let seed = 1;
  for (let i = 0; i < paper.length; i += 1) {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    paper[i] = Math.max(0, Math.min(255, (tint[i % 3] as number) + ((seed % 25) - 12)));
  }
  const page = await sharp(paper, { raw: { width, height, channels: 3 } })
    .composite(composites)
    .jpeg({ quality: 90 })
    .toBuffer();
  return page;
}

async function measure(name: string, ...pictures: Buffer[]): Promise<void> {
  for (let i = 0; i < 5; i += 1) await prepareInput(pictures[i % pictures.length] as Buffer);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i += 1) await prepareInput(pictures[i % pictures.length] as Buffer);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${name}: geometry ${((cpu.user + cpu.system) / 1000 / runs).toFixed(2)} ms CPU, ${wall.toFixed(2)} ms wall per picture (${runs} runs)`,
  );
}

async function main(): Promise<void> {
  const mnist = loadMnist('test');
  const small = await sharp(Buffer.from(mnist.images.subarray(0, IMAGE_SIZE * IMAGE_SIZE)), {
    raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 },
  })
    .png()
    .toBuffer();
  const phone = await phonePhoto(1600, 1200);
  const photo = await phonePhoto(4032, 3024);
  console.log(
    `${new Date().toISOString()}; load average ${(await import('node:os'))
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`,
  );
  await measure('28x28 PNG', small);
  const benchPhotos = await Promise.all(Array.from({ length: 32 }, async (_, i) => (await redrawnDigit(32 + i, 7)).bytes));
  await measure("the bench's 32 photo JPEGs", ...benchPhotos);
  await measure(`1600x1200 JPEG (${(phone.length / 1024).toFixed(0)} KiB)`, phone);
  await measure(`4032x3024 JPEG (${(photo.length / 1024).toFixed(0)} KiB)`, photo);
  if (args.backend) {
    const reader = await loadReader({ backend: args.backend as BackendChoice });
    const input = (await prepareInput(photo)).input;
    for (let i = 0; i < 5; i += 1) reader.readInputs([input]);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let reading = reader.readInputs([input]);
    for (let i = 1; i < runs; i += 1) reading = reader.readInputs([input]);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `model on ${reader.backend}: ${((cpu.user + cpu.system) / 1000 / runs).toFixed(2)} ms CPU, ${wall.toFixed(2)} ms wall per input; the photo reads ${JSON.stringify(reading[0] && ('refused' in reading[0] ? reading[0] : reading[0].number))}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
