/**
 * Learning from labels end to end, as an operator runs it: labelled predictions in a real SQLite store (labels
 * given through the store's setLabel), their uploads in a real local S3 bucket (scripts/s3-local.ts), then
 * `npm run model:train -- --with-labels` and `npm run model:evaluate` run as commands with the configuration pointing at
 * both. A few batches on a few hundred MNIST images, not a real run. Checks the counts (read, used, held out,
 * skipped by reason), that the held-out records are the same at training and at evaluation and are the ones
 * the id's hash names, that the no-worse rule is applied as its figures say, and, with candidates made to be
 * worse (zeroed weights) and no worse (the serving weights under a new version), that the serving model is
 * replaced only by the second.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readConfig } from '#config/config';
import type { ImageMediaType } from '#preprocess/image-format';
import { createStore } from '#store/create-store';
import type { PredictionRecord } from '#store/prediction-store';
import { createUploadsBucket, uploadKey } from '#uploads/bucket';
import { numberPicture, redrawnDigit } from '../../model/training/digit-images';
import { isHeldOut, type LabelledTally } from '../../model/training/labelled';
import type { TrainingHistory } from '../../model/training/train';
import { type LocalS3, startS3Local } from '../../scripts/s3-local';
import { runForResult } from '../../tools/child-result';
import { ROOT } from '../../tools/root';
import { makeRecord } from '../support/records';

const HOLDOUT_SHARE = 0.3;
const MODEL_FILES = ['model.json', 'weights.bin', 'metrics.json', 'training-history.json'];

/** Fixed ids, so that which records are held out is the same on every run (and known to the test). */
const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Native TensorFlow when it is installed (npm run setup:native-tf), else the pure-JS backend on smaller batches. */
const native = ((): boolean => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

interface TrainResult {
  candidate: string;
  version: string;
  base: string | null;
  labelled: LabelledTally;
}

interface Figures {
  version: string;
  mnist: { correct: number; total: number };
  heldOut: { correct: number; total: number; numbersRight: number; numbers: number };
}

interface EvaluateResult {
  promote: boolean;
  reasons: string[];
  serving: Figures;
  candidate: Figures;
  labelled: LabelledTally;
  previousDir: string | null;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function copyModel(to: string): string {
  mkdirSync(to, { recursive: true });
  for (const file of MODEL_FILES) cpSync(join(ROOT, 'model', file), join(to, file));
  return to;
}

describe('learning from labels: train --with-labels, then evaluate (SQLite store, local S3 bucket)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-retrain-'));
  let s3: LocalS3;
  let env: NodeJS.ProcessEnv;
  /** The labelled records that should give examples, with how many digits each. */
  const good: Array<{ id: string; digits: number }> = [];
  let trained: TrainResult;

  const run = <T>(script: string, args: string[]) =>
    runForResult<T>(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env, timeoutMs: 180_000 });

  before(async () => {
    s3 = await startS3Local({ directory: join(dir, 's3') });
    env = {
      ...process.env,
      PREDICTION_STORE: 'sqlite',
      SQLITE_PATH: join(dir, 'predictions.sqlite'),
      ...s3.serviceEnv(),
      TF_CPP_MIN_LOG_LEVEL: '2',
    };
    delete env.CASSANDRA_CONTACT_POINTS;
    delete env.MODEL_DIR;
    const config = readConfig(env);
    const store = await createStore(config);
    const bucket = createUploadsBucket(config.uploads as NonNullable<typeof config.uploads>);
    let n = 0;
    const keep = async (bytes: Buffer, type: string): Promise<string> => {
      const digest = createHash('sha256').update(bytes).digest('hex');
      const key = uploadKey(digest, type as ImageMediaType);
      await bucket.put(key, bytes, type as ImageMediaType, digest);
      return key;
    };
    const save = async (imageKey: string | null, label: string | null): Promise<PredictionRecord> => {
      n += 1;
      const record = makeRecord({ id: id(n), imageKey, createdAt: new Date(Date.UTC(2026, 11, 1, 12, 0, n)).toISOString() });
      await store.save(record);
      if (label !== null) await store.setLabel(record, { number: label, by: n % 2 ? 'visitor' : 'operator', at: record.createdAt });
      return record;
    };

    // Twelve single digits as people draw them, each labelled with what it is.
    for (let i = 0; i < 12; i += 1) {
      const digit = await redrawnDigit(i, 5);
      good.push({ id: (await save(await keep(digit.bytes, digit.mediaType), String(digit.label))).id, digits: 1 });
    }
    // Two numbers whose segmentation finds their three digits.
    for (const [indices, kind, seed] of [
      [[0, 1, 2], 'canvas', 1],
      [[3, 4, 5], 'paper', 2],
    ] as const) {
      const number = await numberPicture(indices, kind, seed);
      good.push({ id: (await save(await keep(number.bytes, number.mediaType), number.label)).id, digits: 3 });
    }
    // Skipped, one for each reason a store can give: a label of another length than the digits found, a
    // record whose upload was not kept, an upload gone from the bucket, a picture the service cannot read.
    const number = await numberPicture([0, 1, 2], 'canvas', 1);
    await save(await keep(number.bytes, number.mediaType), '72');
    await save(null, '4');
    await save(`uploads/ab/${'ab'.repeat(32)}.png`, '4');
    await save(await keep(Buffer.from('GIF89a, but not really a picture'), 'image/gif'), '1');
    // Not labelled: never read.
    await save(await keep((await redrawnDigit(20, 5)).bytes, 'image/jpeg'), null);
    await store.close();

    const held = good.filter((g) => isHeldOut(g.id, HOLDOUT_SHARE));
    assert.ok(held.length > 0 && held.length < good.length, 'the fixed ids give both a training part and a held-out part');
  });

  after(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('train --with-labels reads the labelled records, holds out the hashed share, skips what it must, and writes a candidate', async () => {
    const modelDir = copyModel(join(dir, 'model'));
    const batch = native ? ['--batch-size', '32', '--max-batches', '3'] : ['--batch-size', '8', '--max-batches', '1', '--backend', 'cpu'];
    const child = await run<TrainResult>('model/training/train.ts', [
      '--with-labels',
      '--base',
      modelDir,
      '--holdout-share',
      String(HOLDOUT_SHARE),
      '--mnist-limit',
      '256',
      '--no-validate',
      ...batch,
    ]);
    assert.equal(child.code, 0, child.stderr);
    assert.ok(child.result, child.stdout);
    trained = child.result;

    const held = good.filter((g) => isHeldOut(g.id, HOLDOUT_SHARE));
    const used = good.filter((g) => !isHeldOut(g.id, HOLDOUT_SHARE));
    const { labelled } = trained;
    assert.equal(labelled.read, 18, 'every labelled record, and only those');
    assert.deepEqual(labelled.skipped, {
      'digit count differs from the label': 1,
      'upload not kept': 1,
      'upload missing from the bucket': 1,
      'preprocessing refused the upload': 1,
    });
    assert.equal(labelled.skippedTotal, 4);
    assert.equal(labelled.heldOut, held.length);
    assert.equal(labelled.used, used.length);
    assert.equal(
      labelled.heldOutExamples,
      held.reduce((s, g) => s + g.digits, 0),
    );
    assert.equal(
      labelled.trainExamples,
      used.reduce((s, g) => s + g.digits, 0),
    );
    assert.match(
      child.stderr,
      /skipped 00000000-0000-4000-8000-000000000015 \(label 72\): digit count differs from the label: label 72 has 2, segmentation found 3/,
    );

    const candidate = join(modelDir, 'candidate');
    assert.equal(trained.candidate, candidate);
    for (const file of ['model.json', 'weights.bin', 'training-history.json', 'refusal.json'])
      assert.ok(existsSync(join(candidate, file)), file);
    // The refusal head and temperature are fitted again on the candidate's own weights (model/training/after-fine-tune.ts):
    // the serving model's file is tied to other weights, and the service would refuse it.
    const refusalOf = (d: string) =>
      JSON.parse(readFileSync(join(d, 'refusal.json'), 'utf8')) as { modelVersion: string; weightsSha256: string };
    assert.notEqual(refusalOf(candidate).weightsSha256, refusalOf(join(ROOT, 'model')).weightsSha256);
    const history = JSON.parse(readFileSync(join(candidate, 'training-history.json'), 'utf8')) as TrainingHistory;
    assert.equal(history.version, trained.version);
    assert.match(history.version, /^mnist-cnn-\d{8}-[0-9a-f]{8}$/);
    assert.notEqual(history.version, trained.base);
    assert.equal(history.fineTune?.baseVersion, 'mnist-cnn-20261121-058d5a64');
    assert.deepEqual(history.fineTune?.labelled, labelled);
    assert.equal(history.fineTune?.mnistImages, 256);
    assert.equal(sha256(join(modelDir, 'weights.bin')), sha256(join(ROOT, 'model', 'weights.bin')), 'the serving model is untouched');
  });

  it('the learned reader fine-tunes on the same labelled records, whole numbers included, and scores the held-out ones', {
    skip: native ? false : 'model/reader/train.ts trains on native TensorFlow (npm run setup:native-tf)',
  }, async () => {
    const out = join(dir, 'reader');
    const child = await runForResult<{
      out: string;
      epochs: number;
      last: { labelled?: number };
      labelled: { read: number; train: number; heldOut: number; skipped: Record<string, number> };
    }>(
      process.execPath,
      [
        '--import',
        'tsx',
        'model/reader/train.ts',
        '--from',
        join(ROOT, 'model', 'reader'),
        '--rate',
        '1e-4',
        '--minutes',
        '0.01',
        '--steps',
        '2',
        '--batch',
        '8',
        '--pool',
        '4',
        '--validation',
        '16',
        '--with-labels',
        '--label-share',
        '0.5',
        '--holdout-share',
        String(HOLDOUT_SHARE),
        '--out',
        out,
      ],
      { cwd: ROOT, env, timeoutMs: 180_000 },
    );
    assert.equal(child.code, 0, child.stderr);
    assert.ok(child.result, child.stdout);
    const { labelled } = child.result;
    assert.equal(labelled.read, 18);
    // The reader reads the number whole: the "72" on a three-digit picture is an example (the label is the
    // user's word), which the classifier's retraining skips; the three others are skipped for the same reasons.
    assert.deepEqual(labelled.skipped, { 'upload not kept': 1, 'upload missing from the bucket': 1, 'unreadable picture': 1 });
    const held = [...good.map((g) => g.id), id(15)].filter((g) => isHeldOut(g, HOLDOUT_SHARE));
    assert.equal(labelled.heldOut, held.length);
    assert.equal(labelled.train, 15 - held.length);
    assert.equal(child.result.epochs, 1);
    assert.equal(typeof child.result.last.labelled, 'number', 'the held-out labelled records are scored each epoch');
    for (const file of ['model.json', 'weights.bin']) assert.ok(existsSync(join(out, file)), file);
  });

  it('evaluate compares the candidate on the same held-out records and applies the rule its figures call for', async () => {
    assert.ok(trained, 'the training test ran');
    const modelDir = join(dir, 'model');
    const servingWeights = sha256(join(modelDir, 'weights.bin'));
    const candidateWeights = sha256(join(modelDir, 'candidate', 'weights.bin'));
    const child = await run<EvaluateResult>('model/training/evaluate.ts', [
      '--model-dir',
      modelDir,
      '--backend',
      'wasm',
      '--mnist-limit',
      '300',
    ]);
    assert.equal(child.code, 0, child.stderr);
    const result = child.result;
    assert.ok(result, child.stdout);
    assert.match(child.stdout, /\| serving \| mnist-cnn-20261121-058d5a64 \|/);

    // The held-out records are the ones training set aside: same count, same examples.
    assert.equal(result.labelled.heldOut, trained.labelled.heldOut);
    assert.equal(result.labelled.heldOutExamples, trained.labelled.heldOutExamples);
    assert.equal(result.candidate.heldOut.total, trained.labelled.heldOutExamples);
    assert.equal(result.serving.heldOut.numbers, trained.labelled.heldOut);
    assert.equal(result.candidate.mnist.total, 300);

    const noWorse =
      result.candidate.mnist.correct >= result.serving.mnist.correct && result.candidate.heldOut.correct >= result.serving.heldOut.correct;
    assert.equal(result.promote, noWorse);
    if (result.promote) {
      assert.equal(sha256(join(modelDir, 'weights.bin')), candidateWeights);
      assert.equal(sha256(join(modelDir, 'previous', 'weights.bin')), servingWeights);
      const metrics = JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')) as { version: string };
      assert.equal(metrics.version, trained.version);
      assert.ok(existsSync(join(modelDir, 'labels-confusion-matrix.png')));
      assert.equal(existsSync(join(modelDir, 'candidate')), false);
    } else {
      assert.equal(sha256(join(modelDir, 'weights.bin')), servingWeights);
      assert.ok(existsSync(join(modelDir, 'candidate', 'comparison.json')));
      assert.match(child.stdout, /kept aside/);
    }
  });

  it('keeps a worse candidate aside, saying why, and leaves the serving model as it was', async () => {
    const modelDir = copyModel(join(dir, 'worse-model'));
    const broken = join(dir, 'broken');
    copyModel(broken);
    rmSync(join(broken, 'metrics.json'));
    // Zeroed weights: every picture gets the same answer, right one time in ten.
    writeFileSync(join(broken, 'weights.bin'), Buffer.alloc(readFileSync(join(broken, 'weights.bin')).length));
    const history = JSON.parse(readFileSync(join(broken, 'training-history.json'), 'utf8')) as TrainingHistory;
    writeFileSync(
      join(broken, 'training-history.json'),
      JSON.stringify({ ...history, version: 'mnist-cnn-20261202-00000000', fineTune: { labelled: { holdoutShare: HOLDOUT_SHARE } } }),
    );
    const before = MODEL_FILES.map((file) => sha256(join(modelDir, file)));

    const child = await run<EvaluateResult>('model/training/evaluate.ts', [
      '--model-dir',
      modelDir,
      '--candidate',
      broken,
      '--backend',
      'wasm',
      '--mnist-limit',
      '300',
    ]);
    assert.equal(child.code, 0, child.stderr);
    assert.ok(child.result, child.stdout);
    assert.equal(child.result.promote, false);
    const reasons = child.result.reasons.join('\n');
    assert.match(reasons, /worse on the MNIST test set/);
    // On the held-out labels it is right only where the truth is the one digit it always answers.
    const { candidate, serving } = child.result;
    assert.equal(/worse on the held-out labels/.test(reasons), candidate.heldOut.correct < serving.heldOut.correct);
    assert.match(child.stdout, /candidate mnist-cnn-20261202-00000000 kept aside in .*broken, the serving model is unchanged/);
    assert.deepEqual(
      MODEL_FILES.map((file) => sha256(join(modelDir, file))),
      before,
    );
    assert.equal(existsSync(join(modelDir, 'previous')), false);
    const comparison = JSON.parse(readFileSync(join(broken, 'comparison.json'), 'utf8')) as { promote: boolean };
    assert.equal(comparison.promote, false);
    assert.ok(existsSync(join(broken, 'confusion-matrix.png')));
  });

  it('writes a candidate no worse on both over the serving model, under its new version, and keeps the old one', async () => {
    const modelDir = copyModel(join(dir, 'same-model'));
    const same = join(modelDir, 'candidate');
    copyModel(same);
    rmSync(join(same, 'metrics.json'));
    const history = JSON.parse(readFileSync(join(same, 'training-history.json'), 'utf8')) as TrainingHistory;
    writeFileSync(
      join(same, 'training-history.json'),
      JSON.stringify({ ...history, version: 'mnist-cnn-20261202-feedbeef', fineTune: { labelled: { holdoutShare: HOLDOUT_SHARE } } }),
    );

    const child = await run<EvaluateResult>('model/training/evaluate.ts', [
      '--model-dir',
      modelDir,
      '--backend',
      'wasm',
      '--mnist-limit',
      '300',
    ]);
    assert.equal(child.code, 0, child.stderr);
    assert.ok(child.result, child.stdout);
    assert.deepEqual({ promote: child.result.promote, reasons: child.result.reasons }, { promote: true, reasons: [] });
    assert.equal(child.result.candidate.mnist.correct, child.result.serving.mnist.correct);
    const metrics = JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')) as {
      version: string;
      heldOutLabels: { examples: number };
      comparedWith: { version: string };
    };
    assert.equal(metrics.version, 'mnist-cnn-20261202-feedbeef');
    assert.equal(metrics.heldOutLabels.examples, trained.labelled.heldOutExamples);
    assert.equal(metrics.comparedWith.version, 'mnist-cnn-20261121-058d5a64');
    const previous = JSON.parse(readFileSync(join(modelDir, 'previous', 'metrics.json'), 'utf8')) as { version: string };
    assert.equal(previous.version, 'mnist-cnn-20261121-058d5a64');
    assert.equal(existsSync(same), false);
  });
});
