/**
 * DirectPut, the upload's PutObject as one signed request: against a small HTTP server on loopback that checks
 * the signature with the local S3 server's own verifier (scripts/s3-server/sigv4.ts) and answers what the test
 * says. The real local S3 server takes it in test/integration/uploads-bucket.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { DirectPut, S3PutError } from '#uploads/s3-put';
import { SigV4Verifier } from '../../scripts/s3-server/sigv4';

const credentials = { accessKeyId: 'local-key', secretAccessKey: 'local-secret' };
const verifier = new SigV4Verifier(credentials);

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  verdict: ReturnType<SigV4Verifier['verify']>;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
/** What the server does with the n-th request (0-based); 200 when absent. */
let answers: Array<number | 'hang'> = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawPath = req.url ?? '/';
      const verdict = verifier.verify({ method: req.method ?? '', rawPath, query: [], headers: req.headers });
      received.push({ method: req.method ?? '', path: rawPath, headers: req.headers, body: Buffer.concat(chunks), verdict });
      const answer = answers[received.length - 1] ?? 200;
      if (answer === 'hang') return;
      res.writeHead(answer, { 'content-type': 'application/xml' });
      res.end(answer === 200 ? '' : `<Error><Code>${answer === 403 ? 'SignatureDoesNotMatch' : 'InternalError'}</Code></Error>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  answers = [];
});

function direct(timeoutMs?: number): DirectPut {
  const client = new S3Client({ region: 'eu-west-1', endpoint, forcePathStyle: true, credentials });
  return new DirectPut(client, { bucket: 'uploads-test', endpoint, forcePathStyle: true }, timeoutMs);
}

const bytes = Buffer.from('\x89PNG a picture');
const sha = createHash('sha256').update(bytes).digest('hex');
const key = `uploads/${sha.slice(0, 2)}/${sha}.png`;

describe('DirectPut', () => {
  it('sends one PUT, path-style, signed as S3 checks it, with the checksum, type and the body as given', async () => {
    await direct().put(key, bytes, 'image/png', sha);
    assert.equal(received.length, 1);
    const [r] = received;
    assert.ok(r);
    assert.equal(r.method, 'PUT');
    assert.equal(r.path, `/uploads-test/${key}`);
    assert.deepEqual(r.verdict, { ok: true, payloadSha256: sha });
    assert.match(String(r.headers.authorization), /^AWS4-HMAC-SHA256 Credential=local-key\/\d{8}\/eu-west-1\/s3\/aws4_request, /);
    assert.equal(r.headers['x-amz-checksum-sha256'], Buffer.from(sha, 'hex').toString('base64'));
    assert.equal(r.headers['content-type'], 'image/png');
    assert.equal(r.headers['cache-control'], 'private, max-age=31536000, immutable');
    assert.deepEqual(r.body, bytes);
  });

  it('is refused by a verifier with another secret: the signature covers the request', async () => {
    await direct().put(key, bytes, 'image/png', sha);
    const other = new SigV4Verifier({ ...credentials, secretAccessKey: 'another-secret' });
    const r = received[0];
    assert.ok(r);
    assert.equal(other.verify({ method: r.method, rawPath: r.path, query: [], headers: r.headers }).ok, false);
  });

  it('tries a 5xx once more, and succeeds if the second attempt does', async () => {
    answers = [500];
    await direct().put(key, bytes, 'image/png', sha);
    assert.equal(received.length, 2);
  });

  it('does not try a refusal again: a 403 rejects at once with the status and S3 code', async () => {
    answers = [403];
    await assert.rejects(direct().put(key, bytes, 'image/png', sha), (error: unknown) => {
      assert.ok(error instanceof S3PutError);
      assert.equal(error.status, 403);
      assert.match(error.message, /SignatureDoesNotMatch/);
      return true;
    });
    assert.equal(received.length, 1);
  });

  it('gives up after two attempts that get no answer in time', async () => {
    answers = ['hang', 'hang'];
    const started = Date.now();
    await assert.rejects(direct(150).put(key, bytes, 'image/png', sha), /no answer from S3 within 150 ms/);
    assert.equal(received.length, 2);
    assert.ok(Date.now() - started < 2_000);
  });
});
