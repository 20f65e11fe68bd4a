/**
 * The local S3 server (scripts/s3-local.ts) as an S3 for the SDK v3 over real HTTP: the operations the
 * service, the page publisher and the retention purge use (PutObject with its headers and metadata,
 * GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectsV2 with prefix, delimiter and continuation),
 * bodies checked against what was signed, objects kept across restarts, the objects a previous server
 * (@20minutes/s3rver) left imported, and a file a crash cut short taken for no object.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type LocalS3, startS3Local } from '../../scripts/s3-local';
import { fileNameOf } from '../../scripts/s3-server/storage';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('base64');

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

describe('the local S3 server as an S3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-s3-ops-'));
  const directory = join(dir, 's3');
  let s3: LocalS3;

  async function exists(key: string): Promise<boolean> {
    try {
      await s3.client.send(new HeadObjectCommand({ Bucket: s3.uploadsBucket, Key: key }));
      return true;
    } catch (error: unknown) {
      if (status(error) === 404) return false;
      throw error;
    }
  }

  async function listAll(prefix: string, pageSize: number): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.uploadsBucket, Prefix: prefix, MaxKeys: pageSize, ContinuationToken: token }),
      );
      assert.ok((page.Contents?.length ?? 0) <= pageSize);
      keys.push(...(page.Contents ?? []).map((object) => object.Key as string));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  before(async () => {
    // What @20minutes/s3rver left in a data directory: `<bucket>/<key>._S3rver_object` and its metadata.
    const old = join(directory, 'digit-uploads', 'uploads', 'ee');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'old.png._S3rver_object'), PNG);
    writeFileSync(join(old, 'old.png._S3rver_metadata.json'), JSON.stringify({ 'content-type': 'image/png', 'cache-control': 'no-cache' }));
    writeFileSync(join(old, 'old.png._S3rver_object.md5'), md5(PNG));
    utimesSync(join(old, 'old.png._S3rver_object'), new Date('2026-01-02T03:04:05Z'), new Date('2026-01-02T03:04:05Z'));
    s3 = await startS3Local({ directory });
  });

  after(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports the objects s3rver kept, with their headers and time, and removes its copy', async () => {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ee/old.png' }));
    assert.deepEqual(Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()), PNG);
    assert.equal(object.ContentType, 'image/png');
    assert.equal(object.CacheControl, 'no-cache');
    assert.equal(object.ETag, `"${md5(PNG)}"`);
    assert.equal(object.LastModified?.toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(existsSync(join(directory, 'digit-uploads')), false);
  });

  it('keeps what PutObject sends and answers it on GetObject and HeadObject', async () => {
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.uploadsBucket,
        Key: 'uploads/ab/one.png',
        Body: PNG,
        ContentType: 'image/png',
        CacheControl: 'private, max-age=31536000, immutable',
        ChecksumSHA256: sha256(PNG),
        Metadata: { origin: 'test' },
      }),
    );
    assert.equal(put.ETag, `"${md5(PNG)}"`);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/one.png' }));
    assert.equal(head.ContentLength, PNG.length);
    assert.equal(head.ContentType, 'image/png');
    assert.equal(head.CacheControl, 'private, max-age=31536000, immutable');
    assert.deepEqual(head.Metadata, { origin: 'test' });
    assert.equal(head.ETag, `"${md5(PNG)}"`);
    assert.ok(Math.abs((head.LastModified?.getTime() ?? 0) - Date.now()) < 5000);
    const get = await s3.client.send(new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/one.png' }));
    assert.deepEqual(Buffer.from(await (get.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()), PNG);
    await assert.rejects(
      s3.client.send(new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/none.png' })),
      (error: { name?: string }) => error.name === 'NoSuchKey',
    );
    await assert.rejects(
      s3.client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'a' })),
      (error: { name?: string }) => error.name === 'NoSuchBucket',
    );
  });

  it('refuses a body that is not the one signed, or not the checksum sent, and keeps nothing', async () => {
    await assert.rejects(
      s3.client.send(
        new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/bad.png', Body: PNG, ChecksumSHA256: sha256('other bytes') }),
      ),
      (error: unknown) => status(error) === 400 && (error as { name?: string }).name === 'BadDigest',
    );
    // The SDK's signed request, sent with other bytes of the same length.
    let caught: { path: string; headers: Record<string, string> } | undefined;
    const capturing = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { ...s3.credentials },
      forcePathStyle: true,
      maxAttempts: 1,
      requestHandler: {
        handle: async (signed: unknown) => {
          caught = signed as typeof caught;
          throw new Error('caught');
        },
      },
    });
    await capturing.send(new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/bad.png', Body: PNG })).catch(() => undefined);
    capturing.destroy();
    assert.ok(caught);
    const tampered = Buffer.from(PNG);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${s3.endpoint}${caught?.path}?x-id=PutObject`, { method: 'PUT', headers: caught?.headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(tampered);
    });
    assert.equal(answer.status, 400, answer.body);
    assert.match(answer.body, /<Code>XAmzContentSHA256Mismatch<\/Code>/);
    assert.equal(await exists('uploads/ab/bad.png'), false);
  });

  it('refuses a presigned URL past its expiry', async () => {
    const url = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/ab/one.png' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const response = await fetch(url);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /<Code>AccessDenied<\/Code>.*expired/);
  });

  it('lists by prefix and delimiter, page by page, and deletes one object or many', async () => {
    const keys = ['uploads/c0/1.png', 'uploads/c0/2.png', 'uploads/c1/3.png', 'uploads/c2/4.png', 'uploads/c2/5 +é.png'];
    for (const key of [...keys, 'other/x.png']) {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: key, Body: PNG, ContentType: 'image/png' }));
    }
    const all = await listAll('uploads/c', 2);
    assert.deepEqual(all, [...keys].sort());
    const folders = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.uploadsBucket, Prefix: 'uploads/', Delimiter: '/' }));
    assert.deepEqual(
      folders.CommonPrefixes?.map((common) => common.Prefix),
      ['uploads/ab/', 'uploads/c0/', 'uploads/c1/', 'uploads/c2/', 'uploads/ee/'],
    );
    assert.equal(folders.Contents, undefined);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.uploadsBucket, Prefix: 'uploads/c0/' }));
    assert.equal(listed.Contents?.[0]?.Size, PNG.length);
    assert.equal(listed.Contents?.[0]?.ETag, `"${md5(PNG)}"`);

    const deleted = await s3.client.send(new DeleteObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/c1/3.png' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    // Deleting what is not there is not an error, as in S3.
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/c1/3.png' }));
    const many = await s3.client.send(
      new DeleteObjectsCommand({
        Bucket: s3.uploadsBucket,
        Delete: { Objects: [{ Key: 'uploads/c0/1.png' }, { Key: 'uploads/c2/5 +é.png' }, { Key: 'uploads/zz/none.png' }] },
      }),
    );
    assert.deepEqual(many.Deleted?.map((object) => object.Key).sort(), ['uploads/c0/1.png', 'uploads/c2/5 +é.png', 'uploads/zz/none.png']);
    assert.deepEqual(await listAll('uploads/c', 1000), ['uploads/c0/2.png', 'uploads/c2/4.png']);
  });

  it('keeps its objects across a restart, and takes a file a crash cut short for no object', async () => {
    await s3.stop();
    // A write the process did not finish: its metadata line promises more bytes than the file holds.
    const torn = join(directory, '_buckets', s3.uploadsBucket, fileNameOf('uploads/dd/torn.png'));
    writeFileSync(
      torn,
      `${JSON.stringify({ etag: md5(PNG), size: PNG.length, headers: {}, checksumSha256: null })}\n${PNG.subarray(0, 3)}`,
    );
    s3 = await startS3Local({ directory });
    assert.equal(await exists('uploads/c0/2.png'), true);
    assert.equal(await exists('uploads/ee/old.png'), true);
    assert.equal(await exists('uploads/dd/torn.png'), false);
    assert.deepEqual(await listAll('uploads/dd/', 1000), []);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/dd/torn.png', Body: PNG }));
    assert.equal(await exists('uploads/dd/torn.png'), true);
  });
});
