/**
 * Fits what model/refusal.json holds for the digit CNN in a model directory, without touching the CNN:
 * - the softmax temperature (model/training/calibration.ts), on the even half of the MNIST test set as the service
 *   sees it; the expected calibration error before and after is reported on the odd half;
 * - the refusal head: a dense network (by default 1,024 -> 128 ReLU, dropout 0.5 while training -> 1, sigmoid) on the CNN's flattened convolution maps, trained
 *   with positives = augmented MNIST training digits and people-style crops of training digits, negatives =
 *   synthesised non-digits of the 'train' split (model/training/refusal-data.ts);
 * - the thresholds: `digitThreshold` the highest head score that refuses at most DIGIT_REFUSAL_BUDGET of the
 *   even-half test digits and PEOPLE_REFUSAL_BUDGET of the people-style validation crops; `uncertainBelow` the
 *   highest calibrated confidence that marks at most UNCERTAIN_BUDGET of the even-half digits not refused.
 * Then it measures on data never used: the odd half (accuracy, refused, uncertain, ECE) and the 'heldout'
 * non-digits (other fonts, other seeds), and writes refusal.json and reliability.png beside the model.
 *
 * `fitRefusalAndTemperature(modelDir)` is what a training pipeline calls after it writes new weights
 * (`npm run model:train-refusal` runs it on model/). Seeded: the same weights and options give the same file on the
 * same machine and thread count.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '#classifier/backend';
import { readArtifacts, readVersion, selectBackend } from '#classifier/classifier';
import { IMAGE_CHANNELS, IMAGE_SIZE, NUM_CLASSES, PIXELS } from '#classifier/model-contract';
import { type HeadInput, headSource, RefusalFile } from '#classifier/refusal';
import { createRng } from './augment';
import { calibrationError, fitTemperature, softmaxT } from './calibration';
import type { NonDigitKind } from './non-digit-images';
import { EpochProgress, formatDuration } from './progress';
import { augmentedTrainingDigits, type Crops, mnistTestHalf, nonDigits, peopleStyleTrainingDigits } from './refusal-data';
import { writeReliabilityPng } from './reliability-chart';

/** Share of even-half MNIST test digits the head may refuse. */
export const DIGIT_REFUSAL_BUDGET = 0.004;
/** Share of people-style validation crops the head may refuse. */
export const PEOPLE_REFUSAL_BUDGET = 0.01;
/** Share of even-half MNIST test digits (not refused) that may be marked uncertain. */
export const UNCERTAIN_BUDGET = 0.0035;

export interface RefusalFitOptions {
  /** Augmented MNIST training digits (positives). */
  mnistDigits: number;
  /** People-style training pictures of 1-4 digits (positives). */
  peoplePictures: number;
  /** Synthesised non-digit pictures for fitting (negatives), 'train' split. */
  nonDigits: number;
  /** More negatives from the 'extra' split (training only: more scribbles, shapes, pen-drawn letters, more fonts). */
  extraNonDigits: number;
  /** Held-out non-digit pictures, for the figures only. */
  heldOutNonDigits: number;
  /** MNIST test digits per half (at most 5,000). */
  testHalf: number;
  epochs: number;
  seed: number;
  /** What the head reads: the flattened convolution maps (default) or the penultimate dense features. */
  headInput: HeadInput;
  /** Units of the head's hidden layer. */
  hidden: number;
  /** Dropout on the hidden layer while training (none when serving). */
  dropout: number;
  /** Half of the even-half test digits join the head's positives (the other half then chooses the thresholds). */
  testPositives: boolean;
  backend: BackendChoice;
  /** Write refusal.json and reliability.png (else only answer the result). */
  write: boolean;
  /**
   * A directory where the pictures' crops are kept between runs (keyed by set, count and seed), so that fitting
   * again (other epochs, budgets) skips the 15 minutes of drawing; none by default.
   */
  cacheDir?: string;
  log: (line: string) => void;
}

/** Crops of one set, from the cache directory when it holds them, else made and kept there (keyed by `key`). */
async function cached<T extends Crops>(dir: string | undefined, key: string, make: () => Promise<T>): Promise<T> {
  if (!dir) return make();
  const bin = join(dir, `${key}.bin`);
  const meta = join(dir, `${key}.json`);
  if (existsSync(bin) && existsSync(meta)) {
    const bytes = readFileSync(bin);
    const rest = JSON.parse(readFileSync(meta, 'utf8')) as Omit<T, 'inputs' | 'picture' | 'labels'> & {
      picture: number[];
      labels: number[];
    };
    return {
      ...rest,
      inputs: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      picture: Int32Array.from(rest.picture),
      labels: Int8Array.from(rest.labels),
    } as unknown as T;
  }
  const made = await make();
  mkdirSync(dir, { recursive: true });
  writeFileSync(bin, Buffer.from(made.inputs.buffer, made.inputs.byteOffset, made.inputs.byteLength));
  const { inputs: _inputs, ...rest } = made;
  writeFileSync(meta, JSON.stringify({ ...rest, picture: Array.from(made.picture), labels: Array.from(made.labels) }));
  return made;
}

/** Non-digit training pictures are drawn (and cached) this many at a time. */
const NON_DIGIT_CHUNK = 5000;

/** Sets of non-digit crops one after the other, their picture indices shifted to stay distinct. */
export function joinCrops(
  parts: readonly (Crops & { kinds: NonDigitKind[]; noInk: number })[],
): Crops & { kinds: NonDigitKind[]; noInk: number } {
  const inputs = new Float32Array(parts.reduce((sum, p) => sum + p.inputs.length, 0));
  const picture = new Int32Array(parts.reduce((sum, p) => sum + p.picture.length, 0));
  const labels = new Int8Array(picture.length);
  let at = 0;
  let pictures = 0;
  for (const part of parts) {
    inputs.set(part.inputs, at * PIXELS);
    for (let i = 0; i < part.picture.length; i += 1) picture[at + i] = (part.picture[i] as number) + pictures;
    labels.set(part.labels, at);
    at += part.picture.length;
    pictures += part.pictures;
  }
  return {
    inputs,
    picture,
    labels,
    pictures,
    kinds: parts.flatMap((p) => p.kinds),
    noInk: parts.reduce((sum, p) => sum + p.noInk, 0),
  };
}

export const DEFAULT_REFUSAL_FIT: RefusalFitOptions = {
  mnistDigits: 30_000,
  peoplePictures: 1_000,
  nonDigits: 20_000,
  extraNonDigits: 20_000,
  heldOutNonDigits: 1_500,
  testHalf: 5_000,
  epochs: 30,
  seed: 20261202,
  headInput: 'flatten',
  hidden: 128,
  dropout: 0.5,
  testPositives: true,
  backend: 'auto',
  write: true,
  log: (line) => process.stderr.write(`${line}\n`),
};

const BATCH = 256;
/** The head's Adam learning rate at the first epoch (cosine decay to 0 after). */
const PEAK_RATE = 2e-3;

/** A one-line progress bar for the data stages (the head's epochs use model/training/progress.ts). */
function stageProgress(name: string, log: (line: string) => void): (done: number, total: number) => void {
  const started = Date.now();
  let shown = -1;
  const tty = Boolean(process.stderr.isTTY);
  return (done, total) => {
    const tenth = Math.floor((done / total) * (tty ? 100 : 10));
    if (tenth === shown && done !== total) return;
    shown = tenth;
    const elapsed = (Date.now() - started) / 1000;
    const filled = Math.round((done / total) * 28);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(28 - filled);
    const line = `${name.padEnd(26)} [${bar}] ${done}/${total} | left ${formatDuration((elapsed / done) * (total - done))}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
    else log(line);
  };
}

/**
 * What the head reads for every input, and the CNN's logits, in batches. `input`: 'penultimate' (the last layer's
 * input, 128 values) or 'flatten' (the flattened convolution maps, 1,024 values: where in the frame each stroke
 * feature is, which the dense layers after it were trained to forget for anything but digits).
 */
function featuresOf(
  model: tf.LayersModel,
  inputs: Float32Array,
  input: HeadInput,
): { features: Float32Array; logits: Float32Array; width: number } {
  const last = model.layers[model.layers.length - 1] as tf.layers.Layer;
  const [kernel, bias] = last.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const source = headSource(model, input);
  const width = source.shape[1] as number;
  const trunk = tf.model({ inputs: model.inputs, outputs: [source, last.input as tf.SymbolicTensor] });
  const n = inputs.length / PIXELS;
  const features = new Float32Array(n * width);
  const logits = new Float32Array(n * NUM_CLASSES);
  for (let start = 0; start < n; start += 500) {
    const count = Math.min(500, n - start);
    const [f, z] = tf.tidy(() => {
      const x = tf.tensor4d(inputs.subarray(start * PIXELS, (start + count) * PIXELS), [count, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS]);
      const [feats, penultimate] = trunk.predict(x) as [tf.Tensor2D, tf.Tensor2D];
      return [feats.dataSync(), tf.add(tf.matMul(penultimate, kernel), bias).dataSync()];
    });
    features.set(f as Float32Array, start * width);
    logits.set(z as Float32Array, start * NUM_CLASSES);
  }
  return { features, logits, width };
}

interface Head {
  layers: { kernel: number[][]; bias: number[]; activation: 'relu' | 'linear' }[];
}

/** Runs the head (as written to refusal.json) on features in plain arithmetic: the scores used for thresholds. */
export function headScores(head: Head, features: Float32Array, width: number): Float32Array {
  const n = features.length / width;
  const scores = new Float32Array(n);
  for (let r = 0; r < n; r += 1) {
    let x = Array.from(features.subarray(r * width, (r + 1) * width));
    for (const layer of head.layers) {
      const out = layer.bias.slice();
      for (let i = 0; i < x.length; i += 1) {
        const v = x[i] as number;
        if (v === 0) continue;
        const row = layer.kernel[i] as number[];
        for (let j = 0; j < out.length; j += 1) out[j] = (out[j] as number) + v * (row[j] as number);
      }
      x = layer.activation === 'relu' ? out.map((v) => Math.max(0, v)) : out;
    }
    scores[r] = 1 / (1 + Math.exp(-(x[0] as number)));
  }
  return scores;
}

/**
 * Trains the head on standardised features (the standardisation is then folded into the first layer, so the
 * service feeds raw features). Positives and negatives weigh the same in the loss whatever their counts.
 */
function trainHead(positives: Float32Array, negatives: Float32Array, width: number, options: RefusalFitOptions): Head {
  const nPos = positives.length / width;
  const nNeg = negatives.length / width;
  const n = nPos + nNeg;
  const all = new Float32Array(n * width);
  all.set(positives, 0);
  all.set(negatives, positives.length);
  const mean = new Float64Array(width);
  const std = new Float64Array(width);
  for (let r = 0; r < n; r += 1) for (let c = 0; c < width; c += 1) mean[c] = (mean[c] as number) + (all[r * width + c] as number) / n;
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < width; c += 1) std[c] = (std[c] as number) + ((all[r * width + c] as number) - (mean[c] as number)) ** 2 / n;
  }
  for (let c = 0; c < width; c += 1) std[c] = Math.sqrt(std[c] as number) + 1e-3;
  const scaled = new Float32Array(all.length);
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < width; c += 1) scaled[r * width + c] = ((all[r * width + c] as number) - (mean[c] as number)) / (std[c] as number);
  }
  const labels = new Float32Array(n);
  labels.fill(1, 0, nPos);
  const weights = new Float32Array(n);
  weights.fill(n / (2 * nPos), 0, nPos);
  weights.fill(n / (2 * nNeg), nPos);

  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [width],
        units: options.hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: options.seed }),
      }),
      // Many negatives of one font or shape look alike: dropout keeps the head from learning them by heart
      // (it learnt the training non-digits to 99.96% and refused the held-out ones 84%).
      tf.layers.dropout({ rate: options.dropout, seed: options.seed + 2 }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: options.seed + 1 }) }),
    ],
  });
  const optimizer = tf.train.adam(PEAK_RATE);
  const rng = createRng(options.seed);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const steps = Math.ceil(n / BATCH);
  const epochSeconds: number[] = [];
  for (let epoch = 1; epoch <= options.epochs; epoch += 1) {
    // Cosine decay from PEAK_RATE to 0 over the run: the last epochs settle instead of bouncing between negatives.
    const learningRate = PEAK_RATE * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / options.epochs));
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
    for (let i = n - 1; i > 0; i -= 1) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const progress = new EpochProgress(epoch, options.epochs, steps, epochSeconds);
    let lossSum = 0;
    let correctSum = 0;
    for (let s = 0; s < steps; s += 1) {
      const idx = order.subarray(s * BATCH, Math.min(n, (s + 1) * BATCH));
      const xb = new Float32Array(idx.length * width);
      const yb = new Float32Array(idx.length);
      const wb = new Float32Array(idx.length);
      for (const [k, r] of idx.entries()) {
        xb.set(scaled.subarray(r * width, (r + 1) * width), k * width);
        yb[k] = labels[r] as number;
        wb[k] = weights[r] as number;
      }
      const [loss, correct] = tf.tidy(() => {
        const x = tf.tensor2d(xb, [idx.length, width]);
        const y = tf.tensor2d(yb, [idx.length, 1]);
        const w = tf.tensor2d(wb, [idx.length, 1]);
        let logit: tf.Tensor = tf.zeros([1]);
        const cost = optimizer.minimize(() => {
          logit = tf.keep(model.apply(x, { training: true }) as tf.Tensor);
          // Binary cross-entropy on logits, written the stable way: max(z, 0) - z y + log(1 + exp(-|z|)).
          const perExample = tf.add(tf.sub(tf.relu(logit), tf.mul(logit, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logit)))));
          return tf.mean(tf.mul(w, perExample));
        }, true) as tf.Scalar;
        const right = tf.sum(tf.equal(tf.greater(logit, 0), tf.greater(y, 0.5)).asType('float32'));
        const answer: [number, number] = [cost.dataSync()[0] as number, right.dataSync()[0] as number];
        logit.dispose();
        return answer;
      });
      lossSum += loss * idx.length;
      correctSum += correct;
      progress.update(s + 1, {
        loss: lossSum / ((s + 1) * BATCH),
        accuracy: correctSum / Math.min(n, (s + 1) * BATCH),
        learningRate,
      });
    }
    epochSeconds.push(progress.finish(`loss ${(lossSum / n).toFixed(4)}, accuracy ${((correctSum / n) * 100).toFixed(2)}%`));
  }

  const [k1, b1, k2, b2] = model.getWeights().map((t) => t.arraySync()) as [number[][], number[], number[][], number[]];
  model.dispose();
  optimizer.dispose();
  // Fold (x - mean) / std into the first layer: W' = W / std (per input row), b' = b - sum_i mean_i / std_i * W_i.
  const kernel = k1.map((row, i) => row.map((v) => v / (std[i] as number)));
  const bias = b1.map((b, j) => b - k1.reduce((acc, row, i) => acc + ((mean[i] as number) / (std[i] as number)) * (row[j] as number), 0));
  // Six significant digits: the file stays a few hundred KB, and a relative change of 1e-6 moves no score that
  // matters. The thresholds are chosen on the rounded head, which is what the service runs.
  const round = (v: number): number => Number(v.toPrecision(6));
  return {
    layers: [
      { kernel: kernel.map((row) => row.map(round)), bias: bias.map(round), activation: 'relu' },
      { kernel: k2.map((row) => row.map(round)), bias: b2.map(round), activation: 'linear' },
    ],
  };
}

/** The largest threshold t such that at most `share` of `scores` are below t. */
function lowQuantile(scores: ArrayLike<number>, share: number): number {
  const sorted = Float64Array.from(scores as ArrayLike<number>).sort();
  const allowed = Math.floor(sorted.length * share);
  return sorted[Math.min(sorted.length - 1, allowed)] as number;
}

/** Per picture of a set: refused when any of its crops scores below the threshold. */
function picturesRefused(
  crops: Crops,
  scores: Float32Array,
  threshold: number,
): { refused: number; withCrops: number; refusedPictures: Set<number> } {
  const refusedPictures = new Set<number>();
  const withCrops = new Set<number>();
  for (let i = 0; i < scores.length; i += 1) {
    const picture = crops.picture[i] as number;
    withCrops.add(picture);
    if ((scores[i] as number) < threshold) refusedPictures.add(picture);
  }
  return { refused: refusedPictures.size, withCrops: withCrops.size, refusedPictures };
}

export interface RefusalFitResult {
  file: RefusalFile;
  path: string | null;
}

export async function fitRefusalAndTemperature(modelDir: string, overrides: Partial<RefusalFitOptions> = {}): Promise<RefusalFitResult> {
  const options = { ...DEFAULT_REFUSAL_FIT, ...overrides };
  const { log } = options;
  const began = Date.now();
  const backend = await selectBackend(options.backend);
  const { artifacts, digest } = await readArtifacts(modelDir);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const modelVersion = await readVersion(modelDir, digest);
  log(`fitting the refusal head and temperature of ${modelVersion} on ${backend}`);

  // Data. MNIST training digits: the first 54,000 for fitting, the last 6,000 for the head's validation.
  const mnistFit = augmentedTrainingDigits(0, Math.min(options.mnistDigits, 54_000), options.seed);
  const c = options.cacheDir;
  const seed = options.seed;
  const peopleFit = await cached(c, `people-fit-${options.peoplePictures}-${seed}`, () =>
    peopleStyleTrainingDigits(0, 54_000, options.peoplePictures, seed, stageProgress('people-style digits', log)),
  );
  const peopleValCount = Math.max(200, Math.round(options.peoplePictures / 5));
  const peopleVal = await cached(c, `people-val-${peopleValCount}-${seed}`, () =>
    peopleStyleTrainingDigits(54_000, 60_000, peopleValCount, seed + 1, stageProgress('people-style validation', log)),
  );
  // Drawn and cached in chunks, so that a larger count draws only the pictures it adds.
  const negChunks: (Crops & { kinds: NonDigitKind[]; noInk: number })[] = [];
  for (const [split, total] of [
    ['train', options.nonDigits],
    ['extra', options.extraNonDigits],
  ] as const) {
    for (let offset = 0; offset < total; offset += NON_DIGIT_CHUNK) {
      const size = Math.min(NON_DIGIT_CHUNK, total - offset);
      const name = `non-digits (${split}) ${offset / NON_DIGIT_CHUNK + 1}/${Math.ceil(total / NON_DIGIT_CHUNK)}`;
      negChunks.push(
        await cached(c, `non-digits-${split}-${offset}-${size}`, () => nonDigits(split, size, stageProgress(name, log), offset)),
      );
    }
  }
  const negFit = joinCrops(negChunks);
  const negHeld = await cached(c, `non-digits-heldout-${options.heldOutNonDigits}`, () =>
    nonDigits('heldout', options.heldOutNonDigits, stageProgress('non-digits (held-out fonts)', log)),
  );
  const testA = await cached(c, `mnist-test-even-${options.testHalf}`, () =>
    mnistTestHalf(0, options.testHalf, stageProgress('MNIST test, even half', log)),
  );
  const testB = await cached(c, `mnist-test-odd-${options.testHalf}`, () =>
    mnistTestHalf(1, options.testHalf, stageProgress('MNIST test, odd half', log)),
  );

  const f = (crops: Crops) => featuresOf(model, crops.inputs, options.headInput);
  const [fMnist, fPeople, fPeopleVal, fNeg, fHeld, fA, fB] = [mnistFit, peopleFit, peopleVal, negFit, negHeld, testA, testB].map(f) as [
    ReturnType<typeof f>,
    ReturnType<typeof f>,
    ReturnType<typeof f>,
    ReturnType<typeof f>,
    ReturnType<typeof f>,
    ReturnType<typeof f>,
    ReturnType<typeof f>,
  ];
  const width = fMnist.width;

  // Temperature on the even half (every crop with its label; a crop from a rare split picture is kept).
  const temperature = fitTemperature(fA.logits, testA.labels, NUM_CLASSES);
  const calibrated = (logits: Float32Array, t: number) => {
    const n = logits.length / NUM_CLASSES;
    const confidence = new Float64Array(n);
    const predicted = new Int8Array(n);
    for (let r = 0; r < n; r += 1) {
      const p = softmaxT(logits.subarray(r * NUM_CLASSES, (r + 1) * NUM_CLASSES), t);
      let best = 0;
      for (let c = 1; c < NUM_CLASSES; c += 1) if ((p[c] as number) > (p[best] as number)) best = c;
      predicted[r] = best;
      confidence[r] = p[best] as number;
    }
    return { confidence, predicted };
  };
  const beforeB = calibrated(fB.logits, 1);
  const afterB = calibrated(fB.logits, temperature);
  const correctB = Array.from(beforeB.predicted, (p, i) => p === testB.labels[i]);
  const eceBefore = calibrationError(beforeB.confidence, correctB, 15);
  const eceAfter = calibrationError(afterB.confidence, correctB, 15);
  log(
    `temperature ${temperature.toFixed(4)}: ECE (15 bins) on the odd half ${(eceBefore.ece * 100).toFixed(3)}% -> ${(eceAfter.ece * 100).toFixed(3)}%`,
  );

  // The head. The even half is split again by picture: every other one (test indices 0, 4, 8...) joins the
  // positives, since the CNN's features of digits it never trained on are what the head must accept, and the
  // training digits' features are cleaner than that (the CNN learnt them); the rest (2, 6, 10...) chooses the
  // thresholds. The odd half stays out of everything but the figures.
  const evenRows = (keep: (picture: number) => boolean): Float32Array => {
    const rows: number[] = [];
    for (let i = 0; i < testA.picture.length; i += 1) if (keep(testA.picture[i] as number)) rows.push(i);
    const out = new Float32Array(rows.length * width);
    for (const [k, r] of rows.entries()) out.set(fA.features.subarray(r * width, (r + 1) * width), k * width);
    return out;
  };
  const testPositives = options.testPositives ? evenRows((picture) => picture % 2 === 0) : new Float32Array(0);
  const chooses = (i: number): boolean => !options.testPositives || (testA.picture[i] as number) % 2 === 1;
  const positives = new Float32Array(fMnist.features.length + fPeople.features.length + testPositives.length);
  positives.set(fMnist.features, 0);
  positives.set(fPeople.features, fMnist.features.length);
  positives.set(testPositives, fMnist.features.length + fPeople.features.length);
  const head = trainHead(positives, fNeg.features, width, options);
  const scores = {
    testA: headScores(head, fA.features, width).filter((_, i) => chooses(i)),
    testB: headScores(head, fB.features, width),
    peopleVal: headScores(head, fPeopleVal.features, width),
    negFit: headScores(head, fNeg.features, width),
    negHeld: headScores(head, fHeld.features, width),
  };

  // Thresholds: the refusal threshold within both digit budgets; then the uncertainty threshold on what is left.
  const digitThreshold = Math.min(lowQuantile(scores.testA, DIGIT_REFUSAL_BUDGET), lowQuantile(scores.peopleVal, PEOPLE_REFUSAL_BUDGET));
  const afterA = calibrated(fA.logits, temperature);
  const keptA = Array.from(afterA.confidence)
    .filter((_, i) => chooses(i))
    .filter((_, k) => (scores.testA[k] as number) >= digitThreshold);
  const uncertainBelow = lowQuantile(keptA, UNCERTAIN_BUDGET);

  // Figures on data never fitted on.
  const share = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
  const refusedB = picturesRefused(testB, scores.testB, digitThreshold);
  let uncertainB = 0;
  let wrongB = 0;
  let wrongAndFlagged = 0;
  // Per picture: its top-level reading is its least confident crop's.
  const weakest = new Map<number, number>();
  for (let i = 0; i < afterB.confidence.length; i += 1) {
    const picture = testB.picture[i] as number;
    const current = weakest.get(picture);
    if (current === undefined || (afterB.confidence[i] as number) < (afterB.confidence[current] as number)) weakest.set(picture, i);
  }
  for (const [picture, i] of weakest) {
    const refused = refusedB.refusedPictures.has(picture);
    const uncertain = !refused && (afterB.confidence[i] as number) < uncertainBelow;
    if (uncertain) uncertainB += 1;
    const wrong = afterB.predicted[i] !== testB.labels[i];
    if (wrong) wrongB += 1;
    if (wrong && (refused || uncertain)) wrongAndFlagged += 1;
  }
  const heldRefused = picturesRefused(negHeld, scores.negHeld, digitThreshold);
  const fitRefused = picturesRefused(negFit, scores.negFit, digitThreshold);
  const byKind: Record<string, { pictures: number; refused: number }> = {};
  for (let p = 0; p < negHeld.pictures; p += 1) {
    const kind = negHeld.kinds[p] as string;
    const entry = byKind[kind] ?? { pictures: 0, refused: 0 };
    byKind[kind] = entry;
    entry.pictures += 1;
    if (heldRefused.refusedPictures.has(p)) entry.refused += 1;
  }
  const peopleValRefused = share(Array.from(scores.peopleVal).filter((s) => s < digitThreshold).length, scores.peopleVal.length);

  const fitted = {
    fittedAt: new Date().toISOString(),
    backend,
    seconds: Math.round((Date.now() - began) / 1000),
    options: {
      mnistDigits: mnistFit.pictures,
      peoplePictures: options.peoplePictures,
      nonDigits: options.nonDigits,
      extraNonDigits: options.extraNonDigits,
      heldOutNonDigits: options.heldOutNonDigits,
      testHalf: options.testHalf,
      epochs: options.epochs,
      seed: options.seed,
      hidden: options.hidden,
      dropout: options.dropout,
      testPositives: options.testPositives,
    },
    crops: {
      mnistFit: mnistFit.labels.length,
      peopleFit: peopleFit.labels.length,
      peopleValidation: peopleVal.labels.length,
      nonDigitsFit: negFit.picture.length,
      nonDigitsHeldOut: negHeld.picture.length,
    },
    calibration: {
      fittedOn: 'MNIST test, even indices, plain PNGs through the service preprocessing',
      reportedOn: 'MNIST test, odd indices',
      eceBefore: eceBefore.ece,
      eceAfter: eceAfter.ece,
      bins: 15,
    },
    budgets: { digitRefusal: DIGIT_REFUSAL_BUDGET, peopleRefusal: PEOPLE_REFUSAL_BUDGET, uncertain: UNCERTAIN_BUDGET },
    oddHalf: {
      pictures: testB.pictures,
      refused: share(refusedB.refused, testB.pictures),
      uncertain: share(uncertainB, testB.pictures),
      refusedOrUncertain: share(refusedB.refused + uncertainB, testB.pictures),
      accuracy: share(testB.pictures - wrongB, testB.pictures),
      errorsFlagged: wrongB === 0 ? 1 : wrongAndFlagged / wrongB,
    },
    peopleValidationRefused: peopleValRefused,
    // What other digit budgets would have given: held-out non-digits refused against odd-half digits refused.
    tradeOff: [0.001, 0.002, 0.003, 0.004, 0.005, 0.007, 0.01].map((budget) => {
      const t = lowQuantile(scores.testA, budget);
      return {
        budget,
        oddHalfRefused: share(picturesRefused(testB, scores.testB, t).refused, testB.pictures),
        heldOutRefused: share(picturesRefused(negHeld, scores.negHeld, t).refused, negHeld.pictures),
      };
    }),
    nonDigitsFitRefused: share(fitRefused.refused, fitRefused.withCrops),
    nonDigitsHeldOut: {
      pictures: negHeld.pictures,
      noInk: negHeld.noInk,
      refused: share(heldRefused.refused, heldRefused.withCrops),
      byKind: Object.fromEntries(
        Object.entries(byKind).map(([k, v]) => [k, { pictures: v.pictures, refused: share(v.refused, v.pictures) }]),
      ),
    },
  };
  log(JSON.stringify({ temperature, digitThreshold, uncertainBelow, ...fitted }, null, 2));

  const body = {
    modelVersion,
    weightsSha256: digest,
    temperature,
    headInput: options.headInput,
    head: head.layers,
    thresholds: { digitThreshold, uncertainBelow },
  };
  const version = `refusal-${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 8)}`;
  const file = RefusalFile.parse({ version, ...body, fitted });
  let path: string | null = null;
  if (options.write) {
    path = join(modelDir, 'refusal.json');
    writeFileSync(path, `${JSON.stringify(file)}\n`);
    await writeReliabilityPng(eceBefore.bins, eceAfter.bins, temperature, join(modelDir, 'reliability.png'));
    log(`written: ${path}, ${join(modelDir, 'reliability.png')} (${formatDuration((Date.now() - began) / 1000)})`);
  }
  model.dispose();
  return { file, path };
}
