/**
 * The reader's held-out matrix: per category of heldout.ts, the share read exactly right and the share refused,
 * through the service's own path (bytes -> geometry -> model, on the backend asked for, wasm by default), with
 * the geometry's and the model's time per picture. Contact sheets of the misses (the upload beside the input the
 * model saw) go to .local/reader-misses/<category>.png, their expected and read numbers to the console.
 *
 *   npx tsx model/reader/evaluate.ts [--count 100] [--mnist 1000] [--backend wasm] [--model model/reader] [--min-probability 0]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { BackendChoice } from '#classifier/backend';
import { READER_HEIGHT, READER_WIDTH, type Reading } from '../../layers/reader/contract';
import { prepareInput } from '../../layers/reader/geometry';
import { loadReader } from '../../layers/reader/reader';
import { CATEGORIES, type Category, heldOutPicture } from './heldout';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    mnist: { type: 'string', default: '1000' },
    optdigits: { type: 'string', default: '500' },
    'non-digits': { type: 'string', default: '300' },
    backend: { type: 'string', default: 'wasm' },
    model: { type: 'string' },
    'min-probability': { type: 'string', default: '0' },
    only: { type: 'string' },
    misses: { type: 'string', default: join(__dirname, '..', '..', '.local', 'reader-misses') },
  },
});

interface Miss {
  bytes: Buffer;
  input: Float32Array;
  expected: string;
  got: string;
}

const describe = (r: Reading): string =>
  'refused' in r ? `refused(${r.probability.toFixed(2)})` : `${r.number}(${r.probability.toFixed(2)})`;

/** Rows of [the upload fitted into 64 x 64 | the model's input at 2x]. */
async function contactSheet(misses: readonly Miss[], file: string): Promise<void> {
  const rows = misses.slice(0, 40);
  if (rows.length === 0) return;
  const rowHeight = READER_HEIGHT * 2 + 4;
  const width = 64 + 8 + READER_WIDTH * 2;
  const composites: sharp.OverlayOptions[] = [];
  for (const [i, miss] of rows.entries()) {
    const thumb = await sharp(miss.bytes)
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(64, rowHeight - 4, { fit: 'contain', background: '#808080' })
      .png()
      .toBuffer();
    const seen = Buffer.from(Array.from(miss.input, (v) => Math.round(255 * (1 - v))));
    const input = await sharp(seen, { raw: { width: READER_WIDTH, height: READER_HEIGHT, channels: 1 } })
      .resize(READER_WIDTH * 2, READER_HEIGHT * 2, { kernel: 'nearest' })
      .png()
      .toBuffer();
    composites.push({ input: thumb, left: 0, top: i * rowHeight }, { input, left: 72, top: i * rowHeight });
  }
  await sharp({ create: { width, height: rows.length * rowHeight, channels: 3, background: '#c04040' } })
    .composite(composites)
    .png()
    .toFile(file);
}

async function main(): Promise<void> {
  const options: Parameters<typeof loadReader>[0] = {
    backend: args.backend as BackendChoice,
    minProbability: Number(args['min-probability']),
  };
  if (args.model) options.modelDir = args.model;
  const reader = await loadReader(options);
  mkdirSync(args.misses, { recursive: true });
  const counts: Record<Category, number> = {
    'single-plain': Number(args.count),
    'form-box': Number(args.count),
    'slanted-photo': Number(args.count),
    'numbers-jpeg': Number(args.count),
    'colour-ink': Number(args.count),
    transparent: Number(args.count),
    touching: Number(args.count),
    optdigits: Number(args.optdigits),
    'mnist-test': Number(args.mnist),
    'non-digits': Number(args['non-digits']),
  };
  console.log(`reader ${reader.version} on ${reader.backend}; ${new Date().toISOString()}`);
  console.log('| category | pictures | read right | refused | geometry ms | model ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const only = args.only ? args.only.split(',') : null;
  for (const category of CATEGORIES) {
    if (only && !only.includes(category)) continue;
    let right = 0;
    let refused = 0;
    let geometryMs = 0;
    let modelMs = 0;
    const misses: Miss[] = [];
    for (let n = 0; n < counts[category]; n += 1) {
      const picture = await heldOutPicture(category, n);
      const t0 = process.hrtime.bigint();
      const prepared = await prepareInput(picture.bytes);
      const t1 = process.hrtime.bigint();
      const reading = reader.readInputs([prepared.input])[0] as Reading;
      const t2 = process.hrtime.bigint();
      geometryMs += Number(t1 - t0) / 1e6;
      modelMs += Number(t2 - t1) / 1e6;
      const isRefused = 'refused' in reading;
      if (isRefused) refused += 1;
      const ok = picture.expected === '' ? isRefused : !isRefused && reading.number === picture.expected;
      if (ok) right += 1;
      else misses.push({ bytes: picture.bytes, input: prepared.input, expected: picture.expected || '-', got: describe(reading) });
    }
    const total = counts[category];
    const pct = (v: number): string => `${((100 * v) / total).toFixed(1)}%`;
    console.log(
      `| ${category} | ${total} | ${pct(right)} | ${pct(refused)} | ${(geometryMs / total).toFixed(1)} | ${(modelMs / total).toFixed(1)} |`,
    );
    if (misses.length > 0) {
      console.error(
        `  ${category} misses (expected -> read): ${misses
          .slice(0, 40)
          .map((m) => `${m.expected}->${m.got}`)
          .join(' ')}`,
      );
      await contactSheet(misses, join(args.misses, `${category}.png`));
    }
  }
  writeFileSync(
    join(args.misses, 'README.txt'),
    'Contact sheets of the reader evaluation misses: the upload (left) and the model input (right).\n',
  );
  reader.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
