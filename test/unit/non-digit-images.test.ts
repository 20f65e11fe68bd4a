/**
 * The non-digit pictures' splits (model/training/non-digit-images.ts): the held-out split stays honest (no font of it is
 * trained on, and adding the training-only 'extra' split changed none of its pictures), and the 'extra' split
 * draws no letter that handwriting makes into a digit. Also how the refusal fit joins sets drawn in chunks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIGIT_LIKE_LETTERS, FONTS, LONE_LETTERS, nonDigitPicture, PEN_LETTER_NAMES } from '../../model/training/non-digit-images';
import { joinCrops } from '../../model/training/refusal-fit';

describe('non-digit splits', () => {
  it('trains on no held-out font family', () => {
    for (const split of ['train', 'extra'] as const) {
      const shared = FONTS[split].filter((font) => FONTS.heldout.includes(font));
      assert.deepEqual(shared, [], `${split} shares ${shared.join(', ')} with the held-out split`);
    }
    for (const font of FONTS.train) assert.ok(FONTS.extra.includes(font), `extra keeps the training font ${font}`);
  });

  it('draws the train and held-out pictures as they were before the extra split (same kinds, same things)', async () => {
    // What the first pictures of each split were when the refusal head was first measured.
    const before = {
      train: ['scribble:scribble', 'letter:F', 'scribble:scribble', 'symbol:>', 'letter:v', 'word:yes'],
      heldout: ['letter:E', 'shape:cloud', 'symbol:$', 'shape:boxX', 'word:tea', 'shape:zigzag'],
    };
    for (const split of ['train', 'heldout'] as const) {
      const now: string[] = [];
      for (let n = 0; n < before[split].length; n += 1) {
        const picture = await nonDigitPicture(n, split);
        now.push(`${picture.kind}:${picture.what}`);
      }
      assert.deepEqual(now, before[split], split);
    }
  });

  it('draws with a pen no letter that handwriting makes into a digit', () => {
    for (const letter of PEN_LETTER_NAMES) {
      assert.ok(!DIGIT_LIKE_LETTERS.includes(letter), `pen letter ${letter}`);
      assert.ok(LONE_LETTERS.includes(letter), `pen letter ${letter} is one of the lone letters`);
    }
  });
});

describe('joinCrops', () => {
  it('keeps every crop and shifts the picture indices of later chunks past the earlier pictures', () => {
    const part = (pictures: number, crops: number[], kind: 'letter' | 'shape') => ({
      inputs: Float32Array.from({ length: crops.length * 784 }, (_, i) => crops[Math.floor(i / 784)] as number),
      picture: Int32Array.from(crops),
      labels: Int8Array.from(crops, () => -1),
      pictures,
      kinds: Array.from({ length: pictures }, () => kind),
      noInk: 1,
    });
    // Chunk one: 3 pictures (picture 1 gave two crops, picture 2 none); chunk two: 2 pictures.
    const joined = joinCrops([part(3, [0, 1, 1], 'letter'), part(2, [0, 1], 'shape')]);
    assert.equal(joined.pictures, 5);
    assert.deepEqual(Array.from(joined.picture), [0, 1, 1, 3, 4]);
    assert.equal(joined.inputs.length, 5 * 784);
    assert.equal(joined.inputs[3 * 784], 0, 'the second chunk’s first crop follows the first chunk’s');
    assert.equal(joined.inputs[4 * 784], 1);
    assert.deepEqual(joined.kinds, ['letter', 'letter', 'letter', 'shape', 'shape']);
    assert.equal(joined.noInk, 2);
  });
});
