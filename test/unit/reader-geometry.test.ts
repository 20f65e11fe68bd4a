/**
 * The reader's geometry (layers/reader/geometry.ts) on small synthetic pictures: it finds the ink, not the dark
 * table around a photographed page, reads through a printed box, turns light-on-dark pictures round, and gives
 * the whole picture back when there is no ink at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { READER_HEIGHT, READER_PIXELS, READER_WIDTH } from '../../layers/reader/contract';
import { findInkRegion, isLightOnDark, prepareInput } from '../../layers/reader/geometry';
import { loadMnist } from '../../model/training/mnist';

type Rect = [number, number, number, number];

/** A grey PNG: `ground` everywhere, then each [x0, y0, x1, y1, level] filled in order. */
function picture(width: number, height: number, ground: number, fills: Array<[...Rect, number]>): Promise<Buffer> {
  const raw = Buffer.alloc(width * height, ground);
  for (const [x0, y0, x1, y1, level] of fills) for (let y = y0; y < y1; y += 1) raw.fill(level, y * width + x0, y * width + x1);
  return sharp(raw, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/** A "digit" of strokes: an upright bar and a cap, dark, in the box [x0, y0] .. [x0 + w, y0 + h]. */
function digitStrokes(x0: number, y0: number, w: number, h: number, level: number): Array<[...Rect, number]> {
  const s = Math.max(2, Math.round(w / 6));
  return [
    [x0 + Math.round(w / 2) - s, y0, x0 + Math.round(w / 2) + s, y0 + h, level],
    [x0, y0, x0 + w, y0 + s, level],
  ];
}

const inkAt = (input: Float32Array, x: number, y: number): number => input[y * READER_WIDTH + x] as number;
const inkTotal = (input: Float32Array): number => input.reduce((a, b) => a + b, 0);

describe('reader geometry', () => {
  it('crops to the digit on a page photographed on a dark table, not to the page', async () => {
    // A 300 x 300 photo: a wood-grained table around 40, a page at 225 turned 12 degrees (its edges cross rows and
    // columns), a digit 30 x 44 in the page's middle. The grain's dark streaks are darker than the table's
    // light ones next to them, as ink is darker than paper; the table must not count as ink.
    const raw = Buffer.from(
      Array.from({ length: 300 * 300 }, (_, i) => Math.round(40 + 18 * Math.sin((i % 300) / 3 + Math.floor(i / 300) / 5))),
    );
    const turn = (12 * Math.PI) / 180;
    for (let y = 0; y < 300; y += 1) {
      for (let x = 0; x < 300; x += 1) {
        const u = Math.cos(turn) * (x - 150) + Math.sin(turn) * (y - 150);
        const v = -Math.sin(turn) * (x - 150) + Math.cos(turn) * (y - 150);
        if (Math.abs(u) < 100 && Math.abs(v) < 100) raw[y * 300 + x] = 225;
      }
    }
    for (const [x0, y0, x1, y1, level] of digitStrokes(135, 128, 30, 44, 30))
      for (let y = y0; y < y1; y += 1) raw.fill(level, y * 300 + x0, y * 300 + x1);
    const bytes = await sharp(raw, { raw: { width: 300, height: 300, channels: 1 } })
      .png()
      .toBuffer();
    const { region, input } = await prepareInput(bytes);
    assert.ok(region.width < 90 && region.height < 90, `region ${JSON.stringify(region)}`);
    assert.ok(region.left > 100 && region.top > 90, `region ${JSON.stringify(region)}`);
    // The table's dark edge would make a frame of ink; the input holds only the digit's strokes.
    assert.ok(inkAt(input, 0, 0) < 0.1 && inkAt(input, READER_WIDTH - 1, READER_HEIGHT - 1) < 0.1);
    assert.ok(inkTotal(input) > 40);
  });

  it('keeps every digit of a number on unevenly lit paper (the darker side is paper, not a table)', async () => {
    // 400 x 120: paper from 250 on the left to 212 on the right, four "digits" from x = 100 to 300.
    const raw = Buffer.from(Array.from({ length: 400 * 120 }, (_, i) => Math.round(250 - (38 * (i % 400)) / 400)));
    for (const left of [100, 160, 220, 280]) {
      for (const [x0, y0, x1, y1, level] of digitStrokes(left, 45, 20, 30, 40))
        for (let y = y0; y < y1; y += 1) raw.fill(level, y * 400 + x0, y * 400 + x1);
    }
    const { region, working } = await prepareInput(
      await sharp(raw, { raw: { width: 400, height: 120, channels: 1 } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    );
    const scale = working.width / 400; // the region is in the working picture's pixels
    assert.ok(
      region.left <= 100 * scale && region.left + region.width >= 300 * scale,
      `region ${JSON.stringify(region)} at scale ${scale}`,
    );
  });

  it('keeps a digit inside a printed form box, and the digit fills most of the height', async () => {
    const bytes = await picture(120, 120, 245, [
      [10, 10, 110, 14, 20],
      [10, 106, 110, 110, 20],
      [10, 10, 14, 110, 20],
      [106, 10, 110, 110, 20],
      ...digitStrokes(40, 30, 40, 60, 40),
    ]);
    const { input } = await prepareInput(bytes);
    // The digit's upright bar crosses the middle row near the left of the input (the crop is set at the left).
    let bar = 0;
    for (let x = 1; x < READER_HEIGHT * 2; x += 1) if (inkAt(input, x, READER_HEIGHT / 2) > inkAt(input, bar, READER_HEIGHT / 2)) bar = x;
    assert.ok(inkAt(input, bar, READER_HEIGHT / 2) > 0.8 && bar < READER_HEIGHT, `bar at ${bar}`);
    let rowsWithInk = 0;
    for (let y = 0; y < READER_HEIGHT; y += 1) if (inkAt(input, bar, y) > 0.5) rowsWithInk += 1;
    assert.ok(rowsWithInk >= 16, `${rowsWithInk} rows of ink through the bar`);
  });

  it('turns a light digit on a dark ground (MNIST as stored) into dark on light', async () => {
    const bytes = await picture(28, 28, 0, digitStrokes(8, 5, 12, 18, 255));
    const { input } = await prepareInput(bytes);
    assert.equal(input.length, READER_PIXELS);
    assert.ok(inkAt(input, READER_HEIGHT / 2, READER_HEIGHT / 2) > 0.8);
    assert.ok(inkAt(input, 2, 2) < 0.1);
  });

  it("keeps a 1 that fills the picture's height whole, though its columns are mostly ink like a frame's sides", async () => {
    // MNIST test 8493: a bold 1, 20 of 28 rows tall. Its columns were left out as lines and the region shrank to
    // its serif (10 x 3 px), which the reader refused.
    const mnist = loadMnist('test');
    const pixels = Buffer.from(mnist.images.subarray(8493 * 784, 8494 * 784));
    assert.equal(mnist.labels[8493], 1);
    const bytes = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const { region } = await prepareInput(bytes);
    assert.ok(region.height >= 20 && region.width < region.height, JSON.stringify(region));
  });

  it('keeps a bold digit that one edge of the picture cuts: a table lies along two edges or most of one', async () => {
    // A drawn "81" whose 8 runs off the canvas's left edge: the 8 was taken for a dark table round a page, left
    // out, and the picture read "1".
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="335" height="280"><rect width="100%" height="100%" fill="#fff"/>
      <g fill="none" stroke="#111" stroke-width="26" stroke-linecap="round">
        <ellipse cx="52" cy="95" rx="42" ry="40"/><ellipse cx="45" cy="180" rx="48" ry="48"/>
        <path d="M170 110 L205 80 L190 225"/></g></svg>`;
    const { region } = await prepareInput(await sharp(Buffer.from(svg)).png().toBuffer());
    assert.ok(region.left < 10, `the 8 is in the region: ${JSON.stringify(region)}`);
  });

  it('keeps a stroke from the top edge to the bottom one: it touches two edges, but over an eighth of each', async () => {
    // The security tests' warm-up picture: 64 x 64 white, columns 28-35 black top to bottom (a 1). Taken for a
    // table (two edges touched), it left a blank page: 422 no_digit.
    const values = Buffer.alloc(64 * 64, 255);
    for (let y = 0; y < 64; y += 1) values.fill(0, y * 64 + 28, y * 64 + 36);
    const bytes = await sharp(values, { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    const { region, blank } = await prepareInput(bytes);
    assert.equal(blank, false);
    assert.ok(region.left <= 28 && region.left + region.width >= 36 && region.height >= 60, JSON.stringify(region));
  });

  it('does not mistake a page on a larger dark table for light ink', () => {
    const width = 64;
    const values = new Uint8Array(width * width).fill(50);
    for (let y = 12; y < 52; y += 1) values.fill(220, y * width + 12, y * width + 52);
    assert.equal(isLightOnDark(values, width, width), false);
    const strokes = new Uint8Array(width * width).fill(0);
    for (let y = 10; y < 54; y += 1) strokes.fill(255, y * width + 30, y * width + 35);
    for (let x = 15; x < 50; x += 1) strokes[12 * width + x] = 255;
    assert.equal(isLightOnDark(strokes, width, width), true);
  });

  it('does not mistake a small page (an eighth of the photo) for light ink, and still negates every MNIST digit', () => {
    // The held-out slanted photos' misses: a page a fifth of the photo's width, on a dark table, was negated and
    // its whole sheet read as one stroke.
    const width = 64;
    const values = new Uint8Array(width * width).fill(45);
    for (let y = 20; y < 46; y += 1) {
      const inset = Math.round((y - 20) / 6); // a keystone: narrower towards the bottom
      values.fill(215, y * width + 22 + inset, y * width + 42 - inset);
    }
    for (let y = 28; y < 38; y += 1) values.fill(60, y * width + 31, y * width + 33); // a dark 1 on it
    assert.equal(isLightOnDark(values, width, width), false);
    const mnist = loadMnist('test');
    let negated = 0;
    for (let n = 0; n < 500; n += 1) {
      if (isLightOnDark(mnist.images.subarray(n * 784, (n + 1) * 784), 28, 28)) negated += 1;
    }
    assert.equal(negated, 500, 'MNIST as stored is light on dark');
  });

  it('gives back the whole picture when nothing stands out from the paper', () => {
    const values = new Uint8Array(40 * 30).fill(200);
    assert.deepEqual(findInkRegion({ width: 40, height: 30, values }), { left: 0, top: 0, width: 40, height: 30 });
  });

  it('turns away bytes that are not a picture', async () => {
    await assert.rejects(prepareInput(Buffer.from('not a picture')));
  });
});
