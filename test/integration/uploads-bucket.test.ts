/**
 * Uploads kept in the uploads bucket, over real HTTP: the local S3-compatible server and serverless-offline
 * started as `npm start` starts them. An upload lands in the bucket byte for byte under its SHA-256 key,
 * its history item carries that key and hash and a presigned URL that fetches the same bytes; the API
 * admits the page's origin only; and a bucket that is down makes /predict answer 503 with nothing stored.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type HistoryItem, HistoryPage } from '#contract';
import { plainDigit, redrawnDigit } from '../../model/training/digit-images';
import type { LocalS3 } from '../../scripts/s3-local';
import { operatorAuth, type ServiceWithBuckets, startWithBuckets } from '../../tools/service';

function upload(base: string, bytes: Buffer, filename: string, type: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type }), filename);
  return fetch(`${base}/predict`, { method: 'POST', body: form });
}

async function history(base: string): Promise<HistoryItem[]> {
  const response = await fetch(`${base}/history?limit=100`, { headers: operatorAuth(base) });
  assert.equal(response.status, 200);
  return HistoryPage.parse(await response.json()).items;
}

describe('uploads kept in the uploads bucket (local S3 server + serverless-offline)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-uploads-'));
  let stack: ServiceWithBuckets | undefined;
  let s3: LocalS3;
  let base: string;

  before(async () => {
    stack = await startWithBuckets({
      s3Directory: join(dir, 's3'),
      env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(dir, 'p.sqlite'), LOG_LEVEL: 'warn' },
    });
    s3 = stack.s3;
    base = stack.service.url;
  });

  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the upload byte-exact under uploads/<2 hex>/<sha256>-<visitor's tag>.<ext>, and its imageUrl fetches it", async () => {
    const digit = await redrawnDigit(4, 21);
    const sha256 = createHash('sha256').update(digit.bytes).digest('hex');

    const response = await upload(base, digit.bytes, '../../escape attempt.jpg', 'image/jpeg');
    assert.equal(response.status, 200, await response.clone().text());
    const { id } = (await response.json()) as { id: string };

    // Keyed per visitor: the tag is a hash of the visitor id (layers/uploads/bucket.ts).
    const keyOf = (await history(base)).find((each) => each.id === id)?.imageKey ?? '';
    assert.match(keyOf, new RegExp(`^uploads/${sha256.slice(0, 2)}/${sha256}-[0-9a-f]{16}\\.jpg$`));
    const key = keyOf;
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: key }));
    assert.equal(object.ContentType, 'image/jpeg');
    assert.ok(object.Body);
    assert.deepEqual(Buffer.from(await object.Body.transformToByteArray()), digit.bytes);

    const item = (await history(base)).find((each) => each.id === id);
    assert.ok(item, 'the prediction is in the history');
    assert.equal(item.imageKey, key);
    assert.equal(item.imageSha256, sha256);
    assert.equal(item.imageType, 'image/jpeg');
    assert.equal(item.imageBytes, digit.bytes.length);
    assert.equal(item.filename, 'escape attempt.jpg');
    assert.ok(item.imageUrl, 'a kept upload has an imageUrl');
    const url = new URL(item.imageUrl);
    assert.equal(url.origin, s3.endpoint);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');

    const fetched = await fetch(item.imageUrl);
    assert.equal(fetched.status, 200);
    assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), digit.bytes);
  });

  it('refuses the URL once its signature is tampered with (the server checks signatures)', async () => {
    const digit = await plainDigit(5);
    assert.equal((await upload(base, digit.bytes, 'five.png', 'image/png')).status, 200);
    const [item] = await history(base);
    assert.ok(item?.imageUrl, 'the history item has no imageUrl');
    const url = new URL(item.imageUrl);
    const signature = url.searchParams.get('X-Amz-Signature');
    assert.ok(signature, 'the URL is not signed');
    url.searchParams.set('X-Amz-Signature', signature.replace(/^./, signature[0] === 'a' ? 'b' : 'a'));
    const response = await fetch(url);
    await response.arrayBuffer();
    assert.equal(response.status, 403);
  });

  it('admits the page origin in a CORS preflight, and no other origin', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${base}/predict`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const allowed = await preflight(s3.pageOrigin);
    assert.equal(allowed.headers.get('access-control-allow-origin'), s3.pageOrigin);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    const other = await preflight('http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('answers 503 and stores nothing while the bucket is down', async () => {
    const before = (await history(base)).length;
    await s3.stop();
    const digit = await plainDigit(6);
    const response = await upload(base, digit.bytes, 'six.png', 'image/png');
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    const body = (await response.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'uploads_unavailable');
    assert.equal((await history(base)).length, before);
  });
});
