/**
 * The decoded-size bound: what the header says a picture takes once decoded, for each
 * format as far as its header tells, the refusal over the limit before decoding, and the byte-weighted
 * semaphore that bounds decodes at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { MAX_PIXELS } from '#contract/limits';
import { PayloadTooLargeError } from '#errors/errors';
import { BudgetWaitExceeded, ByteBudget, DECODE_BUDGET_PICTURES, decodeBudget, maxDecodedBytes, readHeader } from '#preprocess/decode';
import { preprocessImage } from '#preprocess/index';
import { bigPng } from '../support/big-png';

/** An uncompressed 16-bit RGB TIFF, by hand: sharp writes TIFF at 8 bits only. */
function tiff16(width: number, height: number): Buffer {
  const entries: Array<[number, number, number, number]> = [
    [256, 3, 1, width],
    [257, 3, 1, height],
    [258, 3, 3, 0],
    [259, 3, 1, 1],
    [262, 3, 1, 2],
    [273, 4, 1, 0],
    [277, 3, 1, 3],
    [278, 3, 1, height],
    [279, 4, 1, width * height * 6],
  ];
  const ifdAt = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  const bitsAt = ifdAt + ifdSize;
  const dataAt = bitsAt + 6;
  const out = Buffer.alloc(dataAt + width * height * 6);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdAt, 4);
  out.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, count, value], i) => {
    const at = ifdAt + 2 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    const v = tag === 258 ? bitsAt : tag === 273 ? dataAt : value;
    if (type === 3 && count === 1) out.writeUInt16LE(v, at + 8);
    else out.writeUInt32LE(v, at + 8);
  });
  for (let i = 0; i < 3; i += 1) out.writeUInt16LE(16, bitsAt + i * 2);
  return out;
}

const W = 40;
const H = 30;
const rgb = (): sharp.Sharp => sharp({ create: { width: W, height: H, channels: 3, background: '#fa0' } });

describe('the decoded size, from the header', () => {
  it('PNG: bit depth, channels and palette', async () => {
    const cases: Array<[string, Buffer, number]> = [
      ['8-bit grey', await bigPng({ width: W, height: H, bitDepth: 8, colourType: 0, interlaced: false }), 1],
      ['16-bit grey', await bigPng({ width: W, height: H, bitDepth: 16, colourType: 0, interlaced: false }), 2],
      ['8-bit grey+alpha', await bigPng({ width: W, height: H, bitDepth: 8, colourType: 4, interlaced: false }), 2],
      ['8-bit RGB', await bigPng({ width: W, height: H, bitDepth: 8, colourType: 2, interlaced: false }), 3],
      ['16-bit RGBA', await bigPng({ width: W, height: H, bitDepth: 16, colourType: 6, interlaced: false }), 8],
      ['16-bit RGBA, interlaced', await bigPng({ width: W, height: H, bitDepth: 16, colourType: 6, interlaced: true }), 8],
      ['palette (expands to RGB)', await rgb().png({ palette: true }).toBuffer(), 3],
    ];
    for (const [name, bytes, perPixel] of cases) {
      assert.equal((await readHeader(bytes, MAX_PIXELS)).decodedBytes, W * H * perPixel, name);
    }
  });
  it('JPEG: 3 bytes a pixel, 6 when progressive (its 16-bit coefficients are held whole)', async () => {
    assert.equal((await readHeader(await rgb().jpeg().toBuffer(), MAX_PIXELS)).decodedBytes, W * H * 3);
    assert.equal((await readHeader(await rgb().jpeg({ progressive: true }).toBuffer(), MAX_PIXELS)).decodedBytes, W * H * 6);
    assert.equal((await readHeader(await rgb().toColourspace('b-w').jpeg().toBuffer(), MAX_PIXELS)).decodedBytes, W * H);
  });
  it('WebP with and without alpha, GIF (palette to RGBA, one frame), 16-bit TIFF', async () => {
    assert.equal((await readHeader(await rgb().webp().toBuffer(), MAX_PIXELS)).decodedBytes, W * H * 3);
    assert.equal((await readHeader(await rgb().ensureAlpha(0.5).webp().toBuffer(), MAX_PIXELS)).decodedBytes, W * H * 4);
    assert.equal((await readHeader(await rgb().gif().toBuffer(), MAX_PIXELS)).decodedBytes, W * H * 4);
    assert.equal((await readHeader(tiff16(W, H), MAX_PIXELS)).decodedBytes, W * H * 6);
  });
  it('counts a quarter-turned picture the same (EXIF orientation swaps only the sides)', async () => {
    const header = await readHeader(await rgb().withMetadata({ orientation: 6 }).jpeg().toBuffer(), MAX_PIXELS);
    assert.deepEqual(header, { width: H, height: W, decodedBytes: W * H * 3 });
  });
});

describe('the decoded-size limit', () => {
  it('is 4 bytes a pixel at the pixel limit: 100 MB for 25 megapixels', () => {
    assert.equal(maxDecodedBytes(MAX_PIXELS), 100_000_000);
  });
  it("refuses the issue's 240 KB PNG (5000x5000, 16-bit RGBA, interlaced: 200 MB decoded) with 413, before decoding", async () => {
    const png = await bigPng({ width: 5000, height: 5000, bitDepth: 16, colourType: 6, interlaced: true });
    assert.ok(png.length < 300_000, `${png.length} bytes`);
    const began = process.hrtime.bigint();
    await assert.rejects(preprocessImage(png), (error: unknown) => {
      assert.ok(error instanceof PayloadTooLargeError);
      assert.equal(error.code, 'too_many_pixels');
      assert.match(
        error.message,
        /^The image would take 190\.7 MiB once decoded \(5000x5000, 4 channels of 16 bits\); the limit is 95\.4 MiB/,
      );
      return true;
    });
    // A header read, not a 200 MB decode (which takes seconds here).
    assert.ok(Number(process.hrtime.bigint() - began) / 1e6 < 500);
  });
  it('accepts 25 megapixels at 8 bits RGBA, and 16-bit RGBA up to 12.5 megapixels; a lower MAX_PIXELS lowers both', async () => {
    const rgba8 = await bigPng({ width: 5000, height: 5000, bitDepth: 8, colourType: 6, interlaced: true });
    assert.equal((await readHeader(rgba8, MAX_PIXELS)).decodedBytes, 100_000_000);
    const rgba16 = await bigPng({ width: 3535, height: 3535, bitDepth: 16, colourType: 6, interlaced: false });
    assert.equal((await readHeader(rgba16, MAX_PIXELS)).decodedBytes, 3535 * 3535 * 8);
    await assert.rejects(readHeader(rgba16, 12_000_000), PayloadTooLargeError);
  });
});

describe('ByteBudget, the decode semaphore', () => {
  /** A task that runs until released, recording how many ran at once. */
  function gate(): { started: Promise<void>; release: () => void; task: () => Promise<void> } {
    let release = (): void => undefined;
    let started = (): void => undefined;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const done = new Promise<void>((resolve) => (release = resolve));
    return {
      started: startedPromise,
      release,
      task: () => {
        started();
        return done;
      },
    };
  }
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('runs at most what fits, in arrival order, and frees the bytes when a task fails', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const a = gate();
    const b = gate();
    const c = gate();
    const runA = budget.run(60, () => {
      order.push('a');
      return a.task();
    });
    const runB = budget.run(60, () => {
      order.push('b');
      return b.task();
    });
    const runC = budget.run(10, () => {
      order.push('c');
      return c.task();
    });
    await tick();
    assert.deepEqual(order, ['a'], 'b does not fit, and c waits behind b (first come, first served)');
    assert.equal(budget.held, 60);
    assert.equal(budget.queued, 2);
    a.release();
    await runA;
    await tick();
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(budget.held, 70);
    b.release();
    c.release();
    await Promise.all([runB, runC]);
    await assert.rejects(
      budget.run(50, async () => Promise.reject(new Error('corrupt'))),
      /corrupt/,
    );
    assert.equal(budget.held, 0);
  });
  it('runs a task heavier than the whole capacity alone rather than never', async () => {
    const budget = new ByteBudget(100);
    const big = gate();
    const runBig = budget.run(500, big.task);
    await big.started;
    let small = false;
    const runSmall = budget.run(1, async () => {
      small = true;
    });
    await tick();
    assert.equal(small, false);
    big.release();
    await Promise.all([runBig, runSmall]);
    assert.equal(small, true);
  });
  it('gives up on a task that waited longer than maxWaitMs, and lets those behind it run', async () => {
    const budget = new ByteBudget(100, 30);
    const first = gate();
    const runFirst = budget.run(100, first.task);
    await first.started;
    const began = Date.now();
    await assert.rejects(
      budget.run(10, async () => 'never'),
      BudgetWaitExceeded,
    );
    assert.ok(Date.now() - began >= 25);
    assert.equal(budget.queued, 0);
    first.release();
    await runFirst;
    assert.equal(await budget.run(100, async () => 'ran'), 'ran');
    assert.equal(budget.held, 0);
  });
  it('holds one picture at the limit (100 MB) for the default configuration', () => {
    assert.equal(DECODE_BUDGET_PICTURES, 1);
    assert.equal(decodeBudget(MAX_PIXELS).capacity, 100_000_000);
  });
});
