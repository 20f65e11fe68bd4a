/**
 * Reading numbers and lined paper, on synthetic rasters: the segmentation of the ink into digits
 * (layers/preprocess/segment.ts), the printed lines taken out (lines.ts), and the answer's top-level fields
 * (layers/predict/number-reading.ts). Real pictures of numbers go through the service in test/integration/numbers.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchReading } from '#classifier/classifier';
import { NUM_CLASSES } from '#classifier/model-contract';
import { readNumber } from '#predict/number-reading';
import { type InkMap, labelPieces, selectPieces } from '#preprocess/crop';
import { preprocessImage } from '#preprocess/index';
import { removeRuledLines } from '#preprocess/lines';
import { segmentDigits } from '#preprocess/segment';
import { linedPaperDigit, numberPicture, penStrokes } from '../../model/training/digit-images';

/** An ink map of `width` x `height` with full-ink rectangles [x0, y0, x1, y1] (inclusive). */
function inkMap(width: number, height: number, rects: Array<[number, number, number, number]>): InkMap {
  const ink = new Float32Array(width * height);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y <= y1; y += 1) for (let x = x0; x <= x1; x += 1) ink[y * width + x] = 1;
  return { ink, residual: Float32Array.from(ink, (v) => v * 200), coreThreshold: 100, boxLevel: 0.1, keepAll: false, width, height };
}

function segment(map: InkMap): Array<[number, number, number, number]> {
  const pieces = labelPieces(map);
  return segmentDigits(map, pieces, selectPieces(pieces, map.keepAll, map.width, map.height)).map((g) => g.box);
}

/** A "0" drawn as a rectangle's outline, strokes `s` px wide. */
function ring(x0: number, y0: number, w: number, h: number, s: number): Array<[number, number, number, number]> {
  return [
    [x0, y0, x0 + w - 1, y0 + s - 1],
    [x0, y0 + h - s, x0 + w - 1, y0 + h - 1],
    [x0, y0, x0 + s - 1, y0 + h - 1],
    [x0 + w - s, y0, x0 + w - 1, y0 + h - 1],
  ];
}

describe('segmentDigits', () => {
  it('reads separate digits left to right, whatever order their pieces were found in', () => {
    // A "1" lower than the "0" beside it (wavy baseline), and another "0" smaller (uneven sizes).
    const boxes = segment(inkMap(200, 100, [...ring(10, 10, 40, 60, 8), [70, 20, 77, 85], ...ring(100, 30, 30, 45, 7)]));
    assert.deepEqual(boxes, [
      [10, 10, 49, 69],
      [70, 20, 77, 85],
      [100, 30, 129, 74],
    ]);
  });

  it("keeps a digit's broken strokes together: pieces sharing their columns are one digit (a 5's hat)", () => {
    // The hat floats above the body, a gap between them; the next digit stands apart.
    const five = [
      [12, 10, 45, 16],
      [12, 22, 19, 45],
      [12, 40, 45, 46],
      [38, 40, 45, 70],
      [12, 64, 45, 70],
    ] as Array<[number, number, number, number]>;
    const boxes = segment(inkMap(160, 90, [...five, ...ring(80, 10, 40, 61, 8)]));
    assert.deepEqual(boxes, [
      [12, 10, 45, 70],
      [80, 10, 119, 70],
    ]);
  });

  it('joins a short mark to the digit next to it, and leaves a far one out of the number', () => {
    const boxes = segment(inkMap(260, 100, [...ring(10, 10, 40, 60, 8), [53, 60, 58, 65], ...ring(80, 10, 40, 60, 8), [200, 40, 206, 46]]));
    assert.deepEqual(boxes, [
      [10, 10, 58, 69],
      [80, 10, 119, 69],
    ]);
  });

  it('gives one digit, with every kept piece in its box, when only one piece is digit-sized (as before numbers)', () => {
    const rects: Array<[number, number, number, number]> = [...ring(30, 10, 40, 60, 8), [90, 65, 95, 70]];
    assert.deepEqual(segment(inkMap(140, 90, rects)), [[30, 10, 95, 70]]);
  });

  it('takes a tall hairline beside a bold digit for a mark (a scanner streak), not a digit', () => {
    assert.deepEqual(segment(inkMap(140, 90, [...ring(20, 10, 40, 60, 10), [75, 12, 75, 60]])), [[20, 10, 75, 69]]);
  });

  it('keeps a noiseless MNIST-scale picture whole, every mark of it in one digit', () => {
    const map = { ...inkMap(28, 28, [...ring(4, 4, 8, 20, 2), [18, 4, 19, 23]]), keepAll: true, boxLevel: 0 };
    assert.deepEqual(segment(map), [[4, 4, 19, 23]]);
  });

  it('reads at most 12 digits: the heaviest, in their order', () => {
    const rects = Array.from({ length: 14 }, (_, i) => ring(5 + i * 30, 10, 20, 40, i === 3 || i === 9 ? 3 : 5)).flat();
    const boxes = segment(inkMap(440, 60, rects));
    assert.equal(boxes.length, 12);
    assert.ok(!boxes.some(([x0]) => x0 === 5 + 3 * 30 || x0 === 5 + 9 * 30));
    assert.deepEqual(
      boxes.map(([x0]) => x0),
      [...boxes.map(([x0]) => x0)].sort((a, b) => a - b),
    );
  });
});

describe('removeRuledLines', () => {
  /** Paper (0) with pale rules every 20 rows (level 40) and a dark digit stroke (200) crossing two of them. */
  function ruled(): Float32Array {
    const width = 200;
    const residual = new Float32Array(width * 200);
    for (let y = 0; y < 200; y += 20) for (let x = 0; x < width; x += 1) residual[y * width + x] = 40;
    for (let y = 30; y < 90; y += 1) for (let x = 95; x < 105; x += 1) residual[y * width + x] = 200;
    return residual;
  }

  it('takes pale full-width rules out and keeps the pen where it crosses them', () => {
    const residual = ruled();
    assert.equal(removeRuledLines(residual, 200, 200, 0, 0), 10);
    for (let y = 0; y < 200; y += 20) assert.equal(residual[y * 200 + 10], 0, `rule at row ${y} removed`);
    assert.equal(residual[40 * 200 + 100], 200, 'the stroke crossing the rule at row 40 stays');
    assert.equal(residual[60 * 200 + 100], 200);
  });

  it('leaves a long thin stroke as dark as the writing (a fine pen) alone', () => {
    const width = 200;
    const residual = new Float32Array(width * 200);
    for (let x = 10; x < 190; x += 1) residual[100 * width + x] = 200; // a 7's long bar, one pixel thin
    for (let y = 100; y < 180; y += 1) residual[y * width + 150] = 200;
    const before = Float32Array.from(residual);
    assert.equal(removeRuledLines(residual, 200, 200, 0, 0), 0);
    assert.deepEqual(residual, before);
  });

  it('leaves a picture without lines exactly as it was', () => {
    const residual = new Float32Array(100 * 100);
    for (let y = 20; y < 80; y += 1) for (let x = 40; x < 52; x += 1) residual[y * 100 + x] = 180;
    const before = Float32Array.from(residual);
    assert.equal(removeRuledLines(residual, 100, 100, 0, 0), 0);
    assert.deepEqual(residual, before);
  });
});

describe('preprocessImage on numbers and lined paper', () => {
  it('frames each digit of a number and boxes it in the uploaded picture’s pixels', async () => {
    const picture = await numberPicture([4, 2, 1], 'canvas', 3);
    const image = await preprocessImage(picture.bytes);
    assert.equal(image.digits.length, 3);
    assert.equal(image.input.length, 3 * 784);
    let previousRight = -1;
    for (const digit of image.digits) {
      const { x, y, width, height } = digit.box;
      assert.ok(x > previousRight, 'left to right, not overlapping');
      assert.ok(x + width <= picture.width && y + height <= picture.height && width > 0 && height > 0);
      previousRight = x + width - 1;
    }
  });

  it('finds one digit on ruled and on squared paper, boxed around the digit rather than the lines', async () => {
    for (const ruling of ['ruled', 'squared'] as const) {
      const picture = await linedPaperDigit(0, ruling, 1);
      const image = await preprocessImage(picture.bytes);
      assert.equal(image.digits.length, 1, ruling);
      const box = image.digits[0]?.box;
      assert.ok(box && box.width < 0.8 * picture.width && box.height < 0.8 * picture.height, `${ruling}: ${JSON.stringify(box)}`);
    }
  });

  it('reads one pen-drawn digit as one digit', async () => {
    const seven = await penStrokes(
      [
        [
          [20, 10],
          [80, 10],
          [45, 95],
        ],
      ],
      { size: 200, canvas: 280, penWidth: 14 },
    );
    assert.equal((await preprocessImage(seven)).digits.length, 1);
  });
});

describe('readNumber', () => {
  const digit = (box: number) => ({ input: new Float32Array(784), preview: `p${box}`, box: { x: box, y: 0, width: 10, height: 10 } });
  const answer = (...rows: Array<[number, number]>): BatchReading => {
    const out = new Float32Array(rows.length * NUM_CLASSES);
    rows.forEach(([d, p], i) => {
      for (let k = 0; k < NUM_CLASSES; k += 1) out[i * NUM_CLASSES + k] = k === d ? p : (1 - p) / 9;
    });
    return { probabilities: out, digitScores: new Float32Array(rows.length).fill(1) };
  };

  it('answers a single digit as itself', () => {
    const reading = readNumber({ digits: [digit(1)] }, answer([7, 0.9]));
    assert.equal(reading.number, '7');
    assert.equal(reading.digit, 7);
    assert.ok(Math.abs(reading.confidence - 0.9) < 1e-6);
    assert.equal(reading.digits.length, 1);
  });

  it("gives a number's top-level fields from its least confident digit, the leftmost of equals", () => {
    const reading = readNumber({ digits: [digit(1), digit(2), digit(3), digit(4)] }, answer([4, 0.99], [0, 0.6], [7, 0.95], [2, 0.6]));
    assert.equal(reading.number, '4072');
    assert.equal(reading.digit, 0);
    assert.equal(reading.inputPreview, 'p2');
    assert.ok(Math.abs(reading.confidence - 0.6) < 1e-6);
    assert.deepEqual(
      reading.digits.map((d) => d.box.x),
      [1, 2, 3, 4],
    );
  });

  it('refuses probabilities that do not match the digits', () => {
    assert.throws(() => readNumber({ digits: [digit(1), digit(2)] }, answer([1, 0.9])));
  });
});
