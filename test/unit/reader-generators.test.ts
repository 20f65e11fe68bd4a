/**
 * The reader's training scenes and its held-out pictures share no code and no data: the held-out generator
 * (model/reader/heldout.ts) imports nothing of the training one (scenes.ts, train.ts) and reads MNIST's test
 * split and the non-digit 'heldout' split only; training reads MNIST's train split and the non-digit 'train' and
 * 'extra' splits only. And the scenes honour the model's input contract and label what they draw.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAX_DIGITS, READER_PIXELS } from '../../layers/reader/contract';
import { drawScene, GlyphBank, targetsOf } from '../../model/reader/scenes';
import { createRng } from '../../model/training/augment';
import type { MnistSplit } from '../../model/training/mnist';

const source = (name: string): string => readFileSync(join(__dirname, '..', '..', 'model', 'reader', name), 'utf8');
const imports = (text: string): string[] => [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string);

/** A tiny MNIST stand-in: ten 28x28 digits, each a bar at a different column, labelled 0..9. */
function tinyMnist(): MnistSplit {
  const images = new Uint8Array(10 * 784);
  for (let n = 0; n < 10; n += 1)
    for (let y = 4; y < 24; y += 1) for (let x = 8 + n; x < 12 + n; x += 1) images[n * 784 + y * 28 + x] = 255;
  return { images, labels: Uint8Array.from({ length: 10 }, (_, i) => i), count: 10 };
}

describe('reader generators', () => {
  it('keep training and held-out code apart', () => {
    const heldout = imports(source('heldout.ts'));
    for (const name of ['./scenes', './train', './architecture']) assert.ok(!heldout.includes(name), `heldout.ts imports ${name}`);
    for (const name of ['scenes.ts', 'train.ts']) assert.ok(!imports(source(name)).includes('./heldout'), `${name} imports heldout`);
  });

  it('keep the MNIST splits and the non-digit splits apart', () => {
    const heldout = source('heldout.ts');
    const train = source('train.ts');
    assert.match(heldout, /loadMnist\('test'\)/);
    assert.doesNotMatch(heldout, /loadMnist\('train'\)|'train'|'extra'/);
    assert.match(train, /loadMnist\('train'\)/);
    assert.doesNotMatch(train, /loadMnist\('test'\)|nonDigitPicture\([^)]*'heldout'/);
    assert.match(train, /'train' : 'extra'/);
  });

  it('draw scenes that honour the input contract and label up to six digits or none', () => {
    const bank = new GlyphBank(tinyMnist());
    const random = createRng(3);
    const lengths = new Set<number>();
    for (let i = 0; i < 200; i += 1) {
      const scene = drawScene(random, bank, { negativeShare: 0.2, negativePool: [] });
      assert.equal(scene.input.length, READER_PIXELS);
      assert.ok(scene.input.every((v) => v >= 0 && v <= 1));
      assert.ok(scene.digits.length <= MAX_DIGITS);
      lengths.add(scene.digits.length);
      const ink = scene.input.reduce((a, b) => a + b, 0);
      if (scene.digits.length > 0) assert.ok(ink > 10, `scene ${i} (${scene.digits.join('')}) has ${ink.toFixed(1)} ink`);
    }
    assert.deepEqual([...lengths].sort(), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('turn a scene into heads targets: its length and each position or blank', () => {
    assert.deepEqual(targetsOf([4, 0, 7]), { length: 3, positions: [4, 0, 7, 10, 10, 10] });
    assert.deepEqual(targetsOf([]), { length: 0, positions: [10, 10, 10, 10, 10, 10] });
  });
});
