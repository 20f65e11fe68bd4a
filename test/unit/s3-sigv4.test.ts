/**
 * The local S3 server's Signature V4 check (scripts/s3-server/sigv4.ts) against requests the AWS SDK v3 itself
 * signs: a PutObject caught before it leaves the client, and presigned GET URLs. Good signatures pass; a
 * tampered path, query, header or date, another key, an expired URL and a header nobody signed do not. No network.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { canonicalQuery, type SignedRequest, SigV4Verifier } from '../../scripts/s3-server/sigv4';

const KEY = { accessKeyId: 'LOCALABCDEF012345678', secretAccessKey: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=' };
const ENDPOINT = 'http://127.0.0.1:4599';
const BODY = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const SHA256 = createHash('sha256').update(BODY).digest();

function client(credentials = KEY): S3Client {
  return new S3Client({
    endpoint: ENDPOINT,
    region: 'us-east-1',
    credentials: { ...credentials },
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Catches the signed request instead of sending it.
    requestHandler: {
      handle: async (request: unknown) => {
        throw Object.assign(new Error('caught'), { request });
      },
    },
  });
}

interface Caught {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** A PutObject as the service sends it (layers/uploads/bucket.ts), signed by the SDK and caught. */
async function signedPut(credentials = KEY, key = 'uploads/ab/abab.png'): Promise<SignedRequest> {
  const s3 = client(credentials);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'digit-uploads',
        Key: key,
        Body: BODY,
        ContentType: 'image/png',
        ContentLength: BODY.length,
        ChecksumSHA256: SHA256.toString('base64'),
        CacheControl: 'private, max-age=31536000, immutable',
        Metadata: { note: 'a  b' },
      }),
    );
  } catch (error: unknown) {
    const request = (error as { request?: Caught }).request;
    if (request === undefined) throw error;
    const query = Object.entries(request.query).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map((v) => [name, v] as [string, string]),
    );
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
    return { method: request.method, rawPath: request.path, query, headers };
  } finally {
    s3.destroy();
  }
  throw new Error('the request was not caught');
}

/** A presigned GET URL as the service hands out (and a browser fetches), as the server receives it. */
async function presignedGet(options: { credentials?: typeof KEY; expiresIn?: number; signingDate?: Date } = {}): Promise<SignedRequest> {
  const s3 = client(options.credentials);
  const url = new URL(
    await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'digit-uploads', Key: 'uploads/ab/a b+c.png' }), {
      expiresIn: options.expiresIn ?? 60,
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
    }),
  );
  s3.destroy();
  const query = url.search
    .slice(1)
    .split('&')
    .map((part) => part.split('=').map(decodeURIComponent) as [string, string]);
  return { method: 'GET', rawPath: url.pathname, query, headers: { host: url.host, 'user-agent': 'a browser' } };
}

const verifier = new SigV4Verifier(KEY);

function refusedWith(request: SignedRequest, code: string, now?: number): void {
  const verdict = verifier.verify(request, now);
  assert.equal(verdict.ok, false, `expected ${code}`);
  if (!verdict.ok) assert.equal(verdict.code, code, verdict.message);
}

describe('SigV4Verifier', () => {
  it('accepts a PutObject the SDK signed with the key, and vouches for the body hash it signed', async () => {
    const request = await signedPut();
    const verdict = verifier.verify(request);
    assert.deepEqual(verdict, { ok: true, payloadSha256: SHA256.toString('hex') });
  });

  it('refuses the PutObject once its path, query, a signed header or its payload hash is changed', async () => {
    const request = await signedPut();
    refusedWith({ ...request, rawPath: request.rawPath.replace('abab', 'abac') }, 'SignatureDoesNotMatch');
    refusedWith({ ...request, query: [...request.query, ['acl', '']] }, 'SignatureDoesNotMatch');
    refusedWith({ ...request, headers: { ...request.headers, 'content-type': 'text/html' } }, 'SignatureDoesNotMatch');
    refusedWith({ ...request, headers: { ...request.headers, 'x-amz-meta-note': 'other' } }, 'SignatureDoesNotMatch');
    refusedWith({ ...request, headers: { ...request.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, 'SignatureDoesNotMatch');
    refusedWith({ ...request, method: 'DELETE' }, 'SignatureDoesNotMatch');
    // A header nobody signed may not ride along.
    refusedWith({ ...request, headers: { ...request.headers, 'x-amz-meta-extra': '1' } }, 'AccessDenied');
    // The same signature with one hex digit changed.
    const authorization = String(request.headers.authorization);
    const flipped = authorization.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    refusedWith({ ...request, headers: { ...request.headers, authorization: flipped } }, 'SignatureDoesNotMatch');
  });

  it('refuses another key: an unknown key id, or this key id with another secret', async () => {
    refusedWith(await signedPut({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }), 'InvalidAccessKeyId');
    refusedWith(await signedPut({ accessKeyId: KEY.accessKeyId, secretAccessKey: 'x'.repeat(40) }), 'SignatureDoesNotMatch');
  });

  it('refuses a header-signed request more than 15 minutes away from the clock', async () => {
    const request = await signedPut();
    refusedWith(request, 'RequestTimeTooSkewed', Date.now() + 16 * 60 * 1000);
    refusedWith(request, 'RequestTimeTooSkewed', Date.now() - 16 * 60 * 1000);
    assert.equal(verifier.verify(request, Date.now() + 60 * 1000).ok, true);
  });

  it('accepts a presigned GET URL until it expires, UNSIGNED-PAYLOAD, and not a second later', async () => {
    const signingDate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const request = await presignedGet({ expiresIn: 60, signingDate });
    assert.deepEqual(verifier.verify(request, signingDate.getTime() + 59_000), { ok: true, payloadSha256: undefined });
    refusedWith(request, 'AccessDenied', signingDate.getTime() + 61_000);
    // Stretching its life is tampering.
    const stretched = request.query.map(([name, value]) => [name, name === 'X-Amz-Expires' ? '604800' : value] as [string, string]);
    refusedWith({ ...request, query: stretched }, 'SignatureDoesNotMatch', signingDate.getTime() + 1000);
    // Another object through the same signature.
    refusedWith({ ...request, rawPath: request.rawPath.replace('a%20b', 'a%20c') }, 'SignatureDoesNotMatch', signingDate.getTime() + 1000);
  });

  it('refuses a presigned URL of another key, one without an expiry, and one that lives more than seven days', async () => {
    refusedWith(
      await presignedGet({ credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'y'.repeat(40) } }),
      'SignatureDoesNotMatch',
    );
    const request = await presignedGet();
    refusedWith({ ...request, query: request.query.filter(([name]) => name !== 'X-Amz-Expires') }, 'AuthorizationQueryParametersError');
    const long = request.query.map(([name, value]) => [name, name === 'X-Amz-Expires' ? '604801' : value] as [string, string]);
    refusedWith({ ...request, query: long }, 'AuthorizationQueryParametersError');
  });

  it('builds the canonical query as the SDK does: encoded, sorted by name then value, without the signature', () => {
    assert.equal(
      canonicalQuery([
        ['prefix', 'uploads/a b'],
        ['list-type', '2'],
        ['X-Amz-Signature', 'ff'],
        ['delete', ''],
        ['k', "b!'()*"],
        ['k', 'a'],
      ]),
      'delete=&k=a&k=b%21%27%28%29%2A&list-type=2&prefix=uploads%2Fa%20b',
    );
  });
});
