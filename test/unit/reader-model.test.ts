/**
 * The reader's network honours its contract (layers/reader/contract.ts): one 32 x 128 x 1 input, a length head
 * over 0..6 and six position heads over 11 classes, small enough for wasm; and the shipped model, when there is
 * one, loads through the service's loader and reads MNIST test digits from their bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { LENGTH_CLASSES, MAX_DIGITS, POSITION_CLASSES, READER_HEIGHT, READER_WIDTH } from '../../layers/reader/contract';
import { defaultReaderDir, loadReader, readerVersion } from '../../layers/reader/reader';
import { createReaderModel } from '../../model/reader/architecture';
import { loadMnist } from '../../model/training/mnist';

describe('reader model', () => {
  it("names a version by the weights and the refusal: a new refusal field changes it, an absent one leaves earlier readers' as they were", () => {
    const digest = 'ab'.repeat(32);
    assert.equal(readerVersion(digest, undefined), `reader-${digest.slice(0, 12)}`);
    const before = readerVersion(digest, { noNumberAbove: 0.97, minProbability: 0 });
    // What the version was before floorFromNoNumber existed (sha256 of the digest and the two fields' JSON).
    const old = createHash('sha256')
      .update(digest)
      .update(JSON.stringify({ noNumberAbove: 0.97, minProbability: 0 }))
      .digest('hex');
    assert.equal(before, `reader-${old.slice(0, 12)}`);
    assert.notEqual(readerVersion(digest, { noNumberAbove: 0.97, minProbability: 0, floorFromNoNumber: 0.2 }), before);
  });

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

  it('the shipped model reads MNIST test digits from their PNG bytes through the loader', {
    skip: !existsSync(join(defaultReaderDir(), 'model.json')),
  }, async () => {
    const reader = await loadReader({ backend: 'cpu' });
    assert.match(reader.version, /^reader-[0-9a-f]{12}$/);
    const mnist = loadMnist('test');
    // The first ten test digits (7 2 1 0 4 1 4 9 5 9), as 28x28 PNGs of light ink on black, as MNIST stores them.
    let right = 0;
    for (let i = 0; i < 10; i += 1) {
      const png = await sharp(Buffer.from(mnist.images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toBuffer();
      const reading = await reader.read(png);
      if (!('refused' in reading) && reading.number === String(mnist.labels[i])) right += 1;
    }
    assert.ok(right >= 9, `${right} of 10 read`);
    reader.dispose();
  });
});
