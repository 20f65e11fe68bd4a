/**
 * The local S3 server under abuse, over real HTTP with correctly signed requests: a DeleteObjects
 * body built to make a backtracking parser crawl (8 KB held it 16.8 s), and more request bodies at once than
 * its memory budget holds (64 bodies of 10 MiB were 640 MB unbounded). The server is the one scripts/s3-local.ts
 * serves, on its own port here so that its budget can be made small.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_REGION, localS3Client } from '../../scripts/s3-local';
import { BodyBudget, createS3Handler } from '../../scripts/s3-server/server';
import { ObjectStore } from '../../scripts/s3-server/storage';

const CREDENTIALS = { accessKeyId: 'AKIDBOUNDSTEST00001', secretAccessKey: 'bounds-test-secret-key-0123456789abcdef' };
const BUCKET = 'digit-uploads';
const MIB = 1024 * 1024;

async function waitUntil(done: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function bytesOf(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

/** SHA-256 for the signer, from node:crypto. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

describe('the local S3 server, bounded under abuse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-s3-bounds-'));
  const budget = new BodyBudget(4 * MIB);
  let server: Server;
  let port: number;
  let client: S3Client;

  /** A DeleteObjects request with `body` as it is, signed with the server's key. */
  async function deleteObjects(body: string): Promise<{ status: number; text: string; ms: number }> {
    const signer = new SignatureV4({
      credentials: CREDENTIALS,
      region: LOCAL_REGION,
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
    });
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: `/${BUCKET}`,
      query: { delete: '' },
      headers: {
        host: `127.0.0.1:${port}`,
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-content-sha256': payloadHash,
      },
    });
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/${BUCKET}?delete=`, headers: signed.headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A signed PUT of `size` bytes whose body stops after 1 KB; `answer` waits for what the server says. */
  async function stalledPut(key: string, size: number): Promise<{ socket: Socket; answer: (ms: number) => Promise<string> }> {
    const signer = new SignatureV4({
      credentials: CREDENTIALS,
      region: LOCAL_REGION,
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: `/${BUCKET}/${key}`,
      headers: {
        host: `127.0.0.1:${port}`,
        'content-length': String(size),
        'x-amz-content-sha256': createHash('sha256').update(Buffer.alloc(size)).digest('hex'),
      },
    });
    const head = Object.entries(signed.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`PUT /${BUCKET}/${key} HTTP/1.1\r\n${head}\r\n`);
    socket.write(Buffer.alloc(1024));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    const answer = (ms: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (received.includes('\r\n\r\n')) {
            clearInterval(poll);
            resolve(received);
          } else if (Date.now() - started > ms) {
            clearInterval(poll);
            reject(new Error(`no answer within ${ms} ms`));
          }
        }, 20);
      });
    return { socket, answer };
  }

  before(async () => {
    const store = new ObjectStore(join(dir, 'objects'), ['digit-page', BUCKET]);
    server = createServer(
      createS3Handler({ pageBucket: 'digit-page', uploadsBucket: BUCKET, credentials: CREDENTIALS, store, bodyBudget: budget }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    client = localS3Client(`http://127.0.0.1:${port}`, CREDENTIALS);
  });

  after(async () => {
    client?.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an 8 KB DeleteObjects body of unclosed elements at once, and still reads a good one', async () => {
    // Objects never closed: the regular expression this replaced took 44 s over these 8 KB (on a loaded machine).
    const hostile = `<Delete>${'<Object><Key>a</Key>'.repeat(420)}</Delete>`;
    assert.ok(hostile.length > 8000 && hostile.length < 9000);
    const refused = await deleteObjects(hostile);
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /MalformedXML/);
    assert.ok(refused.ms < 1000, `answered after ${Math.round(refused.ms)} ms`);

    const keys = ['uploads/aa/a.png', 'uploads/bb/b&c.png'];
    for (const key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    const good = await deleteObjects(
      `<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>uploads/aa/a.png</Key></Object>` +
        '<Object><Key>uploads/bb/b&amp;c.png</Key><VersionId>x</VersionId></Object></Delete>',
    );
    assert.equal(good.status, 200, good.text);
    assert.match(good.text, /<Deleted><Key>uploads\/bb\/b&amp;c\.png<\/Key><\/Deleted>/);
    for (const key of keys) {
      await assert.rejects(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), (error: unknown) => {
        return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
      });
    }
  });

  it('holds at most its budget of bodies at once: one more waits, then gets 503 SlowDown with Retry-After', async () => {
    // Bodies that start and stall: each PUT declares 1 MiB, sends 1 KB of it and waits.
    const stalled = await Promise.all(Array.from({ length: 4 }, (_, i) => stalledPut(`uploads/dd/${i}.bin`, MIB)));
    await waitUntil(() => budget.held === 4 * MIB);
    const extra = await stalledPut('uploads/dd/extra.bin', MIB);
    const answer = await extra.answer(5000);
    assert.match(answer, /^HTTP\/1\.1 503 /, answer.slice(0, 200));
    assert.match(answer, /\r\nretry-after: 2\r\n/i);
    assert.match(answer, /<Code>SlowDown<\/Code>/);
    for (const put of stalled) put.socket.destroy();
    await waitUntil(() => budget.held === 0);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/dd/after.bin', Body: Buffer.alloc(MIB) }));
  });
});
