/**
 * Attacks on the local S3 server (scripts/s3-local.ts) over real HTTP, as `npm start` runs it: anonymous
 * writes, deletes, listings, form POSTs and CORS preflights on both buckets; reading the uploads bucket
 * without a signature, with the S3RVER default key of local S3 servers or through a path that climbs out of the page bucket;
 * serving a kept upload as a page with a signed `response-content-type`. Every one must get 403 and change
 * nothing. What must keep working: the page read anonymously, with its security headers, and kept uploads
 * read through signed URLs, as attachments with their image type.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type LocalS3, localS3Client, startS3Local } from '../../scripts/s3-local';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const HTML = '<!doctype html><script>parent.postMessage(document.cookie, "*")</script>';

/** A raw HTTP request: fetch would normalise `..` out of the path and refuses to set Host. */
function raw(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) {
  const target = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method: options.method ?? 'GET',
        path: options.path ?? target.pathname + target.search,
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function formPost(url: string, key: string, content: string, type: string): Promise<Response> {
  const form = new FormData();
  form.append('key', key);
  form.append('Content-Type', type);
  form.append('file', new Blob([content], { type }), 'file');
  return fetch(url, { method: 'POST', body: form });
}

describe('the local S3 server refuses anonymous and forged access', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-s3-security-'));
  let s3: LocalS3;
  const uploadKey = 'uploads/ab/abababababababababababababababababababababababababababababababab.png';
  let configBefore: string;

  /** Whether the object exists, read with the server's own key. */
  async function exists(bucket: string, key: string): Promise<boolean> {
    try {
      await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error: unknown) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  before(async () => {
    s3 = await startS3Local({ directory: join(dir, 's3') });
    await s3.publishPage({ apiUrl: 'http://127.0.0.1:3999' });
    await s3.client.send(new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: uploadKey, Body: PNG, ContentType: 'image/png' }));
    configBefore = await (await fetch(`${s3.pageUrl}config.json`)).text();
  });

  after(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its key pair random, per install, in a file only its owner can read', async () => {
    const file = join(dir, 's3-credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    assert.deepEqual(stored, s3.credentials);
    assert.notEqual(stored.accessKeyId, 'S3RVER');
    assert.ok(stored.secretAccessKey.length >= 40);
    // Another install draws another pair; the same install keeps its own across restarts.
    const other = mkdtempSync(join(tmpdir(), 'digit-s3-other-'));
    try {
      const second = await startS3Local({ directory: join(other, 's3') });
      await second.stop();
      assert.notEqual(second.credentials.secretAccessKey, s3.credentials.secretAccessKey);
      const again = await startS3Local({ directory: join(other, 's3') });
      await again.stop();
      assert.deepEqual(again.credentials, second.credentials);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('serves the page to anonymous readers, with its CSP, nosniff and Referrer-Policy', async () => {
    for (const path of ['', 'index.html', 'config.json', 'dist/main.js']) {
      const response = await fetch(`${s3.pageUrl}${path}`);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, path);
      assert.match(csp, /(^|; )connect-src 'self' http:\/\/127\.0\.0\.1:3999(;|$)/, path);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
    }
    // A page-bucket answer that is not a published file (the error document) cannot be framed either.
    const missing = await fetch(`${s3.pageUrl}no-such-file.html`);
    await missing.arrayBuffer();
    assert.equal(missing.headers.get('content-security-policy'), "frame-ancestors 'none'");
    // Refusals run nothing.
    const refused = await fetch(`${s3.pageUrl}config.json`, { method: 'PUT', body: '{}' });
    await refused.arrayBuffer();
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/);
  });

  it('refuses anonymous writes and deletes on both buckets, and changes nothing', async () => {
    for (const bucket of [s3.pageBucket, s3.uploadsBucket]) {
      const base = `${s3.endpoint}/${bucket}`;
      const attempts: Array<[string, () => Promise<Response>]> = [
        ['PUT config.json', () => fetch(`${base}/config.json`, { method: 'PUT', body: '{"apiUrl":"http://attacker.invalid"}' })],
        ['PUT evil.html', () => fetch(`${base}/evil.html`, { method: 'PUT', body: HTML, headers: { 'content-type': 'text/html' } })],
        [
          'PUT with an x-amz header',
          () => fetch(`${base}/evil.html`, { method: 'PUT', body: HTML, headers: { 'x-amz-acl': 'public-read' } }),
        ],
        ['DELETE index.html', () => fetch(`${base}/index.html`, { method: 'DELETE' })],
        ['DELETE the upload', () => fetch(`${base}/${uploadKey}`, { method: 'DELETE' })],
        [
          'multi-object delete',
          () => fetch(`${base}?delete`, { method: 'POST', body: `<Delete><Object><Key>${uploadKey}</Key></Object></Delete>` }),
        ],
        ['form POST of evil.html', () => formPost(base, 'evil.html', HTML, 'text/html')],
        ['form POST of config.json', () => formPost(base, 'config.json', '{"apiUrl":"http://attacker.invalid"}', 'application/json')],
        ['form POST to the root', () => formPost(`${base}/`, 'evil.html', HTML, 'text/html')],
        ['DELETE the bucket', () => fetch(base, { method: 'DELETE' })],
        ['PUT website configuration', () => fetch(`${base}?website`, { method: 'PUT', body: '<WebsiteConfiguration/>' })],
        ['PUT CORS configuration', () => fetch(`${base}?cors`, { method: 'PUT', body: '<CORSConfiguration/>' })],
      ];
      for (const [name, attempt] of attempts) {
        const response = await attempt();
        assert.equal(response.status, 403, `${bucket}: ${name}: ${await response.text()}`);
      }
    }
    assert.equal(await exists(s3.pageBucket, 'evil.html'), false);
    assert.equal(await exists(s3.uploadsBucket, 'evil.html'), false);
    assert.equal(await exists(s3.uploadsBucket, 'config.json'), false);
    assert.equal(await exists(s3.uploadsBucket, uploadKey), true);
    assert.equal(await exists(s3.pageBucket, 'index.html'), true);
    assert.equal(await (await fetch(`${s3.pageUrl}config.json`)).text(), configBefore);
  });

  it('refuses anonymous listings, CORS preflights and reads of the uploads bucket', async () => {
    const attempts: Array<[string, string, RequestInit?]> = [
      ['list the buckets', `${s3.endpoint}/`],
      ['list the uploads', `${s3.endpoint}/${s3.uploadsBucket}?list-type=2`],
      ['list the uploads (v1)', `${s3.endpoint}/${s3.uploadsBucket}`],
      ['list the page bucket', `${s3.endpoint}/${s3.pageBucket}?list-type=2&x-amz-x=1`],
      ['read an upload', `${s3.endpoint}/${s3.uploadsBucket}/${uploadKey}`],
      ['HEAD an upload', `${s3.endpoint}/${s3.uploadsBucket}/${uploadKey}`, { method: 'HEAD' }],
      [
        'preflight a PUT',
        `${s3.endpoint}/${s3.pageBucket}/config.json`,
        { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:1', 'access-control-request-method': 'PUT' } },
      ],
      ['a bucket of its own', `${s3.endpoint}/attacker-bucket`, { method: 'PUT' }],
    ];
    for (const [name, url, init] of attempts) {
      const response = await fetch(url, init);
      const body = await response.text();
      assert.equal(response.status, 403, `${name}: ${body}`);
      assert.doesNotMatch(body, /abababab/, name);
      assert.equal(response.headers.get('access-control-allow-origin'), null, name);
    }
  });

  it('refuses keys that climb out of the page bucket into the uploads bucket', async () => {
    for (const path of [
      `/${s3.pageBucket}/../${s3.uploadsBucket}/${uploadKey}`,
      `/${s3.pageBucket}/%2e%2e/${s3.uploadsBucket}/${uploadKey}`,
      `/${s3.pageBucket}/.%2E/${s3.uploadsBucket}/${uploadKey}`,
      `/${s3.pageBucket}/dist/../../${s3.uploadsBucket}/${uploadKey}`,
    ]) {
      const response = await raw(s3.endpoint, { path });
      assert.equal(response.status, 403, path);
      assert.ok(!response.body.startsWith('\x89PNG'), path);
    }
  });

  it('refuses a website request forged through the Host header', async () => {
    const response = await raw(s3.endpoint, {
      method: 'PUT',
      path: '/config.json',
      headers: { host: `${s3.pageBucket}.s3-website.amazonaws.com`, 'x-amz-date': '20260101T000000Z' },
      body: '{"apiUrl":"http://attacker.invalid"}',
    });
    assert.equal(response.status, 403, response.body);
    assert.equal(await (await fetch(`${s3.pageUrl}config.json`)).text(), configBefore);
  });

  it('refuses the default key of local S3 servers, S3RVER/S3RVER, and a signature that does not match', async () => {
    const defaults = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const wrongSecret = localS3Client(s3.endpoint, { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    try {
      for (const client of [defaults, wrongSecret]) {
        await assert.rejects(
          client.send(new PutObjectCommand({ Bucket: s3.pageBucket, Key: 'config.json', Body: '{"apiUrl":"http://attacker.invalid"}' })),
          (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 403,
        );
        const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: uploadKey }), { expiresIn: 60 });
        const response = await fetch(url);
        await response.arrayBuffer();
        assert.equal(response.status, 403);
      }
    } finally {
      defaults.destroy();
      wrongSecret.destroy();
    }
    assert.equal(await (await fetch(`${s3.pageUrl}config.json`)).text(), configBefore);
  });

  it('serves a kept upload through a signed URL only as an attachment of its image type, never as a page', async () => {
    const url = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: uploadKey }), { expiresIn: 60 });
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), PNG);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('content-disposition'), 'attachment');

    // The same URL signed with an override of the type or the disposition, with the server's own key.
    for (const override of [
      { ResponseContentType: 'text/html' },
      { ResponseContentDisposition: 'inline' },
      { ResponseContentType: 'image/svg+xml' },
    ]) {
      const signed = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: uploadKey, ...override }), {
        expiresIn: 60,
      });
      const refused = await fetch(signed);
      const body = await refused.text();
      assert.equal(refused.status, 403, JSON.stringify(override));
      assert.doesNotMatch(refused.headers.get('content-type') ?? '', /html|svg/);
      assert.ok(!body.startsWith('\x89PNG'));
    }

    // An object stored with a type that is not an image (only the key holder could) is served as bytes.
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/cd/page.png', Body: HTML, ContentType: 'text/html' }),
    );
    const html = await fetch(
      await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.uploadsBucket, Key: 'uploads/cd/page.png' }), { expiresIn: 60 }),
    );
    await html.arrayBuffer();
    assert.equal(html.status, 200);
    assert.equal(html.headers.get('content-type'), 'application/octet-stream');
    assert.equal(html.headers.get('content-disposition'), 'attachment');
    assert.match(html.headers.get('content-security-policy') ?? '', /sandbox/);
  });
});
