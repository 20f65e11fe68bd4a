/**
 * Preprocessing, specified by its geometry and pixels (the model is not involved): whatever way a digit is
 * photographed, drawn or encoded, the 28x28 input is white ink on black in [0, 1], its longer side 20 px, its
 * centre of mass at the centre, and it looks like the same digit preprocessed from the plain MNIST picture.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { assertValidInput, IMAGE_SIZE, PIXELS } from '#classifier/model-contract';
import { preprocessImage } from '#preprocess/index';
import {
  MEDIA_TYPES,
  mnistDigit,
  type OutputFormat,
  penStrokes,
  plainDigit,
  renderDigit,
  VARIANTS,
} from '../../model/training/digit-images';

/** Ten test digits, one of each class, so every shape is seen. */
const DIGITS = [3, 2, 1, 18, 4, 8, 11, 0, 61, 7];

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i += 1) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Centre of mass in pixel-index coordinates, MNIST's convention (its test set averages 14.0 on both axes). */
function centreOfMass(input: Float32Array): { x: number; y: number } {
  let total = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < PIXELS; i += 1) {
    const m = input[i] as number;
    total += m;
    sx += m * (i % IMAGE_SIZE);
    sy += m * Math.floor(i / IMAGE_SIZE);
  }
  return { x: sx / total, y: sy / total };
}

/** Mean stroke width in pixels: 2 x area / boundary of the ink above half strength (MNIST averages 2.8). */
function strokeWidth(input: Float32Array): number {
  let area = 0;
  let boundary = 0;
  const inked = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < IMAGE_SIZE && y < IMAGE_SIZE && (input[y * IMAGE_SIZE + x] as number) > 0.5;
  for (let y = 0; y < IMAGE_SIZE; y += 1) {
    for (let x = 0; x < IMAGE_SIZE; x += 1) {
      if (!inked(x, y)) continue;
      area += 1;
      if (!inked(x - 1, y) || !inked(x + 1, y) || !inked(x, y - 1) || !inked(x, y + 1)) boundary += 1;
    }
  }
  return (2 * area) / boundary;
}

function inkBox(input: Float32Array, threshold = 0): { width: number; height: number } {
  let x0 = IMAGE_SIZE;
  let y0 = IMAGE_SIZE;
  let x1 = -1;
  let y1 = -1;
  for (let i = 0; i < PIXELS; i += 1) {
    if ((input[i] as number) <= threshold) continue;
    const x = i % IMAGE_SIZE;
    const y = Math.floor(i / IMAGE_SIZE);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  return { width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The properties every preprocessed digit must have, whatever it came from. */
function assertMnistLike(input: Float32Array, what: string): void {
  assert.equal(input.length, PIXELS, what);
  assert.equal(assertValidInput(input), 1, what);
  const com = centreOfMass(input);
  assert.ok(
    Math.abs(com.x - 14) <= 1 && Math.abs(com.y - 14) <= 1,
    `${what}: centre of mass at (${com.x.toFixed(2)}, ${com.y.toFixed(2)})`,
  );
  const box = inkBox(input);
  assert.equal(Math.max(box.width, box.height), 20, `${what}: ink box ${box.width}x${box.height}`);
  // White ink on black: the frame's outer ring is background and the strokes reach full ink.
  let ring = 0;
  for (let i = 0; i < PIXELS; i += 1) {
    const x = i % IMAGE_SIZE;
    const y = Math.floor(i / IMAGE_SIZE);
    if (x === 0 || y === 0 || x === IMAGE_SIZE - 1 || y === IMAGE_SIZE - 1) ring = Math.max(ring, input[i] as number);
  }
  assert.ok(ring < 0.05, `${what}: the border has ink ${ring}`);
  assert.ok(Math.max(...input) >= 0.95, `${what}: the strokes never reach full ink`);
  const inkShare = input.filter((v) => v > 0.5).length / PIXELS;
  assert.ok(inkShare > 0.03 && inkShare < 0.4, `${what}: ${(inkShare * 100).toFixed(1)}% of the frame is ink`);
}

async function preprocessPlain(index: number): Promise<Float32Array> {
  return (await preprocessImage((await plainDigit(index)).bytes)).input;
}

describe('preprocessImage on the plain MNIST digit', () => {
  it('gives back the MNIST digit itself (already 20 px, centred by mass), pixel for pixel', async () => {
    // So that the service scores plain MNIST digits as `npm run model:evaluate` does. (Over the whole test set
    // 3 digits of 10,000 differ: their ink boxes are 19 px, which preprocessing scales to 20.)
    for (let index = 0; index < 200; index += 1) {
      const { pixels } = mnistDigit(index);
      const result = await preprocessImage((await plainDigit(index)).bytes, { declaredType: 'image/png' });
      let largest = 0;
      for (let i = 0; i < PIXELS; i += 1) largest = Math.max(largest, Math.abs((result.input[i] as number) - (pixels[i] as number) / 255));
      assert.ok(largest <= 0.01, `digit ${index}: a pixel differs by ${largest.toFixed(3)}`);
      if (DIGITS.includes(index)) assertMnistLike(result.input, `digit ${index}`);
    }
  });

  it('reports the detected format and the picture size', async () => {
    const result = await preprocessImage((await plainDigit(0)).bytes);
    assert.equal(result.format, 'image/png');
    assert.deepEqual([result.width, result.height], [28, 28]);
  });

  it('returns a preview that is the 28x28 input as a PNG data URL', async () => {
    const result = await preprocessImage((await plainDigit(7)).bytes);
    const prefix = 'data:image/png;base64,';
    assert.equal(result.digits.length, 1);
    const preview = result.digits[0]?.preview ?? '';
    assert.ok(preview.startsWith(prefix));
    const png = Buffer.from(preview.slice(prefix.length), 'base64');
    const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [IMAGE_SIZE, IMAGE_SIZE]);
    for (let i = 0; i < PIXELS; i += 1) assert.equal(data[i], Math.round((result.input[i] as number) * 255));
  });
});

describe('preprocessImage decodes every accepted format', () => {
  const formats: OutputFormat[] = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'];
  for (const format of formats) {
    it(`${format}: detected from the bytes and close to the plain digit`, async () => {
      for (const index of DIGITS.slice(0, 4)) {
        const picture = await renderDigit(index, { format, scale: 3, quality: 95 });
        const result = await preprocessImage(picture.bytes, { declaredType: MEDIA_TYPES[format] });
        assert.equal(result.format, MEDIA_TYPES[format]);
        assertMnistLike(result.input, `${format} digit ${index}`);
        assert.ok(correlation(result.input, await preprocessPlain(index)) > 0.85, `${format} digit ${index}`);
      }
    });
  }

  it('GIF: uses the first frame of an animation', async () => {
    const [first, second] = await Promise.all([plainDigit(0, 'png'), plainDigit(1, 'png')]);
    const gif = await sharp([first.bytes, second.bytes], { join: { animated: true } })
      .gif()
      .toBuffer();
    assert.equal((await sharp(gif).metadata()).pages, 2);
    const result = await preprocessImage(gif);
    assert.deepEqual([result.width, result.height], [28, 28]);
    const firstCorrelation = correlation(result.input, await preprocessPlain(0));
    assert.ok(firstCorrelation > 0.95, `first frame correlation ${firstCorrelation}`);
    assert.ok(correlation(result.input, await preprocessPlain(1)) < 0.5);
  });
});

describe('preprocessImage sees through the way people send digits', () => {
  for (const [name, make] of Object.entries(VARIANTS)) {
    it(`${name}: same geometry as MNIST and close to the plain digit`, async () => {
      const correlations: number[] = [];
      for (const index of DIGITS) {
        const picture = await make(index, index + 1);
        const result = await preprocessImage(picture.bytes, { declaredType: picture.mediaType });
        assertMnistLike(result.input, `${name} digit ${index}`);
        const c = correlation(result.input, await preprocessPlain(index));
        assert.ok(c > 0.7, `${name} digit ${index}: correlation ${c.toFixed(3)}`);
        correlations.push(c);
      }
      const mean = correlations.reduce((a, b) => a + b, 0) / correlations.length;
      assert.ok(mean > 0.88, `${name}: mean correlation ${mean.toFixed(3)}`);
    });
  }

  it('a large photo (3000x2000 JPEG) is shrunk early and still framed like MNIST', async () => {
    const picture = await renderDigit(4, {
      format: 'jpeg',
      scale: 30,
      canvasWidth: 3000,
      canvasHeight: 2000,
      left: 1700,
      top: 900,
      ink: [25, 25, 60],
      paper: [240, 238, 230],
      quality: 80,
    });
    const result = await preprocessImage(picture.bytes, { declaredType: 'image/jpeg' });
    assert.deepEqual([result.width, result.height], [3000, 2000]);
    assertMnistLike(result.input, 'large photo');
    assert.ok(correlation(result.input, await preprocessPlain(4)) > 0.8);
  });

  it('a digit on dark paper in light ink stays white on black, and on light paper in dark ink is inverted', async () => {
    const light = await renderDigit(2, { scale: 5, canvasWidth: 200, canvasHeight: 200, ink: [230, 230, 230], paper: [40, 40, 40] });
    const dark = await renderDigit(2, { scale: 5, canvasWidth: 200, canvasHeight: 200, ink: [40, 40, 40], paper: [230, 230, 230] });
    const fromLight = (await preprocessImage(light.bytes)).input;
    const fromDark = (await preprocessImage(dark.bytes)).input;
    assertMnistLike(fromLight, 'light ink');
    assertMnistLike(fromDark, 'dark ink');
    assert.ok(correlation(fromLight, fromDark) > 0.98);
  });
});

describe("preprocessImage gives fine pen lines MNIST's stroke width", () => {
  // A 4 written in two strokes, in a 0..100 square.
  const four: [number, number][][] = [
    [
      [65, 0],
      [5, 70],
      [100, 70],
    ],
    [
      [72, 30],
      [72, 100],
    ],
  ];

  for (const penWidth of [2, 4, 8]) {
    it(`a 300 px tall 4 drawn with a ${penWidth} px pen looks like the same 4 drawn at MNIST's size and weight`, async () => {
      const mnistSized = (await preprocessImage(await penStrokes(four, { size: 18, canvas: 28, penWidth: 2.6 }))).input;
      const finePen = (await preprocessImage(await penStrokes(four, { size: 300, canvas: 400, penWidth, format: 'jpeg' }))).input;
      assertMnistLike(finePen, `${penWidth} px pen`);
      // Scaled down as it is, a 2 px line on a 300 px digit would be 0.13 px wide: a faint hairline.
      assert.ok(strokeWidth(finePen) >= 2, `stroke width ${strokeWidth(finePen).toFixed(2)}`);
      assert.ok(correlation(finePen, mnistSized) > 0.85, `correlation ${correlation(finePen, mnistSized).toFixed(3)}`);
    });
  }

  it("leaves MNIST's own strokes as they are", async () => {
    for (const index of DIGITS) {
      const original = Float32Array.from(mnistDigit(index).pixels, (v) => v / 255);
      const result = await preprocessPlain(index);
      assert.ok(Math.abs(strokeWidth(result) - strokeWidth(original)) < 0.1, `digit ${index}`);
    }
  });
});

describe('preprocessImage applies EXIF orientation', () => {
  // Digit 0 is a 7: no rotation of it looks like itself.
  const upright = async (): Promise<Buffer> => (await renderDigit(0, { scale: 4, canvasWidth: 160, canvasHeight: 120 })).bytes;

  for (const [orientation, storedRotation] of [
    [6, 270],
    [8, 90],
  ] as const) {
    it(`orientation ${orientation}: the digit is read upright`, async () => {
      // Stored turned the other way; the EXIF tag says how to turn it back for display.
      const stored = await sharp(await upright())
        .rotate(storedRotation)
        .jpeg({ quality: 95 })
        .withMetadata({ orientation })
        .toBuffer();
      assert.equal((await sharp(stored).metadata()).orientation, orientation);
      const result = await preprocessImage(stored, { declaredType: 'image/jpeg' });
      assert.deepEqual([result.width, result.height], [160, 120]);
      assertMnistLike(result.input, `orientation ${orientation}`);
      const reference = (await preprocessImage(await upright())).input;
      assert.ok(correlation(result.input, reference) > 0.9);
      const ignoringTag = (
        await preprocessImage(
          await sharp(await upright())
            .rotate(storedRotation)
            .png()
            .toBuffer(),
        )
      ).input;
      assert.ok(correlation(ignoringTag, reference) < 0.6, 'the test picture must differ when the tag is ignored');
    });
  }
});

describe('preprocessImage speed', () => {
  it('a typical 300x300 PNG drawing takes well under 50 ms (target 15 ms)', async (t) => {
    const picture = await renderDigit(5, { scale: 8, canvasWidth: 300, canvasHeight: 300, ink: [0, 0, 0], paper: [255, 255, 255] });
    for (let i = 0; i < 10; i += 1) await preprocessImage(picture.bytes);
    const times: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const start = performance.now();
      await preprocessImage(picture.bytes);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1] as number;
    t.diagnostic(`median ${median.toFixed(2)} ms, p90 ${(times[Math.floor(times.length * 0.9)] as number).toFixed(2)} ms`);
    assert.ok(median < 50, `median ${median.toFixed(1)} ms`);
  });
});
