/**
 * The reader's folded network (layers/reader/forward.ts): it answers what model.predict answers for the reader's
 * architecture, the shipped reader serves with it, and a model of another shape is declined, not misread.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { READER_HEIGHT, READER_PIXELS, READER_WIDTH } from '../../layers/reader/contract';
import { foldReader } from '../../layers/reader/forward';
import { defaultReaderDir, loadReader } from '../../layers/reader/reader';
import { createReaderModel } from '../../model/reader/architecture';

describe("the reader's folded network", () => {
  it('answers what model.predict answers, head by head, on a batch', async () => {
    await tf.setBackend('cpu');
    const model = createReaderModel(tf);
    const folded = foldReader(model);
    assert.ok(folded, 'the architecture of model/reader/architecture.ts folds');
    tf.tidy(() => {
      const x = tf.randomUniform([4, READER_HEIGHT, READER_WIDTH, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
      const expected = model.predict(x) as tf.Tensor[];
      const got = folded.forward(x);
      assert.equal(got.length, expected.length);
      got.forEach((t, i) => {
        assert.deepEqual(t.shape, expected[i]?.shape);
        assert.ok((tf.max(tf.abs(tf.sub(t, expected[i] as tf.Tensor))).dataSync()[0] ?? 1) < 1e-5, `head ${i}`);
      });
    });
    folded.dispose();
    model.dispose();
  });

  it('declines a model with a layer it does not fold', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [READER_HEIGHT, READER_WIDTH, 1] });
    const normed = tf.layers.batchNormalization().apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(normed) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 7, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    assert.equal(foldReader(model), null);
    model.dispose();
  });

  it('serves the shipped reader', { skip: !existsSync(join(defaultReaderDir(), 'model.json')) }, async () => {
    const reader = await loadReader({ backend: 'cpu' });
    assert.equal(reader.folded, true);
    const [reading] = reader.readInputs([new Float32Array(READER_PIXELS)]);
    assert.ok(reading && 'refused' in reading, 'an empty input is no number');
    reader.dispose();
  });
});
