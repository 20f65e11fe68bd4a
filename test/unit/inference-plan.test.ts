/**
 * The folded inference plan (layers/classifier/inference-plan.ts) answers what `model.predict` answers: on the shipped
 * model with real MNIST test digits, on small models with non-trivial batch-norm statistics, and it declines
 * a layer it does not know rather than guess. With model/refusal.json, the served probabilities are the
 * model's at the fitted temperature and the digit scores the refusal head's, computed here the slow way.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { classifierVersion, loadClassifier } from '#classifier/classifier';
import { planInference } from '#classifier/inference-plan';
import { IMAGE_SIZE, normalisePixels, PIXELS } from '#classifier/model-contract';
import { headSource, RefusalFile } from '#classifier/refusal';
import { loadMnist } from '../../model/training/mnist';
import { headScores } from '../../model/training/refusal-fit';

const modelDir = join(__dirname, '..', '..', 'model');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

/** Sets every batch-norm layer's statistics to values far from the identity, so that folding them matters. */
function perturbBatchNorms(model: tf.LayersModel): void {
  let seed = 7;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 0x100000000;
  };
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.getWeights().map((w, i) => {
        const values = Array.from({ length: w.size }, () => (i === 3 ? 0.2 + next() * 3 : (next() - 0.5) * 2));
        return tf.tensor(values, w.shape);
      }),
    );
  }
}

/** model/ as tfjs-layers loads it, without the classifier. */
async function loadShippedModel(): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  const bytes = Buffer.concat(json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(modelDir, p)))));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

describe('the folded inference plan', () => {
  it('serves the shipped model with its temperature and refusal head, within 1e-5 of predict on 500 MNIST test digits', async () => {
    const classifier = await loadClassifier({ backend: 'wasm', modelDir });
    try {
      assert.equal(classifier.folded, true, 'the classifier fell back to model.predict');
      const refusal = RefusalFile.parse(JSON.parse(readFileSync(join(modelDir, 'refusal.json'), 'utf8')));
      assert.equal(classifier.temperature, refusal.temperature);
      // model:promote names the reader with the classifier's version read from the files alone: the same one.
      assert.equal(await classifierVersion(modelDir), classifier.version);
      const model = await loadShippedModel();
      const test = loadMnist('test');
      const input = normalisePixels(test.images.subarray(0, 500 * PIXELS));
      const served = await classifier.readBatch(input);
      // The reference: the same weights through tfjs-layers' own predict, on the same backend, the temperature
      // applied to its log-probabilities, and the head run in plain arithmetic on the last layer's input.
      const trunk = tf.model({ inputs: model.inputs, outputs: headSource(model, refusal.headInput) });
      const [expected, features] = tf.tidy(() => {
        const x = tf.tensor4d(input, [500, IMAGE_SIZE, IMAGE_SIZE, 1]);
        const p = model.predict(x) as tf.Tensor;
        return [tf.softmax(tf.div(tf.log(p), refusal.temperature)).dataSync(), (trunk.predict(x) as tf.Tensor).dataSync()];
      }) as [Float32Array, Float32Array];
      assert.ok(maxAbsDiff(served.probabilities, expected) < 1e-5, `max difference ${maxAbsDiff(served.probabilities, expected)}`);
      const scores = headScores({ layers: refusal.head }, features, features.length / 500);
      assert.ok(maxAbsDiff(served.digitScores, scores) < 1e-4, `max difference ${maxAbsDiff(served.digitScores, scores)}`);
      model.dispose();
    } finally {
      classifier.dispose();
    }
  });

  it('folds conv, dense and batch-norm layers with real statistics into the same answers as predict', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 2], filters: 4, kernelSize: 3, useBias: true, activation: 'linear' }),
        tf.layers.batchNormalization({ axis: -1, epsilon: 0.01 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.conv2d({ filters: 3, kernelSize: 2, useBias: false, padding: 'same' }),
        tf.layers.batchNormalization({ center: false }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 6, useBias: false }),
        tf.layers.batchNormalization({ scale: false }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: 5, activation: 'softmax' }),
      ],
    });
    perturbBatchNorms(model);
    const plan = planInference(model);
    assert.ok(plan, 'the planner declined a model made only of the layers it folds');
    const x = tf.randomUniform([6, 12, 12, 2], 0, 1, 'float32', 3);
    const got = tf.tidy(() => plan.forward(x).dataSync());
    const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    assert.ok(maxAbsDiff(got, want) < 1e-5, `max difference ${maxAbsDiff(got, want)}`);
    // Its two halves, the features and the logits, make the same answer once the softmax is applied.
    const { features, logits } = plan;
    assert.ok(features && logits, 'a model ending in a softmax dense layer is split');
    const halves = tf.tidy(() => tf.softmax(logits(features(x))).dataSync());
    assert.ok(maxAbsDiff(halves, want) < 1e-5, `max difference ${maxAbsDiff(halves, want)}`);
    // And through the flattened maps the refusal head may read.
    const { flattened } = plan;
    assert.ok(flattened, 'a model with a Flatten layer gives its flattened maps');
    const viaMaps = tf.tidy(() => tf.softmax(logits(flattened.rest(flattened.trunk(x)))).dataSync());
    assert.ok(maxAbsDiff(viaMaps, want) < 1e-5, `max difference ${maxAbsDiff(viaMaps, want)}`);
    plan.dispose();
    x.dispose();
  });

  it('declines a layer it does not fold, and an activation it cannot fuse', () => {
    const unknownLayer = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.layerNormalization(), tf.layers.dense({ units: 2 })],
    });
    assert.equal(planInference(unknownLayer), null);
    const tanh = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'tanh' })] });
    assert.equal(planInference(tanh), null);
  });
});
