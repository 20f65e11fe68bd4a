/**
 * The shipped model, loaded through the service's classifier on the wasm backend (the one every machine has),
 * still scores on all 10,000 MNIST test images what model/metrics.json says, less at most 0.1 points.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadClassifier } from '#classifier/classifier';
import { normalisePixels } from '#classifier/model-contract';
import { predictAll, score } from '../../model/training/evaluate';
import { loadMnist } from '../../model/training/mnist';

const modelDir = join(__dirname, '..', '..', 'model');
const metrics = JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')) as {
  accuracy: number;
  version: string;
};

describe('the shipped model on the MNIST test set', () => {
  it('is as accurate as metrics.json says, within 0.1 points, on wasm', async () => {
    const classifier = await loadClassifier({ backend: 'wasm', modelDir });
    try {
      assert.equal(classifier.backend, 'wasm');
      // The service's version names the CNN and, when refusal.json is beside it, the temperature and head too.
      const refusal = existsSync(join(modelDir, 'refusal.json'))
        ? (JSON.parse(readFileSync(join(modelDir, 'refusal.json'), 'utf8')) as { version: string })
        : null;
      assert.equal(classifier.version, refusal ? `${metrics.version}+${refusal.version}` : metrics.version);
      const test = loadMnist('test');
      const { probabilities } = await predictAll(classifier, normalisePixels(test.images), 1000);
      const result = score(probabilities, test.labels);
      assert.equal(result.total, 10_000);
      assert.ok(
        result.accuracy >= metrics.accuracy - 0.001,
        `accuracy ${(result.accuracy * 100).toFixed(2)}% vs ${(metrics.accuracy * 100).toFixed(2)}% in metrics.json`,
      );
    } finally {
      classifier.dispose();
    }
  });
});

describe('score', () => {
  it('counts a prediction right only when its largest probability is the label', () => {
    const probabilities = new Float32Array(3 * 10);
    probabilities[0 * 10 + 7] = 0.9; // label 7: right
    probabilities[1 * 10 + 2] = 0.6; // label 3: wrong, predicted 2
    probabilities[1 * 10 + 3] = 0.4;
    probabilities[2 * 10 + 0] = 1; // label 0: right
    const result = score(probabilities, new Uint8Array([7, 3, 0]));
    assert.equal(result.correct, 2);
    assert.ok(Math.abs(result.accuracy - 2 / 3) < 1e-12);
    assert.equal(result.confusionMatrix[3]?.[2], 1);
    assert.equal(result.confusionMatrix[7]?.[7], 1);
    assert.equal(result.perClassAccuracy[3], 0);
    assert.equal(result.perClassAccuracy[0], 1);
  });
});
