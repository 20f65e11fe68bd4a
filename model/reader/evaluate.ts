/**
 * The held-out matrix, for one model version or several side by side: per category of heldout.ts, the share read
 * exactly right and the share refused, each version reading through the service's own path (the serving model
 * of layers/predict/serving-model.ts: the upload's checks, then the digit pipeline and classifier, or the
 * reader's geometry and network), with its time per picture. Contact sheets of each version's misses (the upload
 * beside the input the model saw) go to .local/reader-misses/<version>/<category>.png.
 *
 *   npm run model:compare -- --models classifier,reader              the serving pipeline against the reader
 *   npm run model:compare -- --models reader,.local/reader-next      the shipped reader against a candidate
 *
 * A version is `classifier` (model/, or --classifier-dir), `reader` (model/reader/, with the classifier's second
 * opinion on one digit, as the service reads) or the folder of a reader's model.json and weights.bin; `:alone` after
 * either, the reader without the second opinion. Options: --count 100 (pictures a drawn category), --mnist 1000, --optdigits 500,
 * --non-digits 300, --backend wasm, --only cat1,cat2, --markdown file (the table, also printed), --floors 0.1,0.3
 * (what refusing every number whose probability, the product of its digits', is under each floor would give).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { BackendChoice } from '#classifier/backend';
import { loadClassifier } from '#classifier/classifier';
import type { StageTimings } from '#observability/timings';
import { classifierModel, isRefusal, readerModel, type ServingModel } from '#predict/serving-model';
import { prepareInput } from '#reader/geometry';
import { defaultReaderDir, loadReader } from '#reader/reader';
import { readerPreview } from '#reader/serving';
import { CATEGORIES, type Category, heldOutPicture } from './heldout';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'reader' },
    count: { type: 'string', default: '100' },
    mnist: { type: 'string', default: '1000' },
    optdigits: { type: 'string', default: '500' },
    'non-digits': { type: 'string', default: '300' },
    backend: { type: 'string', default: 'wasm' },
    'classifier-dir': { type: 'string' },
    only: { type: 'string' },
    markdown: { type: 'string' },
    floors: { type: 'string' },
    misses: { type: 'string', default: join(__dirname, '..', '..', '.local', 'reader-misses') },
  },
});

/** The issue's targets per category: the share read right (for non-digits, refused). */
const TARGETS: Record<Category, number> = {
  'single-plain': 0.97,
  'form-box': 0.97,
  'slanted-photo': 0.97,
  'numbers-jpeg': 0.97,
  'colour-ink': 0.97,
  transparent: 0.97,
  touching: 0.93,
  optdigits: 0.97,
  'mnist-test': 0.996,
  'non-digits': 0.9,
  'drawn-pad': 0.97,
};

interface Miss {
  bytes: Buffer;
  preview: string | null;
  expected: string;
  got: string;
}

interface Cell {
  total: number;
  right: number;
  refused: number;
  /** Decoder errors and the like: a miss that is neither a reading nor a refusal. */
  failed: number;
  preprocessMs: number;
  inferenceMs: number;
  misses: Miss[];
  /** Each number answered: its probability (the product of its digits') and whether it was right. */
  answered: Array<{ p: number; right: boolean }>;
}

async function loadVersion(name: string, backend: BackendChoice): Promise<ServingModel> {
  if (name === 'classifier') {
    const dir = args['classifier-dir'];
    return classifierModel(await loadClassifier(dir ? { backend, modelDir: dir } : { backend }));
  }
  // `<folder>:alone` (or `reader:alone`) reads without the classifier's second opinion, as the reader served before 8 December.
  const [folder, alone] = name.split(':');
  const modelDir = folder === 'reader' ? defaultReaderDir() : (folder as string);
  if (alone === 'alone') return readerModel(await loadReader({ backend, modelDir }));
  const dir = args['classifier-dir'];
  const classifier = await loadClassifier(dir ? { backend, modelDir: dir } : { backend });
  return readerModel(await loadReader({ backend, modelDir, classifier }));
}

/** Rows of [the upload fitted into 64 x 64 | the input the model saw, at 2x, when it answered one]. */
async function contactSheet(misses: readonly Miss[], file: string): Promise<void> {
  const rows = misses.slice(0, 40);
  if (rows.length === 0) return;
  const rowHeight = 68;
  const composites: sharp.OverlayOptions[] = [];
  for (const [i, miss] of rows.entries()) {
    const thumb = await sharp(miss.bytes)
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(64, 64, { fit: 'contain', background: '#808080' })
      .png()
      .toBuffer();
    composites.push({ input: thumb, left: 0, top: i * rowHeight });
    if (miss.preview) {
      const seen = Buffer.from(miss.preview.replace(/^data:image\/png;base64,/, ''), 'base64');
      const meta = await sharp(seen).metadata();
      const input = await sharp(seen)
        .resize((meta.width ?? 28) * 2, (meta.height ?? 28) * 2, { kernel: 'nearest' })
        .png()
        .toBuffer();
      composites.push({ input, left: 72, top: i * rowHeight });
    }
  }
  await sharp({ create: { width: 72 + 256, height: rows.length * rowHeight, channels: 3, background: '#c04040' } })
    .composite(composites)
    .png()
    .toFile(file);
}

async function readOne(model: ServingModel, bytes: Buffer, expected: string, cell: Cell): Promise<void> {
  const timings: StageTimings = {};
  cell.total += 1;
  try {
    const { reading } = await model.read({ bytes, declaredType: undefined }, undefined, timings);
    const p = reading.digits.reduce((product, d) => product * d.confidence, 1);
    cell.answered.push({ p, right: expected !== '' && reading.number === expected });
    if (expected !== '' && reading.number === expected) cell.right += 1;
    else cell.misses.push({ bytes, preview: reading.inputPreview, expected: expected || '-', got: reading.number });
  } catch (error: unknown) {
    if (isRefusal(error)) {
      cell.refused += 1;
      if (expected === '') cell.right += 1;
      // A refusal has no preview in the answer: for the reader, the input its geometry gave is redrawn here.
      else
        cell.misses.push({
          bytes,
          preview: model.kind === 'reader' ? readerPreview((await prepareInput(bytes)).input) : null,
          expected,
          got: 'refused',
        });
    } else {
      cell.failed += 1;
      cell.misses.push({ bytes, preview: null, expected: expected || '-', got: `error ${(error as Error).message}` });
    }
  } finally {
    cell.preprocessMs += timings.preprocessMs ?? 0;
    cell.inferenceMs += timings.inferenceMs ?? 0;
  }
}

async function main(): Promise<void> {
  const backend = args.backend as BackendChoice;
  const names = args.models.split(',').filter(Boolean);
  const models: ServingModel[] = [];
  for (const name of names) models.push(await loadVersion(name, backend));
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
    'drawn-pad': Number(args.count),
  };
  const only = args.only ? args.only.split(',') : null;
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    console.log(line);
  };
  say(`Held-out matrix, ${new Date().toISOString()}, backend ${models[0]?.backend ?? backend}; read right (refused) per version.`);
  say('');
  say(`| category | pictures | target | ${models.map((m) => `${m.kind} ${m.version}`).join(' | ')} |`);
  say(`| --- | ---: | ---: | ${models.map(() => '---:').join(' | ')} |`);
  const timing: string[] = models.map(() => '');
  const floors = args.floors ? args.floors.split(',').map(Number) : [];
  const floorLines: string[] = [];
  for (const category of CATEGORIES) {
    if (only && !only.includes(category)) continue;
    const cells: Cell[] = models.map(() => ({
      total: 0,
      right: 0,
      refused: 0,
      failed: 0,
      preprocessMs: 0,
      inferenceMs: 0,
      misses: [],
      answered: [],
    }));
    for (let n = 0; n < counts[category]; n += 1) {
      const picture = await heldOutPicture(category, n);
      for (const [i, model] of models.entries()) await readOne(model, picture.bytes, picture.expected, cells[i] as Cell);
    }
    const pct = (v: number, total: number): string => `${((100 * v) / Math.max(1, total)).toFixed(1)}%`;
    say(
      `| ${category} | ${counts[category]} | ${(100 * TARGETS[category]).toFixed(1)}% | ${cells
        .map((c) => `${pct(c.right, c.total)} (${pct(c.refused, c.total)})${c.failed ? ` ${c.failed} failed` : ''}`)
        .join(' | ')} |`,
    );
    for (const [i, cell] of cells.entries()) {
      const model = models[i] as ServingModel;
      for (const floor of floors) {
        // Under the floor a number is refused: right for a non-digit, a refusal of readable handwriting otherwise.
        const under = cell.answered.filter((a) => a.p < floor);
        const lostRight = under.filter((a) => a.right).length;
        const score = category === 'non-digits' ? cell.right + under.length : cell.right - lostRight;
        const refusedThen = cell.refused + under.length;
        floorLines.push(`| ${model.version} | ${category} | ${floor} | ${pct(score, cell.total)} | ${pct(refusedThen, cell.total)} |`);
      }
      timing[i] +=
        ` ${category} ${(cell.preprocessMs / Math.max(1, cell.total)).toFixed(1)}+${(cell.inferenceMs / Math.max(1, cell.total)).toFixed(1)} ms;`;
      if (cell.misses.length === 0) continue;
      console.error(
        `  ${model.version} ${category} misses (expected -> read): ${cell.misses
          .slice(0, 30)
          .map((m) => `${m.expected}->${m.got}`)
          .join(' ')}`,
      );
      const dir = join(args.misses, model.version);
      mkdirSync(dir, { recursive: true });
      await contactSheet(cell.misses, join(dir, `${category}.png`));
    }
  }
  if (floorLines.length > 0) {
    say('');
    say('| version | category | floor | read right (non-digits: refused) | refused |');
    say('| --- | --- | ---: | ---: | ---: |');
    for (const line of floorLines) say(line);
  }
  say('');
  for (const [i, model] of models.entries()) say(`Time per picture (checks and geometry + model), ${model.version}:${timing[i]}`);
  if (args.markdown) writeFileSync(args.markdown, `${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
