/**
 * The PNG header read in place (layers/preprocess/png-header.ts) says what sharp's metadata says about every
 * kind of PNG, so that the decode limits (decodedBytes) come out the same whichever reads the header; and it
 * declines what it cannot vouch for, leaving it to sharp.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodedBytes, readHeader } from '#preprocess/decode';
import { readPngHeader } from '#preprocess/png-header';

const W = 37;
const H = 23;

function base(channels: 1 | 2 | 3 | 4): sharp.Sharp {
  const data = Buffer.alloc(W * H * channels);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 37) % 251;
  return sharp(data, { raw: { width: W, height: H, channels } });
}

const KINDS: Record<string, () => Promise<Buffer>> = {
  'grey 8-bit': () => base(1).png().toBuffer(),
  'grey 16-bit': () => base(1).toColourspace('grey16').png().toBuffer(),
  'grey and alpha': () => base(2).png().toBuffer(),
  'RGB 8-bit': () => base(3).png().toBuffer(),
  'RGB 16-bit': () => base(3).toColourspace('rgb16').png().toBuffer(),
  'RGBA 8-bit': () => base(4).png().toBuffer(),
  'RGBA 16-bit, interlaced': () => base(4).toColourspace('rgb16').png({ progressive: true }).toBuffer(),
  palette: () => base(3).png({ palette: true, colours: 16 }).toBuffer(),
  'palette with transparency': () => base(4).png({ palette: true, colours: 16 }).toBuffer(),
  'palette of 2 colours (1 bit)': () => base(3).png({ palette: true, colours: 2 }).toBuffer(),
};

describe('the PNG header read in place', () => {
  for (const [kind, make] of Object.entries(KINDS)) {
    it(`${kind}: the size and decoded bytes sharp reports`, async () => {
      const bytes = await make();
      const meta = await sharp(bytes).metadata();
      const png = readPngHeader(bytes);
      assert.ok(png, 'declined a well-formed PNG');
      assert.equal(png.width, meta.width);
      assert.equal(png.height, meta.height);
      assert.equal(png.channels, meta.channels, `channels (sharp: ${meta.channels}, depth ${meta.depth})`);
      assert.equal(png.width * png.height * png.channels * png.sampleBytes, decodedBytes(meta));
      assert.deepEqual(await readHeader(bytes, 25_000_000), { width: W, height: H, decodedBytes: decodedBytes(meta) });
    });
  }

  it('declines what it cannot vouch for: not a PNG, a truncated one, one with an EXIF orientation', async () => {
    const png = await base(3).png().toBuffer();
    assert.equal(readPngHeader(await base(3).jpeg().toBuffer()), null);
    assert.equal(readPngHeader(png.subarray(0, 30)), null);
    const broken = Buffer.from(png);
    broken[25] = 5; // colour type 5 does not exist
    assert.equal(readPngHeader(broken), null);
    const rotated = await base(3).png().withMetadata({ orientation: 6 }).toBuffer();
    assert.equal(readPngHeader(rotated), null);
    // sharp reads that one, and the sides come out swapped as displayed.
    assert.deepEqual((await readHeader(rotated, 25_000_000)).width, H);
  });

  it('keeps refusing a decompression bomb by its header (5000x5000, 16-bit RGBA, interlaced) before decoding', async () => {
    const bytes = await sharp({ create: { width: 5000, height: 5000, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } })
      .toColourspace('rgb16')
      .png({ progressive: true, compressionLevel: 9 })
      .toBuffer();
    assert.ok(readPngHeader(bytes), 'the bomb should be read in place');
    await assert.rejects(readHeader(bytes, 25_000_000), (error: Error & { code?: string }) => error.code === 'too_many_pixels');
  });
});
