/**
 * Trains the digit reader on generated scenes (scenes.ts) with TF.js on the native backend.
 *
 *   npx tsx model/reader/train.ts --minutes 50
 *
 * Options: --minutes (wall-clock budget; the learning rate follows it down a cosine), --batch, --steps (steps
 * per epoch), --pool (non-digit pictures pre-drawn through the service's geometry), --positive-pool and
 * --positive-share (numbers pre-drawn through it, and the share of positive scenes taken from them), --letter-pool
 * (pen letters drawn the same way, added to the negatives' pool), --seed, --out (where
 * model.json and weights.bin go; default model/reader). One line per epoch: loss, and sequence accuracy on a
 * fixed validation set drawn by the training generator with its own seed (positives read exactly, negatives
 * refused). The model is saved after every epoch, so a run cut short still leaves its latest weights.
 * --from <folder> continues from a saved model's weights (same architecture) instead of a fresh initialisation;
 * its learning rate then starts at --rate (default 1.5e-3) without the warm-up.
 *
 * --with-labels adds the labelled predictions of the configured store (the service's settings: PREDICTION_STORE,
 * UPLOADS_BUCKET...; `npm start`'s local store and bucket by default), each upload through the service's geometry
 * with its label (model/reader/labelled.ts): --label-share of every batch (default 0.25) is drawn from them, and
 * the held-out share (--holdout-share, 0.2, by a hash of the id) is scored after every epoch (`labelled`). With
 * --from model/reader it fine-tunes the shipped reader on what users labelled:
 *
 *   npx tsx model/reader/train.ts --from model/reader --rate 3e-4 --minutes 20 --with-labels --out .local/reader-labelled
 *
 * then fit-refusal.ts and model:compare on the folder, and model:promote -- --from it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-node';
import sharp from 'sharp';
import { IMAGE_SIZE } from '#classifier/model-contract';
import { readConfig } from '#config/config';
import { encodeGreyPng } from '#preprocess/grey-png';
import {
  decodeHeads,
  LENGTH_CLASSES,
  MAX_DIGITS,
  POSITION_CLASSES,
  READER_HEIGHT,
  READER_PIXELS,
  READER_WIDTH,
} from '../../layers/reader/contract';
import { prepareInput } from '../../layers/reader/geometry';
import { printResult } from '../../tools/child-result';
import { createRng } from '../training/augment';
import { withLabelledSource } from '../training/labelled-source';
import { loadMnist } from '../training/mnist';
import { nonDigitPicture, PEN_LETTERS } from '../training/non-digit-images';
import { createReaderModel } from './architecture';
import { type LabelledScenes, labelledScenes } from './labelled';
import {
  drawnNumberSvg,
  drawnSvg,
  drawScene,
  GlyphBank,
  type PooledNumber,
  type Random,
  type Scene,
  type SceneOptions,
  targetsOf,
} from './scenes';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '50' },
    batch: { type: 'string', default: '48' },
    steps: { type: 'string', default: '150' },
    pool: { type: 'string', default: '800' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(__dirname) },
    validation: { type: 'string', default: '600' },
    from: { type: 'string' },
    rate: { type: 'string', default: '1.5e-3' },
    'positive-pool': { type: 'string', default: '2000' },
    'letter-pool': { type: 'string', default: '400' },
    'positive-share': { type: 'string', default: '0.15' },
    'with-labels': { type: 'boolean', default: false },
    'label-share': { type: 'string', default: '0.25' },
    'holdout-share': { type: 'string' },
  },
});
const minutes = Number(args.minutes);
const batchSize = Number(args.batch);
const stepsPerEpoch = Number(args.steps);
const poolSize = Number(args.pool);
const seed = Number(args.seed);
const NEGATIVE_SHARE = 0.2;
const LR_MAX = Number(args.rate);
const LR_MIN = 3e-5;
const WARMUP_STEPS = args.from ? 0 : 100;

function batchTensors(scenes: readonly Scene[]): { x: tf.Tensor4D; ys: tf.Tensor2D[] } {
  const n = scenes.length;
  const pixels = new Float32Array(n * READER_PIXELS);
  const length = new Float32Array(n * LENGTH_CLASSES);
  const positions = Array.from({ length: MAX_DIGITS }, () => new Float32Array(n * POSITION_CLASSES));
  scenes.forEach((scene, i) => {
    pixels.set(scene.input, i * READER_PIXELS);
    const targets = targetsOf(scene.digits);
    length[i * LENGTH_CLASSES + targets.length] = 1;
    targets.positions.forEach((c, p) => {
      (positions[p] as Float32Array)[i * POSITION_CLASSES + c] = 1;
    });
    if (scene.mix) {
      const first = positions[0] as Float32Array;
      first[i * POSITION_CLASSES + (scene.digits[0] as number)] = scene.mix.weight;
      first[i * POSITION_CLASSES + scene.mix.second] = 1 - scene.mix.weight;
    }
  });
  return {
    x: tf.tensor4d(pixels, [n, READER_HEIGHT, READER_WIDTH, 1]),
    ys: [tf.tensor2d(length, [n, LENGTH_CLASSES]), ...positions.map((p) => tf.tensor2d(p, [n, POSITION_CLASSES]))],
  };
}

/**
 * Numbers through the service's own geometry, as uploads reach it: MNIST train digits as stored (28x28 PNG, light
 * on dark) and numbers drawn with an even pen on a white or transparent canvas (scenes.ts drawnNumberSvg), half
 * each. The negatives' pool came this way alone, and the reader learned that a picture that did is no number.
 */
async function positivePool(count: number, mnist: ReturnType<typeof loadMnist>): Promise<PooledNumber[]> {
  const random = createRng(seed * 7919 + 13);
  const pool: PooledNumber[] = [];
  const stored = (k: number): Uint8Array => mnist.images.subarray(k * 784, (k + 1) * 784);
  const png = (pixels: Uint8Array): Buffer => encodeGreyPng(pixels, IMAGE_SIZE, IMAGE_SIZE);
  for (let n = 0; n < count; n += 1) {
    let bytes: Buffer;
    let digits: number[];
    let mix: PooledNumber['mix'];
    if (n % 10 === 9) {
      // Two MNIST digits of different labels overlaid, as stored (a 4/9 blend through the geometry read "91"):
      // the target split by the blend's weight.
      const a = Math.floor(random() * mnist.count);
      let b = Math.floor(random() * mnist.count);
      while (mnist.labels[b] === mnist.labels[a]) b = Math.floor(random() * mnist.count);
      const weight = 0.3 + 0.4 * random();
      const pa = stored(a);
      const pb = stored(b);
      bytes = png(pa.map((v, i) => Math.round(weight * v + (1 - weight) * (pb[i] as number))));
      digits = [mnist.labels[a] as number];
      mix = { second: mnist.labels[b] as number, weight };
    } else if (n % 2 === 0) {
      const k = Math.floor(random() * mnist.count);
      bytes = png(stored(k));
      digits = [mnist.labels[k] as number];
    } else {
      const length = random() < 0.35 ? 1 : random() < 0.5 ? 2 : random() < 0.6 ? 3 : 4;
      const sticks = random() < 0.25;
      digits = Array.from({ length }, () => (sticks ? ([1, 1, 7, 4][Math.floor(random() * 4)] as number) : Math.floor(random() * 10)));
      bytes = await sharp(Buffer.from(drawnNumberSvg(random, digits)))
        .png()
        .toBuffer();
    }
    const prepared = await prepareInput(bytes);
    if (!prepared.blank) pool.push(mix ? { input: prepared.input, digits, mix } : { input: prepared.input, digits });
  }
  return pool;
}

/**
 * Letters drawn the way the positive pool's numbers are (drawnSvg: an even pen on a clean canvas), one to three of
 * the 'extra' split's pen letters (none of them digit-like), through the service's geometry: so that the clean
 * strokes of a drawing say nothing either way, and the shape does. A pen-drawn "A" was read as a 1.
 */
async function drawnLetterPool(count: number): Promise<Float32Array[]> {
  const random = createRng(seed * 104_729 + 5);
  const letters = Object.values(PEN_LETTERS);
  const pool: Float32Array[] = [];
  for (let n = 0; n < count; n += 1) {
    const glyphs = Array.from({ length: random() < 0.6 ? 1 : 2 + Math.floor(random() * 2) }, () =>
      (letters[Math.floor(random() * letters.length)] as ReadonlyArray<ReadonlyArray<readonly [number, number]>>).map((stroke) =>
        stroke.map(([x, y]) => [x / 100, y / 100] as const),
      ),
    );
    const prepared = await prepareInput(
      await sharp(Buffer.from(drawnSvg(random, glyphs)))
        .png()
        .toBuffer(),
    );
    if (!prepared.blank) pool.push(prepared.input);
  }
  return pool;
}

async function negativePool(count: number): Promise<Float32Array[]> {
  const pool: Float32Array[] = [];
  for (let n = 0; n < count; n += 1) {
    // Only the training splits: 'heldout' (other fonts, other seeds) is the evaluation's.
    const picture = await nonDigitPicture(n >> 1, n % 2 === 0 ? 'train' : 'extra');
    pool.push((await prepareInput(picture.bytes)).input);
  }
  return pool;
}

interface Score {
  exact: number;
  single: number;
  multi: number;
  refusedNegatives: number;
  refusedPositives: number;
}

function score(model: tf.LayersModel, scenes: readonly Scene[]): Score {
  const counts = { exact: 0, single: [0, 0], multi: [0, 0], negatives: [0, 0], refusedPositives: 0, positives: 0 };
  for (let start = 0; start < scenes.length; start += 100) {
    const chunk = scenes.slice(start, start + 100);
    const { x, ys } = batchTensors(chunk);
    const outputs = model.predict(x) as tf.Tensor[];
    const arrays = outputs.map((o) => o.arraySync() as number[][]);
    x.dispose();
    for (const y of ys) y.dispose();
    for (const o of outputs) o.dispose();
    chunk.forEach((scene, i) => {
      const reading = decodeHeads(
        arrays[0]?.[i] as number[],
        arrays.slice(1).map((a) => a[i] as number[]),
      );
      const expected = scene.digits.join('');
      const right = 'refused' in reading ? expected === '' : reading.number === expected;
      if (right) counts.exact += 1;
      const bucket = expected === '' ? counts.negatives : expected.length === 1 ? counts.single : counts.multi;
      bucket[1] = (bucket[1] as number) + 1;
      if (right) bucket[0] = (bucket[0] as number) + 1;
      if (expected !== '') {
        counts.positives += 1;
        if ('refused' in reading) counts.refusedPositives += 1;
      }
    });
  }
  const share = ([a, b]: number[]): number => (b ? (a as number) / (b as number) : 0);
  return {
    exact: counts.exact / scenes.length,
    single: share(counts.single),
    multi: share(counts.multi),
    refusedNegatives: share(counts.negatives),
    refusedPositives: counts.refusedPositives / Math.max(1, counts.positives),
  };
}

async function readLabelledScenes(): Promise<LabelledScenes> {
  const holdoutShare = args['holdout-share'] === undefined ? undefined : Number(args['holdout-share']);
  const labelled = await withLabelledSource(readConfig(), (source) =>
    labelledScenes(source, {
      ...(holdoutShare === undefined ? {} : { holdoutShare }),
      onSkip: (id, reason, detail) => process.stderr.write(`  skipped ${id}: ${reason}: ${detail}\n`),
    }),
  );
  const skipped = Object.entries(labelled.skipped).map(([reason, n]) => `${reason} ${n}`);
  console.log(
    `labelled predictions: ${labelled.read} read, ${labelled.train.length} to train on, ${labelled.heldOut.length} held out` +
      (skipped.length ? `; skipped: ${skipped.join(', ')}` : ''),
  );
  if (labelled.train.length === 0)
    throw new Error('--with-labels: no labelled prediction to train on (label some first: docs/labels-and-retraining.md)');
  return labelled;
}

async function main(): Promise<void> {
  const started = Date.now();
  const labelled = args['with-labels'] ? await readLabelledScenes() : undefined;
  const labelShare = labelled ? Number(args['label-share']) : 0;
  if (!(labelShare >= 0 && labelShare <= 1)) throw new Error('--label-share is a share of a batch, 0 to 1');
  const mnist = loadMnist('train');
  const bank = new GlyphBank(mnist);
  const pool = [...(await negativePool(poolSize)), ...(await drawnLetterPool(Number(args['letter-pool'])))];
  const positives = await positivePool(Number(args['positive-pool']), mnist);
  console.log(
    `backend ${tf.getBackend()}; ${bank.count} MNIST train digits; ${pool.length} non-digit pictures and ${positives.length} numbers ` +
      `pooled through the geometry in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const options: SceneOptions = {
    negativeShare: NEGATIVE_SHARE,
    negativePool: pool,
    positivePool: positives,
    positivePoolShare: Number(args['positive-share']),
  };
  const validationRandom = createRng(seed * 1_000_003 + 77);
  const validation = Array.from({ length: Number(args.validation) }, () => drawScene(validationRandom, bank, options));
  const random: Random = createRng(seed);
  const model = args.from ? await tf.loadLayersModel(`file://${join(args.from, 'model.json')}`) : createReaderModel(tf as never);
  if (args.from) console.log(`continuing from ${args.from}`);
  const optimizer = tf.train.adam(LR_MAX);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  console.log(`model: ${model.countParams()} parameters; budget ${minutes} min, batch ${batchSize}, ${stepsPerEpoch} steps an epoch`);
  mkdirSync(args.out, { recursive: true });
  const trainStart = Date.now();
  const budget = minutes * 60_000 - (trainStart - started);
  const history: object[] = [];
  let step = 0;
  for (let epoch = 1; ; epoch += 1) {
    let lossSum = 0;
    let genMs = 0;
    const epochStart = Date.now();
    for (let s = 0; s < stepsPerEpoch; s += 1) {
      const fraction = Math.min(1, (Date.now() - trainStart) / budget);
      const rate =
        step < WARMUP_STEPS ? (LR_MAX * (step + 1)) / WARMUP_STEPS : LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1 + Math.cos(Math.PI * fraction));
      (optimizer as unknown as { learningRate: number }).learningRate = rate;
      const g0 = Date.now();
      const scenes = Array.from({ length: batchSize }, () =>
        labelled && random() < labelShare
          ? (labelled.train[Math.floor(random() * labelled.train.length)] as Scene)
          : drawScene(random, bank, options),
      );
      const { x, ys } = batchTensors(scenes);
      genMs += Date.now() - g0;
      const loss = (await model.trainOnBatch(x, ys)) as number[];
      lossSum += loss[0] as number;
      x.dispose();
      for (const y of ys) y.dispose();
      step += 1;
    }
    const v = score(model, validation);
    const held = labelled && labelled.heldOut.length > 0 ? score(model, labelled.heldOut) : undefined;
    const elapsed = (Date.now() - trainStart) / 60_000;
    const line = {
      epoch,
      step,
      samples: step * batchSize,
      minutes: Number(elapsed.toFixed(1)),
      loss: Number((lossSum / stepsPerEpoch).toFixed(4)),
      exact: Number(v.exact.toFixed(4)),
      single: Number(v.single.toFixed(4)),
      multi: Number(v.multi.toFixed(4)),
      negativesRefused: Number(v.refusedNegatives.toFixed(4)),
      positivesRefused: Number(v.refusedPositives.toFixed(4)),
      ...(held ? { labelled: Number(held.exact.toFixed(4)) } : {}),
      msPerStep: Math.round((Date.now() - epochStart) / stepsPerEpoch),
      genMsPerStep: Math.round(genMs / stepsPerEpoch),
    };
    history.push(line);
    console.log(JSON.stringify(line));
    await model.save(`file://${args.out}`);
    mkdirSync(join(__dirname, '..', '..', '.local'), { recursive: true });
    writeFileSync(join(__dirname, '..', '..', '.local', 'reader-history.json'), JSON.stringify(history, null, 1));
    if (Date.now() - trainStart >= budget) break;
  }
  console.log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min; saved to ${args.out}`);
  // For a caller that runs this as a command (test/integration/retrain.test.ts): where it went and what it read.
  printResult({
    out: args.out,
    epochs: history.length,
    last: history[history.length - 1],
    labelled: labelled && {
      read: labelled.read,
      train: labelled.train.length,
      heldOut: labelled.heldOut.length,
      skipped: labelled.skipped,
    },
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
