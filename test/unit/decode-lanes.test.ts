/**
 * The decode budget's lanes (layers/preprocess/decode.ts): while large pictures hold the decode
 * budget and others queue behind them, a small picture (a digit) decodes at once in its own lane rather than
 * waiting its turn behind every large one (6 s, then 503 decoder_busy, before).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeBudget, decodeWorkingCopy, maxDecodedBytes, readHeader, SMALL_PICTURE_BYTES } from '../../layers/preprocess/decode';

const MAX_PIXELS = 25_000_000;

describe('decode lanes', () => {
  it('decodes a small picture at once while large ones hold the budget and queue for it', async () => {
    const digit = await sharp({ create: { width: 280, height: 280, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const { decodedBytes } = await readHeader(digit, MAX_PIXELS);
    assert.ok(decodedBytes <= SMALL_PICTURE_BYTES);
    const budget = decodeBudget(MAX_PIXELS);
    let release: () => void = () => {};
    const holding = budget.run(maxDecodedBytes(MAX_PIXELS), () => new Promise<void>((resolve) => (release = resolve)));
    const queued = budget.run(maxDecodedBytes(MAX_PIXELS), async () => undefined);
    assert.equal(budget.queued, 1);
    const started = performance.now();
    const raster = await decodeWorkingCopy(digit, MAX_PIXELS, decodedBytes);
    const ms = performance.now() - started;
    assert.equal(raster.width, 280);
    assert.ok(ms < 1000, `${Math.round(ms)} ms`);
    assert.equal(budget.queued, 1, 'the large ones still wait');
    release();
    await Promise.all([holding, queued]);
  });

  it('queues a large picture behind the large ones, as before', async () => {
    const budget = decodeBudget(MAX_PIXELS);
    let release: () => void = () => {};
    const holding = budget.run(maxDecodedBytes(MAX_PIXELS), () => new Promise<void>((resolve) => (release = resolve)));
    let ran = false;
    const large = budget.run(SMALL_PICTURE_BYTES + 1, async () => {
      ran = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(ran, false);
    release();
    await Promise.all([holding, large]);
    assert.equal(ran, true);
  });
});
