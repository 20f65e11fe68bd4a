/**
 * Every kind of bad upload is refused by preprocessing with its own typed error and HTTP status: empty,
 * not an image, a declared type that lies, corrupt or truncated, too many pixels (refused from the header,
 * before decoding), and a picture with no digit in it. Harmless type aliases are accepted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { BadRequestError, type HttpError, PayloadTooLargeError, UnprocessableImageError, UnsupportedMediaTypeError } from '#errors/errors';
import { PNG_SIGNATURE, pngChunk } from '#preprocess/grey-png';
import { MAX_INPUT_PIXELS, preprocessImage } from '#preprocess/index';
import { MEDIA_TYPES, type OutputFormat, plainDigit, renderDigit, seededRandom } from '../../model/training/digit-images';

function refusedWith(type: new (...args: never[]) => HttpError, statusCode: number, code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.equal(error.statusCode, statusCode);
    assert.equal(error.code, code);
    assert.ok(error.message.length > 0);
    return true;
  };
}

/**
 * A 1-bit greyscale PNG of the given size. With `rows`, every row is there (all zeros: a decompression bomb);
 * without, the pixel data holds only 10 bytes, so decoding it fails while its header reads fine.
 */
function pngOfSize(width: number, height: number, rows: boolean): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const chunks = [PNG_SIGNATURE, pngChunk('IHDR', header)];
  const pixelData = rows ? Buffer.alloc((1 + Math.ceil(width / 8)) * height) : Buffer.alloc(10);
  chunks.push(pngChunk('IDAT', deflateSync(pixelData, { level: 9 })));
  chunks.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** A real JPEG whose frame header (SOF0) is rewritten to claim `width` x `height`. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from((await plainDigit(0, 'jpeg')).bytes);
  for (let i = 2; i + 9 < jpeg.length; i += 1) {
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
  }
  throw new Error('no SOF0 marker in the test JPEG');
}

async function greyPicture(width: number, height: number, pixel: (x: number, y: number) => number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) raw[y * width + x] = Math.max(0, Math.min(255, Math.round(pixel(x, y))));
  }
  return sharp(raw, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

describe('preprocessImage refuses an empty file', () => {
  it('400 empty_file', async () => {
    await assert.rejects(preprocessImage(Buffer.alloc(0)), refusedWith(BadRequestError, 400, 'empty_file'));
    await assert.rejects(preprocessImage(Buffer.alloc(0), { declaredType: 'image/png' }), refusedWith(BadRequestError, 400, 'empty_file'));
  });
});

describe('preprocessImage refuses what is not an image it decodes', () => {
  const notImages: Record<string, Buffer> = {
    'plain text': Buffer.from('hello, this is not a picture of a digit\n'),
    'a PDF': Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n'),
    'an SVG': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text>7</text></svg>'),
    HTML: Buffer.from('<!doctype html><img src=x onerror=alert(1)>'),
    'a ZIP archive': Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]),
    'a BMP': Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]),
    'a HEIC (HEVC) file': Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\u0000\u0000\u0000\u0000mif1heic', 'latin1')]),
    'random bytes': Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)),
    'one byte': Buffer.from([0x89]),
  };
  for (const [name, bytes] of Object.entries(notImages)) {
    it(`${name}: 415 unsupported_media_type`, async () => {
      await assert.rejects(preprocessImage(bytes), refusedWith(UnsupportedMediaTypeError, 415, 'unsupported_media_type'));
    });
  }

  it('a non-image declared as image/png: still 415 unsupported_media_type', async () => {
    await assert.rejects(
      preprocessImage(Buffer.from('GIF? no, text'), { declaredType: 'image/png' }),
      refusedWith(UnsupportedMediaTypeError, 415, 'unsupported_media_type'),
    );
  });
});

describe('preprocessImage checks the declared type against the content', () => {
  const lies: [OutputFormat, string][] = [
    ['png', 'image/jpeg'],
    ['jpeg', 'image/png'],
    ['webp', 'image/gif'],
    ['gif', 'image/webp'],
    ['tiff', 'image/avif'],
    ['avif', 'image/tiff'],
    ['png', 'image/svg+xml'],
    ['png', 'image/bmp'],
  ];
  for (const [format, declared] of lies) {
    it(`${format} content declared as ${declared}: 415 type_mismatch`, async () => {
      const picture = await renderDigit(1, { format, scale: 2 });
      await assert.rejects(
        preprocessImage(picture.bytes, { declaredType: declared }),
        refusedWith(UnsupportedMediaTypeError, 415, 'type_mismatch'),
      );
    });
  }

  const harmless: [OutputFormat, string | undefined][] = [
    ['jpeg', 'image/jpg'],
    ['jpeg', 'image/pjpeg'],
    ['jpeg', 'IMAGE/JPEG'],
    ['png', 'image/png; charset=binary'],
    ['png', 'image/x-png'],
    ['tiff', 'image/tif'],
    ['png', 'application/octet-stream'],
    ['png', ''],
    ['webp', undefined],
  ];
  for (const [format, declared] of harmless) {
    it(`${format} content declared as ${JSON.stringify(declared)}: accepted`, async () => {
      const picture = await renderDigit(1, { format, scale: 2, quality: 95 });
      const result = await preprocessImage(picture.bytes, { declaredType: declared });
      assert.equal(result.format, MEDIA_TYPES[format]);
    });
  }
});

describe('preprocessImage refuses corrupt and truncated pictures', () => {
  const formats: OutputFormat[] = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'];
  for (const format of formats) {
    it(`${format} cut short: 422 corrupt_image`, async () => {
      const picture = await renderDigit(9, {
        format,
        scale: 6,
        canvasWidth: 200,
        canvasHeight: 200,
        ink: [0, 0, 0],
        paper: [255, 255, 255],
      });
      for (const share of [0.5, 0.9]) {
        const truncated = Buffer.from(picture.bytes.subarray(0, Math.floor(picture.bytes.length * share)));
        await assert.rejects(
          preprocessImage(truncated, { declaredType: picture.mediaType }),
          refusedWith(UnprocessableImageError, 422, 'corrupt_image'),
          `${format} cut at ${share * 100}%`,
        );
      }
    });
  }

  it('a PNG whose compressed data is damaged: 422 corrupt_image', async () => {
    const picture = Buffer.from((await renderDigit(9, { scale: 6, ink: [0, 0, 0], paper: [255, 255, 255] })).bytes);
    for (let i = Math.floor(picture.length / 2); i < Math.floor(picture.length / 2) + 40; i += 1) picture[i] = 0x55;
    await assert.rejects(preprocessImage(picture), refusedWith(UnprocessableImageError, 422, 'corrupt_image'));
  });

  it('a PNG with a header and almost no pixel data: 422 corrupt_image', async () => {
    await assert.rejects(preprocessImage(pngOfSize(100, 100, false)), refusedWith(UnprocessableImageError, 422, 'corrupt_image'));
  });

  it('only the magic number: 422 corrupt_image', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]);
    await assert.rejects(preprocessImage(bytes), refusedWith(UnprocessableImageError, 422, 'corrupt_image'));
  });
});

describe(`preprocessImage refuses more than ${MAX_INPUT_PIXELS / 1e6} megapixels from the header`, () => {
  it('a 20000x20000 PNG of zeros (a decompression bomb, tiny on disk): 413 too_many_pixels, without decoding it', async () => {
    const bomb = pngOfSize(20_000, 20_000, true);
    assert.ok(bomb.length < 200_000, `the bomb is ${bomb.length} bytes`);
    const start = performance.now();
    await assert.rejects(preprocessImage(bomb), refusedWith(PayloadTooLargeError, 413, 'too_many_pixels'));
    // Decoding 400 megapixels would take seconds and 400 MB; reading the header takes a millisecond.
    assert.ok(performance.now() - start < 1000);
  });

  it('the pixel count is judged from the header alone: a 5001x5000 PNG without its pixel data is too large, not corrupt', async () => {
    await assert.rejects(preprocessImage(pngOfSize(5001, 5000, false)), refusedWith(PayloadTooLargeError, 413, 'too_many_pixels'));
  });

  it('a JPEG whose frame header claims 60000x60000: 413 too_many_pixels', async () => {
    await assert.rejects(
      preprocessImage(await jpegClaiming(60_000, 60_000), { declaredType: 'image/jpeg' }),
      refusedWith(PayloadTooLargeError, 413, 'too_many_pixels'),
    );
  });
});

describe('preprocessImage answers 422 no_digit when there is no ink', () => {
  const random = seededRandom(42);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const blanks: Record<string, () => Promise<Buffer>> = {
    'blank white paper': () => greyPicture(300, 300, () => 255),
    'a black frame': () => greyPicture(28, 28, () => 0),
    'uniform grey': () => greyPicture(200, 150, () => 128),
    'paper noise only': () => greyPicture(300, 300, () => 200 + 12 * gaussian()),
    'an uneven lighting gradient only': () => greyPicture(400, 300, (x, y) => 250 - 0.2 * x - 0.15 * y),
    'a few specks of dust': () => greyPicture(400, 400, (x, y) => ((x === 50 && y === 60) || (x === 300 && y === 333) ? 0 : 245)),
    'a fully transparent PNG': () =>
      sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .png()
        .toBuffer(),
  };
  for (const [name, make] of Object.entries(blanks)) {
    it(`${name}: 422 no_digit`, async () => {
      await assert.rejects(preprocessImage(await make()), refusedWith(UnprocessableImageError, 422, 'no_digit'));
    });
  }
});
