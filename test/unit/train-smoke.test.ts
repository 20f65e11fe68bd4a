/**
 * Training in miniature: one batch of 4 images on the pure-JS cpu backend (no native TensorFlow needed; its
 * convolution gradients are slow, so the batch is tiny), which proves the loop, the schedule and the writing
 * of a loadable model; and the seeded pieces (random generator, shuffling, augmentation) that make a run
 * repeatable.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PIXELS } from '#classifier/model-contract';
import { augmentImage, createRng, DEFAULT_AUGMENT, morph, shuffledIndices } from '../../model/training/augment';
import { loadMnist } from '../../model/training/mnist';
import { formatDuration } from '../../model/training/progress';
import { DEFAULT_TRAIN_OPTIONS, modelVersion, oneCycleLearningRate, train } from '../../model/training/train';

const outDir = mkdtempSync(join(tmpdir(), 'train-smoke-'));
before(async () => {
  await tf.setBackend('cpu');
});
after(() => rmSync(outDir, { recursive: true, force: true }));

describe('train', () => {
  it('runs a batch and writes a model that loads and predicts', async () => {
    const history = await train(tf, {
      ...DEFAULT_TRAIN_OPTIONS,
      epochs: 1,
      batchSize: 4,
      limit: 8,
      maxSteps: 1,
      validate: false,
      outDir,
      quiet: true,
    });
    assert.equal(history.history.length, 1);
    assert.ok(Number.isFinite(history.history[0]?.loss));
    assert.equal(history.trainImages, 8);
    assert.match(history.version, /^mnist-cnn-\d{8}-[0-9a-f]{8}$/);
    for (const file of ['model.json', 'weights.bin', 'training-history.json']) assert.ok(existsSync(join(outDir, file)), file);
    const saved = JSON.parse(readFileSync(join(outDir, 'training-history.json'), 'utf8')) as { version: string };
    assert.equal(saved.version, history.version);

    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: (JSON.parse(readFileSync(join(outDir, 'model.json'), 'utf8')) as { modelTopology: object }).modelTopology,
        weightSpecs: (
          JSON.parse(readFileSync(join(outDir, 'model.json'), 'utf8')) as {
            weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
          }
        ).weightsManifest.flatMap((g) => g.weights),
        weightData: new Uint8Array(readFileSync(join(outDir, 'weights.bin'))).buffer,
      }),
    );
    const out = tf.tidy(() => model.predict(tf.zeros([1, 28, 28, 1])) as tf.Tensor);
    assert.deepEqual(out.shape, [1, 10]);
    out.dispose();
    model.dispose();
  });
});

describe('the learning-rate schedule', () => {
  it('warms up to the peak, then decays to a thousandth of it', () => {
    const total = 1000;
    const max = 3e-3;
    assert.ok(Math.abs(oneCycleLearningRate(0, total, max) - max / 25) < 1e-12);
    assert.ok(Math.abs(oneCycleLearningRate(150, total, max) - max) < 1e-12);
    assert.ok(oneCycleLearningRate(75, total, max) < max);
    assert.ok(oneCycleLearningRate(600, total, max) < oneCycleLearningRate(300, total, max));
    assert.ok(Math.abs(oneCycleLearningRate(total, total, max) - max / 1000) < 1e-12);
  });
});

describe('seeded randomness', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number): number[] => {
      const rng = createRng(seed);
      return Array.from({ length: 5 }, () => rng());
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.ok(draw(7).every((x) => x >= 0 && x < 1));
  });

  it('shuffles into a permutation, the same one for the same seed', () => {
    const a = shuffledIndices(1000, createRng(1));
    const b = shuffledIndices(1000, createRng(1));
    assert.deepEqual(a, b);
    assert.deepEqual(
      Array.from(a).sort((x, y) => x - y),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.notDeepEqual(
      Array.from(a.subarray(0, 10)),
      Array.from({ length: 10 }, (_, i) => i),
    );
  });
});

describe('augmentImage', () => {
  const digit = new Float32Array(loadMnist('test').images.subarray(0, PIXELS)).map((v) => v / 255);

  it('is the identity when every range is zero', () => {
    const dst = new Float32Array(PIXELS);
    const none = {
      ...DEFAULT_AUGMENT,
      maxRotationDeg: 0,
      maxZoom: 0,
      maxAspect: 0,
      maxShearDeg: 0,
      maxShift: 0,
      dilateProbability: 0,
      erodeProbability: 0,
    };
    augmentImage(digit, dst, createRng(5), none);
    for (let i = 0; i < PIXELS; i += 1) assert.ok(Math.abs((dst[i] as number) - (digit[i] as number)) < 1e-6);
  });

  it('repeats exactly for the same seed, keeps values in [0, 1] and keeps most of the ink', () => {
    const one = new Float32Array(PIXELS);
    const two = new Float32Array(PIXELS);
    augmentImage(digit, one, createRng(9));
    augmentImage(digit, two, createRng(9));
    assert.deepEqual(one, two);
    const ink = (a: Float32Array): number => a.reduce((s, v) => s + v, 0);
    for (let seed = 0; seed < 50; seed += 1) {
      augmentImage(digit, one, createRng(seed));
      assert.ok(one.every((v) => v >= 0 && v <= 1));
      const ratio = ink(one) / ink(digit);
      assert.ok(ratio > 0.4 && ratio < 2.5, `seed ${seed}: ink ratio ${ratio}`);
    }
  });

  it('thickens strokes by dilation and thins them by erosion', () => {
    const thick = new Float32Array(PIXELS);
    const thin = new Float32Array(PIXELS);
    morph(digit, thick, Math.max);
    morph(digit, thin, Math.min);
    const ink = (a: Float32Array): number => a.reduce((s, v) => s + v, 0);
    assert.ok(ink(thick) > ink(digit) * 1.3);
    assert.ok(ink(thin) < ink(digit) * 0.8);
  });
});

describe('reporting helpers', () => {
  it('formats durations as mm:ss or h:mm:ss', () => {
    assert.equal(formatDuration(59.4), '00:59');
    assert.equal(formatDuration(125), '02:05');
    assert.equal(formatDuration(3723), '1:02:03');
    assert.equal(formatDuration(Number.NaN), '--:--');
  });

  it('names a model version by date and weights hash', () => {
    assert.equal(modelVersion('abcdef0123456789', new Date('2026-11-21T10:00:00Z')), 'mnist-cnn-20261121-abcdef01');
  });
});
