/**
 * The greyscale PNG encoder of the preview: what it writes decodes (with libvips, as any browser would) to
 * exactly the pixels given, and its CRC is the standard one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { crc32, encodeGreyPng } from '#preprocess/grey-png';

describe('encodeGreyPng', () => {
  it('computes the standard CRC-32 (check value of "123456789")', () => {
    assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
  });

  for (const [width, height] of [
    [28, 28],
    [1, 1],
    [5, 3],
  ] as const) {
    it(`writes a ${width}x${height} greyscale PNG that decodes to the same pixels`, async () => {
      const pixels = Uint8Array.from({ length: width * height }, (_, i) => (i * 37 + 11) % 256);
      const png = encodeGreyPng(pixels, width, height);
      const meta = await sharp(png).metadata();
      assert.deepEqual(
        [meta.format, meta.width, meta.height, meta.channels, meta.space, meta.depth],
        ['png', width, height, 1, 'b-w', 'uchar'],
      );
      // sharp hands greyscale back as sRGB unless told otherwise; its first channel is the grey value.
      const { data, info } = await sharp(png, { failOn: 'error' }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height, info.channels], [width, height, 1]);
      assert.deepEqual([...data], [...pixels]);
    });
  }

  it('refuses a pixel count that does not match the size', () => {
    assert.throws(() => encodeGreyPng(new Uint8Array(10), 3, 3), RangeError);
    assert.throws(() => encodeGreyPng(new Uint8Array(0), 0, 0), RangeError);
  });
});
