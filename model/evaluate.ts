/**
 * Evaluates the shipped model on the 10,000 MNIST test images through the service's own inference code
 * (layers/classifier.ts), on the wasm backend and on native TensorFlow where it loads. Prints overall and
 * per-class accuracy and writes model/metrics.json, model/confusion-matrix.png and model/training-curves.png.
 *
 *   npm run evaluate                         # all backends that load, writes metrics and pictures
 *   npm run evaluate -- --backend wasm --no-write
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Classifier, loadClassifier } from '../layers/classifier';
import { readConfig } from '../layers/config';
import { NUM_CLASSES, normalisePixels, PIXELS } from '../layers/model-contract';
import { writeConfusionMatrixPng, writeTrainingCurvesPng } from './charts';
import { loadMnist, mnistChecksums } from './mnist';
import type { TrainingHistory } from './train';

export interface EvaluationResult {
  accuracy: number;
  correct: number;
  total: number;
  perClassAccuracy: number[];
  confusionMatrix: number[][];
}

/** Scores N x 10 probabilities against N labels: accuracy, per-class accuracy, confusion (rows = truth). */
export function score(probabilities: Float32Array, labels: Uint8Array): EvaluationResult {
  const total = labels.length;
  if (probabilities.length !== total * NUM_CLASSES) {
    throw new RangeError(`${probabilities.length} probabilities for ${total} labels`);
  }
  const confusionMatrix = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  let correct = 0;
  for (let i = 0; i < total; i += 1) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c += 1) {
      if ((probabilities[i * NUM_CLASSES + c] as number) > (probabilities[i * NUM_CLASSES + best] as number)) best = c;
    }
    const truth = labels[i] as number;
    (confusionMatrix[truth] as number[])[best] = ((confusionMatrix[truth] as number[])[best] as number) + 1;
    if (best === truth) correct += 1;
  }
  const perClassAccuracy = confusionMatrix.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? 0 : (row[c] as number) / n;
  });
  return { accuracy: correct / total, correct, total, perClassAccuracy, confusionMatrix };
}

/** Runs the whole test set through `classifier` in batches; returns the probabilities and ms per image. */
export async function predictAll(
  classifier: Classifier,
  images: Float32Array,
  batchSize = 500,
): Promise<{ probabilities: Float32Array; msPerImage: number }> {
  const count = images.length / PIXELS;
  const probabilities = new Float32Array(count * NUM_CLASSES);
  const started = process.hrtime.bigint();
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const out = await classifier.predictBatch(images.subarray(start * PIXELS, end * PIXELS));
    probabilities.set(out, start * NUM_CLASSES);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { probabilities, msPerImage: ms / count };
}

/** Median latency of one image at a time, as the service predicts: `samples` calls after a few warm-ups. */
export async function singleImageLatencyMs(classifier: Classifier, images: Float32Array, samples = 200): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples + 10; i += 1) {
    const image = images.subarray((i % (images.length / PIXELS)) * PIXELS, ((i % (images.length / PIXELS)) + 1) * PIXELS);
    const t = process.hrtime.bigint();
    await classifier.predictBatch(image);
    if (i >= 10) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

interface WeightsManifest {
  weightsManifest: Array<{ paths: string[]; weights: Array<{ shape: number[] }> }>;
}

export function modelSize(modelDir: string): { parameterCount: number; weightBytes: number } {
  const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as WeightsManifest;
  let parameterCount = 0;
  let weightBytes = 0;
  for (const group of manifest.weightsManifest) {
    for (const w of group.weights) parameterCount += w.shape.reduce((a, b) => a * b, 1);
    for (const p of group.paths) weightBytes += statSync(join(modelDir, p)).size;
  }
  return { parameterCount, weightBytes };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'model-dir': { type: 'string' },
      backend: { type: 'string', multiple: true },
      'no-write': { type: 'boolean' },
    },
  });
  // Without --model-dir, the model the service would serve (MODEL_DIR, else the shipped model/).
  const modelDir = values['model-dir'] ? resolve(values['model-dir']) : readConfig().modelDir;
  const requested = values.backend ?? ['wasm', 'tensorflow'];

  const test = loadMnist('test');
  const images = normalisePixels(test.images);
  const historyPath = join(modelDir, 'training-history.json');
  const history = existsSync(historyPath) ? (JSON.parse(readFileSync(historyPath, 'utf8')) as TrainingHistory) : null;

  const backends: Record<string, { accuracy: number; msPerImageBatch500: number; msPerImageSingle: number }> = {};
  let primary: EvaluationResult | null = null;
  for (const backend of requested) {
    if (backend !== 'wasm' && backend !== 'tensorflow') throw new Error(`--backend must be wasm or tensorflow, got ${backend}`);
    let classifier: Classifier;
    try {
      classifier = await loadClassifier({ backend, modelDir });
    } catch (error: unknown) {
      // Native TensorFlow is optional: say so and go on with the backends that load.
      process.stderr.write(`evaluate: skipping ${backend}: ${error instanceof Error ? error.message : String(error)}\n`);
      continue;
    }
    try {
      const { probabilities, msPerImage } = await predictAll(classifier, images);
      const single = await singleImageLatencyMs(classifier, images);
      const result = score(probabilities, test.labels);
      backends[classifier.backend] = { accuracy: result.accuracy, msPerImageBatch500: msPerImage, msPerImageSingle: single };
      process.stdout.write(
        `${classifier.backend}: accuracy ${pct(result.accuracy)} (${result.correct}/${result.total}), ` +
          `${msPerImage.toFixed(3)} ms/image in batches of 500, ${single.toFixed(3)} ms for one image (median)\n`,
      );
      // The wasm figures are the reference: wasm is the backend every machine has.
      if (primary === null || classifier.backend === 'wasm') primary = result;
    } finally {
      classifier.dispose();
    }
  }
  if (primary === null) throw new Error('no backend could load the model');

  process.stdout.write('per-class accuracy:\n');
  primary.perClassAccuracy.forEach((a, digit) => {
    const row = primary?.confusionMatrix[digit] ?? [];
    const n = row.reduce((x, y) => x + y, 0);
    process.stdout.write(`  ${digit}: ${pct(a)} (${row[digit]}/${n})\n`);
  });

  if (values['no-write']) return;
  const size = modelSize(modelDir);
  const metrics = {
    version: history?.version ?? null,
    accuracy: primary.accuracy,
    correct: primary.correct,
    testImages: primary.total,
    perClassAccuracy: primary.perClassAccuracy,
    confusionMatrix: primary.confusionMatrix,
    backends,
    parameterCount: size.parameterCount,
    weightBytes: size.weightBytes,
    architecture: history?.architecture ?? null,
    trainingTimeSeconds: history?.trainingTimeSeconds ?? null,
    trainingBackend: history?.backend ?? null,
    seed: history?.seed ?? null,
    epochs: history?.epochs ?? null,
    batchSize: history?.batchSize ?? null,
    datasetSha256: mnistChecksums(),
    evaluatedAt: new Date().toISOString(),
  };
  writeFileSync(join(modelDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeConfusionMatrixPng(
    primary.confusionMatrix,
    `MNIST test set: ${pct(primary.accuracy)} (${primary.correct}/${primary.total})`,
    join(modelDir, 'confusion-matrix.png'),
  );
  if (history) {
    const minutes = (history.trainingTimeSeconds / 60).toFixed(1);
    await writeTrainingCurvesPng(
      history.history,
      `Training: ${history.epochs} epochs, batch ${history.batchSize}, seed ${history.seed}, ${minutes} min on ${history.backend}`,
      join(modelDir, 'training-curves.png'),
    );
  }
  process.stdout.write(`wrote ${join(modelDir, 'metrics.json')}, confusion-matrix.png${history ? ', training-curves.png' : ''}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`evaluate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
