/**
 * Evaluates the shipped model on the 10,000 MNIST test images through the service's own inference code
 * (layers/classifier/classifier.ts), on the wasm backend and on native TensorFlow where it loads. Prints overall and
 * per-class accuracy and writes model/metrics.json, model/confusion-matrix.png and model/training-curves.png.
 *
 *   npm run model:evaluate                         # all backends that load, writes metrics and pictures
 *   npm run model:evaluate -- --backend wasm --no-write
 *
 * When a candidate waits beside the serving model (model/candidate/, written by `npm run model:train -- --with-labels`;
 * or `--candidate DIR`), it compares the two instead, on one backend (wasm unless told): the MNIST test set and
 * the held-out labelled predictions (read again from the store and the uploads bucket, held out by the same hash
 * of the id as at training), side by side as a table. The candidate replaces the serving model (its files over
 * model/'s, the replaced ones kept in model/previous/) only when it is no worse on both (model/training/promote.ts);
 * otherwise it stays in its directory and the command says why. Its metrics.json, confusion matrices (MNIST and
 * held-out labels), training curves and comparison.json are written into the candidate directory first.
 * `--no-candidate` evaluates the serving model alone even when a candidate waits.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Classifier, loadClassifier } from '#classifier/classifier';
import { NUM_CLASSES, normalisePixels, PIXELS } from '#classifier/model-contract';
import { type AppConfig, readConfig } from '#config/config';
import { printResult } from '../../tools/child-result';
import { writeConfusionMatrixPng, writeTrainingCurvesPng } from './charts';
import { collectLabelled, DEFAULT_HOLDOUT_SHARE, type ExampleSet, formatTally, type LabelledData, type LabelledSource } from './labelled';
import { readLabelled } from './labelled-source';
import { loadMnist, mnistChecksums } from './mnist';
import { comparisonTable, judge, type ModelScores, promoteCandidate, type SetScore, type Verdict } from './promote';
import { type EvaluationResult, score } from './score';
import { type TrainingHistory, versionOf } from './train';

export { type EvaluationResult, score };

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

/** The first `limit` MNIST test images (all 10,000 without one), normalised, with their labels. */
function mnistTest(limit: number | undefined): { images: Float32Array; labels: Uint8Array } {
  const test = loadMnist('test');
  const count = Math.min(limit ?? test.count, test.count);
  return { images: normalisePixels(test.images.subarray(0, count * PIXELS)), labels: test.labels.subarray(0, count) };
}

function readHistory(dir: string): TrainingHistory | null {
  const path = join(dir, 'training-history.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TrainingHistory) : null;
}

/** metrics.json's content for a model evaluated on `primary` (the figures of the reference backend). */
function metricsOf(
  modelDir: string,
  history: TrainingHistory | null,
  primary: EvaluationResult,
  backends: Record<string, { accuracy: number; msPerImageBatch500: number; msPerImageSingle: number }>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const size = modelSize(modelDir);
  return {
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
    ...extra,
    evaluatedAt: new Date().toISOString(),
  };
}

async function writeTrainingCurves(history: TrainingHistory, path: string): Promise<void> {
  const minutes = (history.trainingTimeSeconds / 60).toFixed(1);
  // A fine-tuning's title names its base instead of the seed, and stays short enough for the picture's width.
  const title = history.fineTune
    ? `Fine-tuned from ${history.fineTune.baseVersion ?? 'the serving model'}: ${history.epochs} epochs, ${minutes} min on ${history.backend}`
    : `Training: ${history.epochs} epochs, batch ${history.batchSize}, seed ${history.seed}, ${minutes} min on ${history.backend}`;
  await writeTrainingCurvesPng(history.history, title, path);
}

/** Scores labelled examples: per digit (EvaluationResult) and per picture, all of whose digits must be right. */
export function scoreExamples(probabilities: Float32Array, set: Pick<ExampleSet, 'labels' | 'records' | 'recordOf'>): SetScore {
  if (set.labels.length === 0) {
    const empty = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
    return {
      accuracy: Number.NaN,
      correct: 0,
      total: 0,
      perClassAccuracy: new Array(NUM_CLASSES).fill(0),
      confusionMatrix: empty,
      recordsRight: 0,
      records: 0,
    };
  }
  const result = score(probabilities, set.labels);
  const wrong = new Set<number>();
  for (let i = 0; i < set.labels.length; i += 1) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c += 1) {
      if ((probabilities[i * NUM_CLASSES + c] as number) > (probabilities[i * NUM_CLASSES + best] as number)) best = c;
    }
    if (best !== set.labels[i]) wrong.add(set.recordOf[i] as number);
  }
  return { ...result, recordsRight: set.records - wrong.size, records: set.records };
}

export interface CompareOptions {
  /** Where the labelled predictions are read from: the configured store and bucket, unless `source` is given. */
  config: AppConfig;
  source?: LabelledSource;
  modelDir: string;
  candidateDir: string;
  backend: 'wasm' | 'tensorflow';
  mnistLimit: number | undefined;
}

/** Scores one model on MNIST's test images and the held-out labelled examples. */
async function scoreModel(
  dir: string,
  backend: 'wasm' | 'tensorflow',
  mnist: { images: Float32Array; labels: Uint8Array },
  heldOut: ExampleSet,
): Promise<{ scores: ModelScores; msPerImage: number; msSingle: number }> {
  const classifier = await loadClassifier({ backend, modelDir: dir });
  try {
    const onMnist = await predictAll(classifier, mnist.images);
    const onLabels = heldOut.count > 0 ? (await predictAll(classifier, heldOut.images)).probabilities : new Float32Array(0);
    const msSingle = await singleImageLatencyMs(classifier, mnist.images);
    const mnistScore = score(onMnist.probabilities, mnist.labels);
    return {
      scores: {
        version: versionOf(dir) ?? classifier.version,
        dir,
        mnist: { ...mnistScore, recordsRight: mnistScore.correct, records: mnistScore.total },
        heldOut: scoreExamples(onLabels, heldOut),
      },
      msPerImage: onMnist.msPerImage,
      msSingle,
    };
  } finally {
    classifier.dispose();
  }
}

export interface Comparison {
  serving: ModelScores;
  candidate: ModelScores;
  verdict: Verdict;
  labelled: LabelledData['tally'];
  /** Where the serving model's replaced files went, when the candidate was promoted. */
  previousDir: string | null;
}

/** The candidate against the serving model; promotes it when it is no worse on both sets. */
export async function compareCandidate(options: CompareOptions): Promise<Comparison> {
  const { modelDir, candidateDir, backend } = options;
  if (!existsSync(join(candidateDir, 'model.json'))) throw new Error(`${candidateDir} holds no model.json: no candidate to compare`);
  const history = readHistory(candidateDir);
  // The share the candidate was trained with: any other would let it be judged on examples it learnt from.
  const holdoutShare = history?.fineTune?.labelled.holdoutShare ?? DEFAULT_HOLDOUT_SHARE;
  const labelled = options.source
    ? await collectLabelled(options.source, { holdoutShare, want: 'heldOut' })
    : await readLabelled(options.config, { holdoutShare, want: 'heldOut' });
  process.stderr.write(`${formatTally(labelled.tally, 'heldOut')}\n`);
  const mnist = mnistTest(options.mnistLimit);

  const serving = await scoreModel(modelDir, backend, mnist, labelled.heldOut);
  const candidate = await scoreModel(candidateDir, backend, mnist, labelled.heldOut);
  const verdict = judge(serving.scores, candidate.scores);
  process.stdout.write(`${comparisonTable(serving.scores, candidate.scores)}\n`);

  const c = candidate.scores;
  const heldOutFigures = {
    accuracy: c.heldOut.total === 0 ? null : c.heldOut.accuracy,
    correct: c.heldOut.correct,
    examples: c.heldOut.total,
    numbersRight: c.heldOut.recordsRight,
    numbers: c.heldOut.records,
    holdoutShare,
    confusionMatrix: c.heldOut.confusionMatrix,
  };
  const metrics = metricsOf(
    candidateDir,
    history,
    c.mnist,
    { [backend]: { accuracy: c.mnist.accuracy, msPerImageBatch500: candidate.msPerImage, msPerImageSingle: candidate.msSingle } },
    {
      heldOutLabels: heldOutFigures,
      comparedWith: {
        version: serving.scores.version,
        mnistCorrect: serving.scores.mnist.correct,
        heldOutCorrect: serving.scores.heldOut.correct,
      },
    },
  );
  writeFileSync(join(candidateDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeConfusionMatrixPng(
    c.mnist.confusionMatrix,
    `MNIST test set: ${pct(c.mnist.accuracy)} (${c.mnist.correct}/${c.mnist.total})`,
    join(candidateDir, 'confusion-matrix.png'),
  );
  if (c.heldOut.total > 0) {
    const s = serving.scores.heldOut;
    await writeConfusionMatrixPng(
      c.heldOut.confusionMatrix,
      `Held-out labels: ${pct(c.heldOut.accuracy)} (${c.heldOut.correct}/${c.heldOut.total}); serving model ${pct(s.accuracy)}`,
      join(candidateDir, 'labels-confusion-matrix.png'),
    );
  }
  if (history) await writeTrainingCurves(history, join(candidateDir, 'training-curves.png'));
  const comparison = {
    serving: summary(serving.scores),
    candidate: summary(c),
    promote: verdict.promote,
    reasons: verdict.reasons,
    labelled: labelled.tally,
    backend,
    comparedAt: new Date().toISOString(),
  };
  writeFileSync(join(candidateDir, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);

  let previousDir: string | null = null;
  if (verdict.promote) {
    previousDir = promoteCandidate(candidateDir, modelDir).previousDir;
    process.stdout.write(
      `candidate ${c.version} is no worse on both: it is now the serving model in ${modelDir} ` +
        `(the one it replaces, ${serving.scores.version}, is kept in ${previousDir})\n`,
    );
  } else {
    process.stdout.write(`candidate ${c.version} kept aside in ${candidateDir}, the serving model is unchanged:\n`);
    for (const reason of verdict.reasons) process.stdout.write(`  - ${reason}\n`);
  }
  return { serving: serving.scores, candidate: c, verdict, labelled: labelled.tally, previousDir };
}

function summary(s: ModelScores): Record<string, unknown> {
  return {
    version: s.version,
    mnist: { accuracy: s.mnist.accuracy, correct: s.mnist.correct, total: s.mnist.total },
    heldOut: {
      accuracy: s.heldOut.total === 0 ? null : s.heldOut.accuracy,
      correct: s.heldOut.correct,
      total: s.heldOut.total,
      numbersRight: s.heldOut.recordsRight,
      numbers: s.heldOut.records,
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'model-dir': { type: 'string' },
      backend: { type: 'string', multiple: true },
      'no-write': { type: 'boolean' },
      candidate: { type: 'string' },
      'no-candidate': { type: 'boolean' },
      'mnist-limit': { type: 'string' },
    },
  });
  // Without --model-dir, the model the service would serve (MODEL_DIR, else the shipped model/).
  const modelDir = values['model-dir'] ? resolve(values['model-dir']) : readConfig().modelDir;
  const requested = values.backend ?? ['wasm', 'tensorflow'];
  let mnistLimit: number | undefined;
  if (values['mnist-limit'] !== undefined) {
    mnistLimit = Number(values['mnist-limit']);
    if (!Number.isInteger(mnistLimit) || mnistLimit <= 0)
      throw new Error(`--mnist-limit must be a positive integer, got ${values['mnist-limit']}`);
  }

  const candidateDir = values.candidate ? resolve(values.candidate) : join(modelDir, 'candidate');
  if (values.candidate !== undefined && values['no-candidate']) throw new Error('--candidate and --no-candidate contradict each other');
  // --no-candidate: the serving model alone, as before candidates existed, even with one waiting beside it.
  if (values.candidate !== undefined || (!values['no-candidate'] && existsSync(join(candidateDir, 'model.json')))) {
    if (values['no-write']) throw new Error('--no-write does not go with a candidate: judging one writes its figures beside it');
    const backend = requested[0] ?? 'wasm';
    if (backend !== 'wasm' && backend !== 'tensorflow') throw new Error(`--backend must be wasm or tensorflow, got ${backend}`);
    process.stderr.write(`comparing the candidate in ${candidateDir} with the serving model in ${modelDir} on ${backend}\n`);
    const { serving, candidate, verdict, labelled, previousDir } = await compareCandidate({
      config: readConfig(),
      modelDir,
      candidateDir,
      backend,
      mnistLimit,
    });
    // One machine-readable line for scripts and tests (tools/child-result.ts).
    printResult({ ...verdict, serving: summary(serving), candidate: summary(candidate), labelled, previousDir });
    return;
  }

  const test = mnistTest(mnistLimit);
  const images = test.images;
  const history = readHistory(modelDir);

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
  const metrics = metricsOf(modelDir, history, primary, backends);
  writeFileSync(join(modelDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeConfusionMatrixPng(
    primary.confusionMatrix,
    `MNIST test set: ${pct(primary.accuracy)} (${primary.correct}/${primary.total})`,
    join(modelDir, 'confusion-matrix.png'),
  );
  if (history) await writeTrainingCurves(history, join(modelDir, 'training-curves.png'));
  process.stdout.write(`wrote ${join(modelDir, 'metrics.json')}, confusion-matrix.png${history ? ', training-curves.png' : ''}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`evaluate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
