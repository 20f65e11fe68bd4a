/**
 * The model's input contract (layers/classifier/model-contract.ts) and the two things that must honour it: the network
 * that training builds (model/training/architecture.ts) and the model that ships in model/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  assertValidInput,
  IMAGE_CHANNELS,
  IMAGE_SIZE,
  INPUT_SHAPE,
  NUM_CLASSES,
  normalisePixels,
  PIXELS,
} from '#classifier/model-contract';
import { createModel } from '../../model/training/architecture';

// Taken before any test runs: importing the architecture module must not have built a model.
const tensorsAfterImport = tf.memory().numTensors;

before(async () => {
  await tf.setBackend('cpu');
});

describe('the input contract', () => {
  it('is a 28x28 single-channel image and ten classes', () => {
    assert.deepEqual([...INPUT_SHAPE], [28, 28, 1]);
    assert.equal(IMAGE_SIZE * IMAGE_SIZE * IMAGE_CHANNELS, PIXELS);
    assert.equal(PIXELS, 784);
    assert.equal(NUM_CLASSES, 10);
  });

  it('normalises 8-bit pixels to [0, 1] with 0 as background and 255 as ink', () => {
    const bytes = new Uint8Array(PIXELS);
    bytes[0] = 255;
    bytes[1] = 51;
    const values = normalisePixels(bytes);
    assert.equal(values.length, PIXELS);
    assert.equal(values[0], 1);
    assert.ok(Math.abs((values[1] as number) - 0.2) < 1e-7);
    assert.equal(values[2], 0);
  });

  it('refuses pixel data that is not a whole number of images', () => {
    assert.throws(() => normalisePixels(new Uint8Array(PIXELS + 1)), RangeError);
  });

  it('accepts a valid batch and counts its images', () => {
    const batch = new Float32Array(3 * PIXELS).fill(0.5);
    batch[0] = 0;
    batch[1] = 1;
    assert.equal(assertValidInput(batch), 3);
  });

  it('refuses empty or ragged input and any value outside [0, 1]', () => {
    assert.throws(() => assertValidInput(new Float32Array(0)), RangeError);
    assert.throws(() => assertValidInput(new Float32Array(PIXELS - 1)), RangeError);
    for (const bad of [-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      const batch = new Float32Array(PIXELS);
      batch[400] = bad;
      assert.throws(() => assertValidInput(batch), /outside \[0, 1\]/, `value ${bad}`);
    }
  });
});

describe('createModel', () => {
  it('builds nothing when imported', () => {
    assert.equal(tensorsAfterImport, 0);
  });

  it('takes [N, 28, 28, 1] and answers a softmax over 10 digits', async () => {
    const model = createModel(tf, { seed: 3 });
    try {
      assert.deepEqual(model.inputs[0]?.shape, [null, ...INPUT_SHAPE]);
      assert.deepEqual(model.outputs[0]?.shape, [null, NUM_CLASSES]);
      const out = tf.tidy(() => model.predict(tf.randomUniform([4, ...INPUT_SHAPE], 0, 1, 'float32', 5)) as tf.Tensor);
      const rows = (await out.array()) as number[][];
      out.dispose();
      assert.equal(rows.length, 4);
      for (const row of rows) {
        assert.equal(row.length, NUM_CLASSES);
        assert.ok(row.every((p) => p >= 0 && p <= 1));
        assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      }
    } finally {
      model.dispose();
    }
  });

  it('keeps the weights under 2 MB as float32', () => {
    const model = createModel(tf);
    try {
      assert.ok(model.countParams() * 4 < 2 * 1024 * 1024, `${model.countParams()} parameters`);
    } finally {
      model.dispose();
    }
  });

  it('starts from the same weights for the same seed and from others for another seed', async () => {
    const first = (seed: number): Promise<number[]> => {
      const model = createModel(tf, { seed });
      const kernel = model.layers[0]?.getWeights()[0] as tf.Tensor;
      return kernel.data().then((d) => {
        const values = Array.from(d).slice(0, 20);
        model.dispose();
        return values;
      });
    };
    assert.deepEqual(await first(11), await first(11));
    assert.notDeepEqual(await first(11), await first(12));
  });
});

describe('the shipped model', () => {
  const modelJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'model', 'model.json'), 'utf8')) as {
    format: string;
    modelTopology: { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } };
    weightsManifest: Array<{ paths: string[] }>;
  };

  it('is a TF.js layers model whose input is the contract shape', () => {
    assert.equal(modelJson.format, 'layers-model');
    const first = modelJson.modelTopology.config.layers[0];
    const inputShape = (first?.config.batch_input_shape ?? first?.config.batchInputShape) as unknown;
    assert.deepEqual(inputShape, [null, ...INPUT_SHAPE]);
  });

  it('ends in a 10-way softmax', () => {
    const layers = modelJson.modelTopology.config.layers;
    const last = layers[layers.length - 1];
    assert.equal(last?.class_name, 'Dense');
    assert.equal(last?.config.units, NUM_CLASSES);
    assert.equal(last?.config.activation, 'softmax');
  });
});
