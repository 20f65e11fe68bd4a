/**
 * The upload's own bounds (layers/uploads/upload.ts): only the image's bytes are kept (data after a PNG's IEND, a
 * JPEG's EOI or a WebP's RIFF size is cut), and the upload quotas per address and per visitor (token buckets:
 * requests a second with bursts of two seconds' worth, bytes an hour), with a clock handed in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { HttpError } from '#errors/errors';
import { imageBytesOnly, readUpload, UploadQuota } from '#uploads/upload';

const JUNK = Buffer.from('junk after the picture\xff\xd9IEND', 'latin1');

async function picture(format: 'png' | 'jpeg' | 'webp', progressive = false): Promise<Buffer> {
  const image = sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 20, b: 90 } } });
  if (format === 'png') return image.png().toBuffer();
  if (format === 'jpeg')
    return image
      .jpeg({ progressive })
      .withExif({ IFD0: { Copyright: 'x' } })
      .toBuffer();
  return image.webp().toBuffer();
}

describe('imageBytesOnly', () => {
  for (const [name, make] of [
    ['PNG', () => picture('png')],
    ['JPEG', () => picture('jpeg')],
    ['progressive JPEG with EXIF', () => picture('jpeg', true)],
    ['WebP', () => picture('webp')],
  ] as const) {
    it(`cuts what follows a ${name}, and leaves a ${name} without trailing data as it is`, async () => {
      const bytes = await make();
      assert.ok(imageBytesOnly(bytes).equals(bytes));
      assert.ok(imageBytesOnly(Buffer.concat([bytes, JUNK])).equals(bytes));
    });
  }

  it('leaves bytes it cannot walk as they are, for the decoder to judge', async () => {
    const png = await picture('png');
    for (const bytes of [Buffer.from('not an image'), png.subarray(0, 40), Buffer.from([0xff, 0xd8, 0x00, 0x01]), Buffer.alloc(0)]) {
      assert.ok(imageBytesOnly(bytes).equals(bytes));
    }
  });

  it('is applied to raw and multipart uploads alike', async () => {
    const png = await picture('png');
    const raw = await readUpload(Buffer.concat([png, JUNK]), 'image/png', { maxFileBytes: 1 << 20 });
    assert.ok(raw.bytes.equals(png));
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(Buffer.concat([png, JUNK]))], { type: 'image/png' }), 'a.png');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const body = Buffer.from(await request.arrayBuffer());
    const multipart = await readUpload(body, request.headers.get('content-type') ?? '', { maxFileBytes: 1 << 20 });
    assert.ok(multipart.bytes.equals(png));
  });
});

describe('UploadQuota', () => {
  const limits = {
    perAddress: { requestsPerSecond: 2, bytesPerHour: 3600 * 100 },
    perVisitor: { requestsPerSecond: 1, bytesPerHour: 1000 },
  };
  const refused = (seconds: number) => (error: unknown) =>
    error instanceof HttpError &&
    error.statusCode === 429 &&
    error.code === 'too_many_requests' &&
    error.headers['Retry-After'] === String(seconds);

  it("admits a burst of two seconds' worth from an address, then 429 with Retry-After until the bucket refills", () => {
    let now = 0;
    const quota = new UploadQuota(limits, () => now);
    for (let i = 0; i < 4; i += 1) quota.admit('203.0.113.1', undefined, 10);
    assert.throws(() => quota.admit('203.0.113.1', undefined, 10), refused(1));
    quota.admit('203.0.113.2', undefined, 10);
    now += 500;
    quota.admit('203.0.113.1', undefined, 10);
  });

  it("holds a visitor to its own bytes an hour, and a refusal takes nothing from the address's allowance", () => {
    let now = 0;
    const quota = new UploadQuota(limits, () => now);
    quota.admit('203.0.113.1', 'visitor', 900);
    now += 1000;
    // 1000 bytes an hour: 900 spent, 100.3 left a second later; 600 more need (600 - 100.3) / (1000 / 3600) = 1799 s.
    assert.throws(() => quota.admit('203.0.113.1', 'visitor', 600), refused(1799));
    for (let i = 0; i < 3; i += 1) quota.admit('203.0.113.1', undefined, 10);
  });

  it('turns a limit off at 0', () => {
    const quota = new UploadQuota({
      perAddress: { requestsPerSecond: 0, bytesPerHour: 0 },
      perVisitor: { requestsPerSecond: 0, bytesPerHour: 0 },
    });
    for (let i = 0; i < 1000; i += 1) quota.admit('203.0.113.1', 'v', 1 << 20);
  });
});
