/**
 * Trains the MNIST CNN on all 60,000 training images and writes it in TF.js layers format
 * (model.json + weights.bin) with its training history.
 *
 *   npm run train                         # native TensorFlow (npm run native-tf once), defaults below
 *   npm run train -- --seed 7 --epochs 20 --out .local/run2
 *
 * Seeded: the seed fixes the weight initialisation, the data order, the dropout masks and every augmentation
 * draw. Two runs on this machine wrote bit-identical weights; another CPU (other oneDNN kernels) may differ
 * in the last bits.
 *
 * The test set is evaluated after each epoch only to draw the training curves; nothing is chosen by it (the
 * model written is the one after the last epoch, never the best epoch on test).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as tfTypes from '@tensorflow/tfjs';
import { IMAGE_CHANNELS, IMAGE_SIZE, NUM_CLASSES, normalisePixels, PIXELS } from '../layers/model-contract';
import { ARCHITECTURE_SUMMARY, createModel } from './architecture';
import { type AugmentOptions, augmentImage, createRng, DEFAULT_AUGMENT, shuffledIndices } from './augment';
import { loadMnist, type MnistSplit, mnistChecksums } from './mnist';
import { EpochProgress, formatDuration } from './progress';

export interface TrainOptions {
  seed: number;
  epochs: number;
  batchSize: number;
  /** Peak learning rate of the one-cycle schedule. */
  maxLearningRate: number;
  /** Where model.json, weights.bin and training-history.json go. */
  outDir: string;
  /** Train on the first N images only (smoke tests); undefined = all 60,000. */
  limit?: number;
  /** Stop after this many batches in total (smoke tests). */
  maxSteps?: number;
  /** Evaluate on the test set after each epoch for the curves. */
  validate: boolean;
  augment: AugmentOptions | null;
  /** Silence the progress bar (tests). */
  quiet?: boolean;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 20251121,
  epochs: 12,
  batchSize: 128,
  maxLearningRate: 3e-3,
  outDir: resolve(__dirname),
  validate: true,
  augment: DEFAULT_AUGMENT,
};

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  seconds: number;
}

export interface TrainingHistory {
  /** False in the checkpoints written after each epoch before the last. */
  complete: boolean;
  version: string;
  seed: number;
  epochs: number;
  batchSize: number;
  maxLearningRate: number;
  schedule: string;
  augment: AugmentOptions | null;
  architecture: string;
  parameterCount: number;
  backend: string;
  tfjsVersion: string;
  trainImages: number;
  datasetSha256: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  trainingTimeSeconds: number;
  weightsSha256: string;
  history: EpochRecord[];
}

/**
 * One-cycle schedule over the whole run: a linear warm-up from max/25 to max over the first 15% of steps,
 * then a cosine decay to max/1000. Warm-up keeps Adam's early, noisy steps from wrecking the batch-norm
 * statistics; the long decay is what takes the last tenths of a percent.
 */
export function oneCycleLearningRate(step: number, totalSteps: number, max: number): number {
  const warmup = Math.max(1, Math.round(totalSteps * 0.15));
  if (step < warmup) return max / 25 + (max - max / 25) * (step / warmup);
  const t = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  const min = max / 1000;
  return min + (max - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** The model's version: date and the first 8 hex digits of the weights' SHA-256. */
export function modelVersion(weightsSha256: string, date = new Date()): string {
  return `mnist-cnn-${date.toISOString().slice(0, 10).replace(/-/g, '')}-${weightsSha256.slice(0, 8)}`;
}

function toTensors(tf: typeof tfTypes, split: MnistSplit): { x: tfTypes.Tensor4D; y: tfTypes.Tensor2D } {
  const x = tf.tensor4d(normalisePixels(split.images), [split.count, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS]);
  const y = tf.oneHot(tf.tensor1d(split.labels, 'int32'), NUM_CLASSES).toFloat() as tfTypes.Tensor2D;
  return { x, y };
}

/** Writes the model as tfjs-node's `file://` handler would: model.json plus one weights.bin. */
async function saveModel(model: tfTypes.LayersModel, tf: typeof tfTypes, outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  let digest = '';
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
      digest = createHash('sha256').update(weights).digest('hex');
      writeFileSync(join(outDir, 'weights.bin'), weights);
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(outDir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
  return digest;
}

export async function train(tf: typeof tfTypes, options: TrainOptions): Promise<TrainingHistory> {
  const startedAt = new Date();
  const log = (line: string): void => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };

  const trainSplit = loadMnist('train');
  const count = Math.min(options.limit ?? trainSplit.count, trainSplit.count);
  const images = normalisePixels(trainSplit.images.subarray(0, count * PIXELS));
  const labels = trainSplit.labels.subarray(0, count);
  const test = options.validate ? toTensors(tf, loadMnist('test')) : null;
  const datasetSha256 = mnistChecksums();

  const model = createModel(tf, { seed: options.seed });
  const optimizer = tf.train.adam(options.maxLearningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const setLearningRate = (lr: number): void => {
    // Adam reads this field on every update, so a per-step schedule needs no callback machinery.
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
  };

  const stepsPerEpoch = Math.ceil(count / options.batchSize);
  const totalSteps = Math.min(stepsPerEpoch * options.epochs, options.maxSteps ?? Number.POSITIVE_INFINITY);
  log(
    `training on ${count} images, ${options.epochs} epochs of ${stepsPerEpoch} batches of ${options.batchSize}, ` +
      `backend ${tf.getBackend()}, seed ${options.seed}, ${model.countParams()} parameters`,
  );

  const batchX = new Float32Array(options.batchSize * PIXELS);
  const batchY = new Float32Array(options.batchSize * NUM_CLASSES);
  const scratch = new Float32Array(PIXELS);
  const history: EpochRecord[] = [];
  const epochSeconds: number[] = [];
  let step = 0;
  let learningRate = oneCycleLearningRate(0, totalSteps, options.maxLearningRate);

  for (let epoch = 1; epoch <= options.epochs && step < totalSteps; epoch += 1) {
    // Each epoch has its own generators derived from the seed, so an epoch's data does not depend on how
    // many random numbers the epochs before it happened to draw.
    const orderRng = createRng(options.seed * 7919 + epoch);
    const augmentRng = createRng(options.seed * 104729 + epoch);
    const order = shuffledIndices(count, orderRng);
    const progress = new EpochProgress(epoch, options.epochs, stepsPerEpoch, epochSeconds);
    let lossSum = 0;
    let correctSum = 0;
    let seen = 0;

    for (let start = 0; start < count && step < totalSteps; start += options.batchSize) {
      const size = Math.min(options.batchSize, count - start);
      batchY.fill(0);
      for (let b = 0; b < size; b += 1) {
        const index = order[start + b] as number;
        const src = images.subarray(index * PIXELS, (index + 1) * PIXELS);
        const dst = batchX.subarray(b * PIXELS, (b + 1) * PIXELS);
        if (options.augment) augmentImage(src, dst, augmentRng, options.augment, scratch);
        else dst.set(src);
        batchY[b * NUM_CLASSES + (labels[index] as number)] = 1;
      }
      learningRate = oneCycleLearningRate(step, totalSteps, options.maxLearningRate);
      setLearningRate(learningRate);
      const xs = tf.tensor4d(batchX.subarray(0, size * PIXELS), [size, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS]);
      const ys = tf.tensor2d(batchY.subarray(0, size * NUM_CLASSES), [size, NUM_CLASSES]);
      const [loss, accuracy] = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss ${loss}`);
      lossSum += (loss as number) * size;
      correctSum += (accuracy as number) * size;
      seen += size;
      step += 1;
      if (!options.quiet)
        progress.update(Math.min(stepsPerEpoch, start / options.batchSize + 1), {
          loss: lossSum / seen,
          accuracy: correctSum / seen,
          learningRate,
        });
    }

    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    if (test) {
      const [l, a] = model.evaluate(test.x, test.y, { batchSize: 500 }) as tfTypes.Scalar[];
      valLoss = (await (l as tfTypes.Scalar).data())[0] as number;
      valAccuracy = (await (a as tfTypes.Scalar).data())[0] as number;
      l?.dispose();
      a?.dispose();
    }
    const summary =
      `loss ${(lossSum / seen).toFixed(4)} acc ${((correctSum / seen) * 100).toFixed(2)}%` +
      (valAccuracy === null ? '' : ` | test loss ${valLoss?.toFixed(4)} acc ${(valAccuracy * 100).toFixed(2)}%`);
    const seconds = options.quiet ? 0 : progress.finish(summary);
    epochSeconds.push(seconds);
    history.push({
      epoch,
      loss: lossSum / seen,
      accuracy: correctSum / seen,
      valLoss,
      valAccuracy,
      learningRate,
      seconds,
    });
    // A checkpoint after every epoch: a run cut short (a busy shared machine, a deadline) still leaves a
    // usable model and its history behind; the last write is the finished model.
    if (epoch < options.epochs && step < totalSteps) await writeOutputs(false);
  }

  async function writeOutputs(complete: boolean): Promise<TrainingHistory> {
    const trainingTimeSeconds = (Date.now() - startedAt.getTime()) / 1000;
    const weightsSha256 = await saveModel(model, tf, options.outDir);
    const result: TrainingHistory = {
      complete,
      version: modelVersion(weightsSha256),
      seed: options.seed,
      epochs: options.epochs,
      batchSize: options.batchSize,
      maxLearningRate: options.maxLearningRate,
      schedule: 'one-cycle per step: linear warm-up from max/25 over 15% of steps, cosine decay to max/1000',
      augment: options.augment,
      architecture: ARCHITECTURE_SUMMARY,
      parameterCount: model.countParams(),
      backend: tf.getBackend(),
      tfjsVersion: tf.version.tfjs,
      trainImages: count,
      datasetSha256,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      trainingTimeSeconds,
      weightsSha256,
      history,
    };
    writeFileSync(join(options.outDir, 'training-history.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  }

  const result = await writeOutputs(true);
  const trainingTimeSeconds = result.trainingTimeSeconds;
  test?.x.dispose();
  test?.y.dispose();
  model.dispose();
  log(
    `wrote ${options.outDir}/model.json, weights.bin, training-history.json (${result.version}) in ${formatDuration(trainingTimeSeconds)}`,
  );
  return result;
}

function parseOptions(argv: string[]): { options: TrainOptions; backend: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-lr': { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      'no-augment': { type: 'boolean' },
      'no-validate': { type: 'boolean' },
      backend: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run train -- [--seed N] [--epochs N] [--batch-size N] [--max-lr X] [--out DIR] [--limit N]\n' +
        '                 [--no-augment] [--no-validate] [--backend tensorflow|cpu]\n',
    );
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  const options: TrainOptions = {
    ...DEFAULT_TRAIN_OPTIONS,
    seed: int('seed', values.seed, DEFAULT_TRAIN_OPTIONS.seed),
    epochs: int('epochs', values.epochs, DEFAULT_TRAIN_OPTIONS.epochs),
    batchSize: int('batch-size', values['batch-size'], DEFAULT_TRAIN_OPTIONS.batchSize),
    maxLearningRate: values['max-lr'] === undefined ? DEFAULT_TRAIN_OPTIONS.maxLearningRate : Number(values['max-lr']),
    outDir: values.out === undefined ? DEFAULT_TRAIN_OPTIONS.outDir : resolve(values.out),
    validate: !values['no-validate'],
    augment: values['no-augment'] ? null : DEFAULT_AUGMENT,
  };
  if (values.limit !== undefined) options.limit = int('limit', values.limit, 60_000);
  if (!(options.maxLearningRate > 0)) throw new Error(`--max-lr must be a positive number, got ${values['max-lr']}`);
  return { options, backend: values.backend ?? 'tensorflow' };
}

async function main(): Promise<void> {
  const { options, backend } = parseOptions(process.argv.slice(2));
  let tf: typeof tfTypes;
  if (backend === 'tensorflow') {
    // TensorFlow's C++ start-up notes (oneDNN, CPU features) would otherwise open every training log.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    try {
      // tfjs-node re-exports @tensorflow/tfjs and registers the native backend on load.
      tf = require('@tensorflow/tfjs-node') as typeof tfTypes;
    } catch (error: unknown) {
      throw new Error(
        `native TensorFlow (@tensorflow/tfjs-node) does not load here: ${(error as Error).message}\n` +
          'Run `npm run native-tf` once to build it from the tensorflow-cpu wheel, or pass --backend cpu ' +
          '(pure JavaScript, about 50 times slower).',
      );
    }
  } else if (backend === 'cpu') {
    tf = require('@tensorflow/tfjs') as typeof tfTypes;
    await tf.setBackend('cpu');
  } else {
    throw new Error(`--backend must be tensorflow or cpu, got ${backend}`);
  }
  await tf.ready();
  await train(tf, options);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`train: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
