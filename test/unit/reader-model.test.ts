/**
 * The reader's network honours its contract (layers/reader/contract.ts): one 32 x 128 x 1 input, a length head
 * over 0..6 and six position heads over 11 classes, small enough for wasm; and the shipped model, when there is
 * one, loads through the service's loader and reads an input into a number or a refusal.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LENGTH_CLASSES, letterbox, MAX_DIGITS, POSITION_CLASSES, READER_HEIGHT, READER_WIDTH } from '../../layers/reader/contract';
import { defaultReaderDir, loadReader } from '../../layers/reader/reader';
import { createReaderModel } from '../../model/reader/architecture';

describe('reader model', () => {
  it('takes one 32 x 128 grey input and answers a length head and six position heads', async () => {
    await tf.setBackend('cpu');
    const model = createReaderModel(tf);
    assert.deepEqual(model.inputs[0]?.shape, [null, READER_HEIGHT, READER_WIDTH, 1]);
    assert.deepEqual(
      model.outputs.map((o) => o.shape),
      [[null, LENGTH_CLASSES], ...Array.from({ length: MAX_DIGITS }, () => [null, POSITION_CLASSES])],
    );
    assert.ok(model.countParams() < 1_000_000, `${model.countParams()} parameters`);
    model.dispose();
  });

  it('the shipped model reads a drawn "1" through the loader', { skip: !existsSync(join(defaultReaderDir(), 'model.json')) }, async () => {
    const reader = await loadReader({ backend: 'cpu' });
    assert.match(reader.version, /^reader-[0-9a-f]{12}$/);
    const values = new Uint8Array(32 * 32).fill(235);
    for (let y = 5; y < 27; y += 1) for (let x = 14; x < 18; x += 1) values[y * 32 + x] = 25;
    const [reading] = reader.readInputs([letterbox({ width: 32, height: 32, values })]);
    assert.ok(reading && !('refused' in reading), JSON.stringify(reading));
    assert.equal(reading.number, '1');
    reader.dispose();
  });
});
