/**
 * Trains the MNIST CNN on all 60,000 training images and writes it in TF.js layers format
 * (model.json + weights.bin) with its training history.
 *
 *   npm run model:train                         # native TensorFlow (npm run setup:native-tf once), defaults below
 *   npm run model:train -- --seed 7 --epochs 20 --out .local/run2
 *
 * Seeded: the seed fixes the weight initialisation, the data order, the dropout masks and every augmentation
 * draw. Two runs on this machine wrote bit-identical weights; another CPU (other oneDNN kernels) may differ
 * in the last bits.
 *
 * The test set is evaluated after each epoch only to draw the training curves; nothing is chosen by it (the
 * model written is the one after the last epoch, never the best epoch on test).
 *
 *   npm run model:train -- --with-labels        # fine-tunes the serving model on MNIST plus the labelled predictions
 *
 * With `--with-labels` (`fineTune`), the labelled predictions of the configured store are read with their kept
 * uploads (model/training/labelled.ts), a fixed share is held out for `npm run model:evaluate`, and the serving model is
 * fine-tuned for a few epochs at a tenth of the learning rate on MNIST plus the other labelled examples,
 * repeated so that they weigh in. The result is a candidate (model/candidate/ by default), never the serving
 * model: `npm run model:evaluate` compares the two and replaces the serving model only with one that is no worse.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as tfTypes from '@tensorflow/tfjs';
import { IMAGE_CHANNELS, IMAGE_SIZE, NUM_CLASSES, normalisePixels, PIXELS } from '#classifier/model-contract';
import { readConfig } from '#config/config';
import { printResult } from '../../tools/child-result';
import { afterFineTune } from './after-fine-tune';
import { ARCHITECTURE_SUMMARY, createModel } from './architecture';
import { type AugmentOptions, augmentImage, createRng, DEFAULT_AUGMENT, shuffledIndices } from './augment';
import { type ExampleSet, formatTally, type LabelledData, type LabelledTally } from './labelled';
import { readLabelled } from './labelled-source';
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
  outDir: resolve(__dirname, '..'),
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
  /** Present when the model was fine-tuned from another with labelled predictions (`--with-labels`). */
  fineTune?: FineTuneInfo;
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

/** Training examples by index: `image(i)` is 784 values in [0, 1], `label(i)` a digit. */
export interface TrainingData {
  count: number;
  image(index: number): Float32Array;
  label(index: number): number;
}

/** The first `limit` MNIST training images (all 60,000 without one), normalised. */
function mnistTrainingData(limit: number | undefined): TrainingData {
  const split = loadMnist('train');
  const count = Math.min(limit ?? split.count, split.count);
  const images = normalisePixels(split.images.subarray(0, count * PIXELS));
  const labels = split.labels.subarray(0, count);
  return {
    count,
    image: (index) => images.subarray(index * PIXELS, (index + 1) * PIXELS),
    label: (index) => labels[index] as number,
  };
}

/**
 * MNIST followed by the labelled examples `repeat` times over, without copying either: an index past MNIST's
 * names a labelled example. Each repeat is augmented afresh, so repeats are not copies of one picture.
 */
export function withLabelled(mnist: TrainingData, labelled: ExampleSet, repeat: number): TrainingData {
  const extra = labelled.count * repeat;
  return {
    count: mnist.count + extra,
    image: (index) => {
      if (index < mnist.count) return mnist.image(index);
      const k = (index - mnist.count) % labelled.count;
      return labelled.images.subarray(k * PIXELS, (k + 1) * PIXELS);
    },
    label: (index) => (index < mnist.count ? mnist.label(index) : (labelled.labels[(index - mnist.count) % labelled.count] as number)),
  };
}

export async function train(tf: typeof tfTypes, options: TrainOptions): Promise<TrainingHistory> {
  const data = mnistTrainingData(options.limit);
  return run(tf, options, { model: createModel(tf, { seed: options.seed }), data });
}

/** What a fine-tuned model's training-history.json adds: where it started and what it learnt from. */
export interface FineTuneInfo {
  /** The serving model it started from. */
  baseDir: string;
  baseVersion: string | null;
  mnistImages: number;
  /** Distinct labelled training examples (digits), and how many times each is seen per epoch. */
  labelledExamples: number;
  labelRepeat: number;
  labelled: LabelledTally;
}

export interface FineTuneOptions extends TrainOptions {
  /** The model to start from: the serving one. */
  baseDir: string;
  labelled: LabelledData;
  /** Times each labelled example is seen per epoch; by default `defaultLabelRepeat`. */
  labelRepeat?: number;
}

/**
 * Fine-tuning, not retraining: labelled predictions are few next to MNIST's 60,000, and the serving model
 * already reads MNIST at 99.6%. A full retrain costs 20-40 minutes here and starts from nothing; two epochs
 * from the serving weights at a tenth of the learning rate take about 4 minutes on two idle cores, keep what
 * the model knows and move it towards the pictures people send.
 */
export const FINE_TUNE_DEFAULTS = { epochs: 2, maxLearningRate: 3e-4 } as const;

/** The share of each epoch the labelled examples should make up, and the most a single one is repeated. */
const LABELLED_SHARE = 0.1;
const MAX_LABEL_REPEAT = 20;

/**
 * How many times each labelled example is seen per epoch: enough for the labelled ones to make about a tenth
 * of the epoch, at least once, at most 20 times (beyond that a small set is memorised rather than learnt from,
 * augmentation or not).
 */
export function defaultLabelRepeat(mnistCount: number, labelledCount: number): number {
  if (labelledCount === 0) return 0;
  const wanted = ((LABELLED_SHARE / (1 - LABELLED_SHARE)) * mnistCount) / labelledCount;
  return Math.max(1, Math.min(MAX_LABEL_REPEAT, Math.round(wanted)));
}

/** Loads a TF.js layers model from a directory (model.json and its weight files) for training. */
export async function loadModelFromDir(tf: typeof tfTypes, dir: string): Promise<tfTypes.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }>;
  };
  const weights = Buffer.concat(json.weightsManifest.flatMap((group) => group.paths.map((path) => readFileSync(join(dir, path)))));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    }),
  );
}

/** The version a model directory names: its metrics.json, else its training-history.json, else null. */
export function versionOf(dir: string): string | null {
  for (const file of ['metrics.json', 'training-history.json']) {
    try {
      const version = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { version?: unknown }).version;
      if (typeof version === 'string' && version) return version;
    } catch {
      // Not there or not readable: try the next file.
    }
  }
  return null;
}

/** Fine-tunes the model of `baseDir` on MNIST plus the labelled training examples; writes it to `outDir`. */
export async function fineTune(tf: typeof tfTypes, options: FineTuneOptions): Promise<TrainingHistory> {
  const { train: labelled, tally } = options.labelled;
  if (labelled.count === 0) {
    throw new Error('no labelled record gave a training example: nothing to learn from (see the counts above)');
  }
  const mnist = mnistTrainingData(options.limit);
  const labelRepeat = options.labelRepeat ?? defaultLabelRepeat(mnist.count, labelled.count);
  const model = await loadModelFromDir(tf, options.baseDir);
  const fineTuneInfo: FineTuneInfo = {
    baseDir: options.baseDir,
    baseVersion: versionOf(options.baseDir),
    mnistImages: mnist.count,
    labelledExamples: labelled.count,
    labelRepeat,
    labelled: tally,
  };
  return run(tf, options, { model, data: withLabelled(mnist, labelled, labelRepeat), fineTune: fineTuneInfo });
}

interface RunSpec {
  model: tfTypes.LayersModel;
  data: TrainingData;
  fineTune?: FineTuneInfo;
}

/** The training loop shared by a training from scratch and a fine-tuning: one-cycle Adam, seeded order and augmentation. */
async function run(tf: typeof tfTypes, options: TrainOptions, spec: RunSpec): Promise<TrainingHistory> {
  const startedAt = new Date();
  const log = (line: string): void => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };

  const { model, data } = spec;
  const count = data.count;
  const test = options.validate ? toTensors(tf, loadMnist('test')) : null;
  const datasetSha256 = mnistChecksums();

  const optimizer = tf.train.adam(options.maxLearningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const setLearningRate = (lr: number): void => {
    // Adam reads this field on every update, so a per-step schedule needs no callback machinery.
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
  };

  const stepsPerEpoch = Math.ceil(count / options.batchSize);
  const totalSteps = Math.min(stepsPerEpoch * options.epochs, options.maxSteps ?? Number.POSITIVE_INFINITY);
  const what = spec.fineTune
    ? `fine-tuning ${spec.fineTune.baseVersion ?? spec.fineTune.baseDir} on ${spec.fineTune.mnistImages} MNIST images and ` +
      `${spec.fineTune.labelledExamples} labelled examples x ${spec.fineTune.labelRepeat}`
    : `training on ${count} images`;
  log(
    `${what}, ${options.epochs} epochs of ${stepsPerEpoch} batches of ${options.batchSize}` +
      `${totalSteps < stepsPerEpoch * options.epochs ? ` (stopping after ${totalSteps} batches)` : ''}, ` +
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
        const src = data.image(index);
        const dst = batchX.subarray(b * PIXELS, (b + 1) * PIXELS);
        if (options.augment) augmentImage(src, dst, augmentRng, options.augment, scratch);
        else dst.set(src);
        batchY[b * NUM_CLASSES + data.label(index)] = 1;
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
      ...(spec.fineTune ? { fineTune: spec.fineTune } : {}),
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

/** What the command line asks for: a training from scratch, or a fine-tuning from labels. */
interface Command {
  options: TrainOptions;
  backend: string;
  withLabels: null | {
    baseDir: string | undefined;
    /** The candidate's directory when --out is given. */
    outDir: string | undefined;
    holdoutShare: number | undefined;
    labelRepeat: number | undefined;
  };
}

const USAGE =
  'npm run model:train -- [--seed N] [--epochs N] [--batch-size N] [--max-lr X] [--out DIR] [--limit N] [--max-batches N]\n' +
  '                 [--no-augment] [--no-validate] [--backend tensorflow|cpu]\n' +
  'npm run model:train -- --with-labels [--base DIR] [--holdout-share X] [--label-repeat N] [--mnist-limit N] [the flags above]\n' +
  '  --with-labels   fine-tune the serving model (--base, default MODEL_DIR or model/) on MNIST plus the labelled\n' +
  '                  predictions of the configured store; writes a candidate (--out, default <base>/candidate)\n' +
  '                  for `npm run model:evaluate` to judge. Defaults then: 2 epochs, --max-lr 3e-4.\n' +
  '  --max-batches   stop after this many batches in all (a quick check, not a real run)\n' +
  '  --mnist-limit   the same as --limit: only the first N MNIST training images\n';

function parseOptions(argv: string[]): Command {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-lr': { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      'mnist-limit': { type: 'string' },
      'max-batches': { type: 'string' },
      'no-augment': { type: 'boolean' },
      'no-validate': { type: 'boolean' },
      backend: { type: 'string' },
      'with-labels': { type: 'boolean' },
      base: { type: 'string' },
      'holdout-share': { type: 'string' },
      'label-repeat': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  const withLabels = Boolean(values['with-labels']);
  if (!withLabels) {
    for (const name of ['base', 'holdout-share', 'label-repeat'] as const) {
      if (values[name] !== undefined) throw new Error(`--${name} goes with --with-labels`);
    }
  }
  const defaults = withLabels ? { ...DEFAULT_TRAIN_OPTIONS, ...FINE_TUNE_DEFAULTS } : DEFAULT_TRAIN_OPTIONS;
  const options: TrainOptions = {
    ...defaults,
    seed: int('seed', values.seed, defaults.seed),
    epochs: int('epochs', values.epochs, defaults.epochs),
    batchSize: int('batch-size', values['batch-size'], defaults.batchSize),
    maxLearningRate: values['max-lr'] === undefined ? defaults.maxLearningRate : Number(values['max-lr']),
    outDir: values.out === undefined ? defaults.outDir : resolve(values.out),
    validate: !values['no-validate'],
    augment: values['no-augment'] ? null : DEFAULT_AUGMENT,
  };
  if (values.limit !== undefined && values['mnist-limit'] !== undefined)
    throw new Error('--limit and --mnist-limit are one flag: give one');
  const limit = values.limit ?? values['mnist-limit'];
  if (limit !== undefined) options.limit = int('mnist-limit', limit, 60_000);
  if (values['max-batches'] !== undefined) options.maxSteps = int('max-batches', values['max-batches'], 1);
  if (!(options.maxLearningRate > 0)) throw new Error(`--max-lr must be a positive number, got ${values['max-lr']}`);
  let holdoutShare: number | undefined;
  if (values['holdout-share'] !== undefined) {
    holdoutShare = Number(values['holdout-share']);
    if (!(holdoutShare > 0 && holdoutShare < 1)) throw new Error(`--holdout-share must be between 0 and 1, got ${values['holdout-share']}`);
  }
  const labelRepeat = values['label-repeat'] === undefined ? undefined : int('label-repeat', values['label-repeat'], 1);
  return {
    options,
    backend: values.backend ?? 'tensorflow',
    withLabels: withLabels
      ? {
          baseDir: values.base === undefined ? undefined : resolve(values.base),
          outDir: values.out === undefined ? undefined : resolve(values.out),
          holdoutShare,
          labelRepeat,
        }
      : null,
  };
}

async function loadTf(backend: string): Promise<typeof tfTypes> {
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
          'Run `npm run setup:native-tf` once to build it from the tensorflow-cpu wheel, or pass --backend cpu ' +
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
  return tf;
}

/**
 * `--with-labels`: the labelled predictions read and split, the serving model fine-tuned into a candidate,
 * then `afterFineTune` on the candidate (the features a not-a-digit head reads have moved with the weights).
 */
async function trainWithLabels(tf: typeof tfTypes, command: Command): Promise<void> {
  const withLabels = command.withLabels as NonNullable<Command['withLabels']>;
  const config = readConfig();
  const baseDir = withLabels.baseDir ?? config.modelDir;
  const outDir = withLabels.outDir ?? join(baseDir, 'candidate');
  if (resolve(outDir) === resolve(baseDir))
    throw new Error("--out must not be the serving model's directory: the candidate is judged by `npm run model:evaluate` first");
  const labelled = await readLabelled(config, {
    ...(withLabels.holdoutShare === undefined ? {} : { holdoutShare: withLabels.holdoutShare }),
    want: 'all',
  });
  process.stderr.write(`${formatTally(labelled.tally)}\n`);
  const history = await fineTune(tf, {
    ...command.options,
    outDir,
    baseDir,
    labelled,
    ...(withLabels.labelRepeat === undefined ? {} : { labelRepeat: withLabels.labelRepeat }),
  });
  await afterFineTune(outDir, { quick: command.options.maxSteps !== undefined || command.options.limit !== undefined });
  // One machine-readable line for scripts and tests (tools/child-result.ts), beside the human-readable log on stderr.
  printResult({ candidate: outDir, version: history.version, base: history.fineTune?.baseVersion ?? null, labelled: labelled.tally });
  process.stderr.write(
    `candidate ${history.version} in ${outDir}: \`npm run model:evaluate\` compares it with the serving model and replaces that one only if it is no worse\n`,
  );
}

async function main(): Promise<void> {
  const command = parseOptions(process.argv.slice(2));
  const tf = await loadTf(command.backend);
  if (command.withLabels) await trainWithLabels(tf, command);
  else await train(tf, command.options);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`train: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
