/**
 * Attacks on visitors' privacy, over real HTTP against the stack `npm start` runs (serverless-offline, the local
 * S3 server, SQLite): reading the history without credentials or with forged ones, reading, listing or erasing
 * another visitor's predictions (by id, through the digit filter, with their cursor), finding client addresses
 * in a visitor's answers, and erasure that leaves the upload behind or takes away another visitor's. Each must
 * fail; the operator key must still see and erase everything.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ERROR_CODES, ErrorBody, HistoryItem, HistoryPage, PredictionReceipt } from '#contract';
import { plainDigit } from '../../model/training/digit-images';
import { startS3Local } from '../../scripts/s3-local';
import { fileNameOf } from '../../scripts/s3-server/storage';
import { purgeExpiredUploads } from '../../scripts/uploads-retention';
import { type Stack, startStack, storedPredictions, upload } from './stack';

async function refusal(response: Response): Promise<ErrorBody['error']> {
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = ErrorBody.parse(await response.json());
  assert.equal(ERROR_CODES[body.error.code].status, response.status);
  return body.error;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('visitors and the operator over HTTP, attacked', () => {
  let stack: Stack;
  let base: string;
  let operatorKey: string;
  let alice: { token: string; ids: string[]; digits: number[] };
  let bob: { token: string; ids: string[] };
  let sevenBytes: Buffer;

  /** A prediction as `token`'s visitor (a new visitor without one). */
  async function predict(bytes: Buffer, filename: string, token?: string): Promise<PredictionReceipt> {
    const response = await upload(base, bytes, filename, token ? bearer(token) : {});
    assert.equal(response.status, 200, await response.clone().text());
    return PredictionReceipt.parse(await response.json());
  }

  function history(query: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${base}/history?${query}`, { headers });
  }

  function byId(method: 'GET' | 'DELETE', id: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${base}/predictions/${id}`, { method, headers });
  }

  async function kept(key: string): Promise<boolean> {
    return stack.s3.client.send(new HeadObjectCommand({ Bucket: stack.s3.uploadsBucket, Key: key })).then(
      () => true,
      (error: { $metadata?: { httpStatusCode?: number } }) => {
        if (error.$metadata?.httpStatusCode === 404) return false;
        throw error;
      },
    );
  }

  before(async () => {
    stack = await startStack();
    base = stack.service.url;
    operatorKey = stack.service.operatorKey as string;
    sevenBytes = (await plainDigit(7)).bytes;
    // Alice: a 7 and a 3 (same token); Bob: a 1 of his own and the same bytes as Alice's 7.
    const a1 = await predict(sevenBytes, 'alice-7.png');
    const a2 = await predict((await plainDigit(3)).bytes, 'alice-3.png', a1.visitorToken);
    alice = { token: a1.visitorToken, ids: [a1.id, a2.id], digits: [a1.digit, a2.digit] };
    const b1 = await predict((await plainDigit(1)).bytes, 'bob-1.png');
    const b2 = await predict(sevenBytes, 'bob-same-bytes.png', b1.visitorToken);
    bob = { token: b1.visitorToken, ids: [b1.id, b2.id] };
  });

  after(async () => {
    await stack?.stop();
  });

  it('lets only the page origin send a token or erase across origins (CORS preflight and answer)', async () => {
    const preflight = (origin: string, method: string, path: string) =>
      fetch(`${base}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' },
      });
    for (const [method, path] of [
      ['DELETE', `/predictions/${alice.ids[1]}`],
      ['GET', '/history'],
      ['POST', '/predict'],
    ] as const) {
      const evil = await preflight('http://127.0.0.1:1', method, path);
      await evil.arrayBuffer();
      assert.equal(evil.headers.get('access-control-allow-origin'), null, `${method} ${path} from another origin`);
      const page = await preflight(stack.s3.pageOrigin, method, path);
      await page.arrayBuffer();
      assert.equal(page.headers.get('access-control-allow-origin'), stack.s3.pageOrigin, `${method} ${path} from the page`);
      assert.match(page.headers.get('access-control-allow-headers') ?? '', /authorization/i);
      if (method === 'DELETE') assert.match(page.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    }
  });

  it('gives every new visitor their own token, and the same one back to a returning visitor', () => {
    assert.notEqual(alice.token, bob.token);
    assert.match(alice.token, /^v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  });

  it('refuses the history without credentials: 401 in the error form, with WWW-Authenticate, listing nothing', async () => {
    for (const query of ['', 'limit=100', 'digit=7']) {
      const response = await history(query, {});
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await refusal(response)).code, 'unauthorized');
    }
  });

  it('refuses forged, tampered, foreign and partial credentials on every route, and stores nothing for them', async () => {
    const [version, id = '', signature = ''] = alice.token.split('.');
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    const forged = [
      `${version}.${randomBytes(16).toString('base64url')}.${signature}`, // Bob's or anyone's id with Alice's signature
      `${version}.${id}.${flipped}`,
      `${version}.${id}.${randomBytes(32).toString('base64url')}`,
      `v2.${id}.${signature}`,
      alice.token.slice(0, -1),
      operatorKey.slice(0, -1),
      `${operatorKey}x`,
      `op_${randomBytes(32).toString('base64url')}`,
    ];
    const before = (await storedPredictions(base)).length;
    for (const token of forged) {
      for (const send of [
        () => history('limit=5', bearer(token)),
        () => byId('GET', alice.ids[0] as string, bearer(token)),
        () => byId('DELETE', alice.ids[0] as string, bearer(token)),
        () => upload(base, sevenBytes, 'forged.png', bearer(token)),
      ]) {
        const response = await send();
        assert.equal(response.status, 401, token);
        assert.equal((await refusal(response)).code, 'invalid_token');
      }
    }
    for (const header of [`Basic ${Buffer.from(`x:${operatorKey}`).toString('base64')}`, operatorKey, `Token ${alice.token}`]) {
      const response = await history('', { authorization: header });
      assert.equal(response.status, 401, header);
      await response.arrayBuffer();
    }
    assert.equal((await storedPredictions(base)).length, before, 'a refused upload was stored');
    assert.equal(await (await byId('GET', alice.ids[0] as string, bearer(alice.token))).status, 200, 'Alice lost her prediction');
  });

  it("lists a visitor's own predictions only: all of them, by digit, and page by page", async () => {
    const own = HistoryPage.parse(await (await history('limit=100', bearer(alice.token))).json());
    assert.deepEqual(own.items.map((item) => item.id).sort(), [...alice.ids].sort());
    const digit = alice.digits[0] as number;
    const filtered = HistoryPage.parse(await (await history(`digit=${digit}`, bearer(alice.token))).json());
    assert.deepEqual(filtered.items.map((item) => item.id).sort(), alice.ids.filter((_id, i) => alice.digits[i] === digit).sort());
    assert.ok(filtered.items.length > 0);
    const first = HistoryPage.parse(await (await history('limit=1', bearer(alice.token))).json());
    assert.ok(first.nextCursor);
    const second = HistoryPage.parse(await (await history(`limit=1&cursor=${first.nextCursor}`, bearer(alice.token))).json());
    assert.deepEqual([...first.items, ...second.items].map((item) => item.id).sort(), [...alice.ids].sort());
    assert.equal(second.nextCursor, null);

    // Bob's cursor, paged with Alice's token, yields none of Bob's predictions.
    const bobFirst = HistoryPage.parse(await (await history('limit=1', bearer(bob.token))).json());
    assert.ok(bobFirst.nextCursor);
    const crossed = await history(`limit=5&cursor=${bobFirst.nextCursor}`, bearer(alice.token));
    if (crossed.status === 200) {
      const items = HistoryPage.parse(await crossed.json()).items;
      assert.ok(!items.some((item) => bob.ids.includes(item.id)), "Bob's cursor showed Alice Bob's predictions");
    } else {
      assert.equal(crossed.status, 400);
      assert.equal((await refusal(crossed)).code, 'invalid_cursor');
    }
  });

  it('never shows a visitor a client address; shows the operator the stored one, truncated to the /24', async () => {
    const own = (await (await history('limit=100', bearer(alice.token))).json()) as { items: Array<Record<string, unknown>> };
    const one = (await (await byId('GET', alice.ids[0] as string, bearer(alice.token))).json()) as Record<string, unknown>;
    for (const item of [...own.items, one]) {
      assert.ok(!('clientIp' in item), `a visitor saw ${JSON.stringify(item.clientIp)}`);
    }
    const everyone = HistoryPage.parse(await (await history('limit=100', bearer(operatorKey))).json());
    assert.ok(everyone.items.length >= 4);
    for (const item of everyone.items) assert.equal(item.clientIp, '127.0.0.0');
  });

  it("answers another visitor's id exactly as an id that does not exist: 404, for reading and for erasing", async () => {
    const strangers = [bob.ids[0] as string, randomUUID(), 'not-a-uuid', (bob.ids[1] as string).toUpperCase()];
    const bodies = new Set<string>();
    for (const id of strangers) {
      for (const method of ['GET', 'DELETE'] as const) {
        const response = await byId(method, id, bearer(alice.token));
        assert.equal(response.status, 404, `${method} ${id}`);
        const error = await refusal(response);
        assert.equal(error.code, 'prediction_not_found');
        bodies.add(`${method} ${error.message}`);
      }
    }
    assert.equal(bodies.size, 2, 'one answer per method whatever the id');
    // Bob's prediction is still there, for Bob and for the operator.
    assert.equal((await byId('GET', bob.ids[0] as string, bearer(bob.token))).status, 200);
    HistoryItem.parse(await (await byId('GET', bob.ids[0] as string, bearer(operatorKey))).json());
  });

  it("erases a prediction: 204, then 404, with its upload; another visitor's copy of the same bytes is their own and stays", async () => {
    const items = HistoryPage.parse(await (await history('limit=100', bearer(operatorKey))).json()).items;
    const aliceSeven = items.find((item) => item.id === alice.ids[0]);
    const bobSame = items.find((item) => item.id === bob.ids[1]);
    // Two visitors' same bytes are two objects: one's erasure tells nothing of the other's upload.
    assert.ok(aliceSeven?.imageKey && bobSame?.imageKey, 'both uploads kept');
    assert.notEqual(aliceSeven.imageKey, bobSame.imageKey);
    const key = aliceSeven.imageKey;
    const bobKey = bobSame.imageKey;

    const erased = await byId('DELETE', alice.ids[0] as string, bearer(alice.token));
    assert.equal(erased.status, 204);
    assert.equal(await erased.text(), '');
    assert.equal((await byId('GET', alice.ids[0] as string, bearer(alice.token))).status, 404);
    assert.equal((await byId('DELETE', alice.ids[0] as string, bearer(alice.token))).status, 404);
    assert.equal((await byId('GET', alice.ids[0] as string, bearer(operatorKey))).status, 404, 'the operator still sees it');
    const own = HistoryPage.parse(await (await history('limit=100', bearer(alice.token))).json());
    assert.deepEqual(
      own.items.map((item) => item.id),
      [alice.ids[1]],
    );
    assert.ok(!(await storedPredictions(base)).some((item) => item.id === alice.ids[0]), "still in everyone's history");
    assert.equal(await kept(key), false, "Alice's upload outlived her prediction");
    assert.equal(await kept(bobKey), true, "Bob's copy went with Alice's prediction");

    // The operator erases Bob's: his object goes too.
    assert.equal((await byId('DELETE', bob.ids[1] as string, bearer(operatorKey))).status, 204);
    assert.equal(await kept(bobKey), false, 'the upload outlived its last record');
    assert.equal((await byId('GET', bob.ids[1] as string, bearer(bob.token))).status, 404);
  });
});

describe('retention on the local uploads bucket', () => {
  it('deletes, at start, the uploads last written more than RETENTION_DAYS ago, and keeps the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digit-retention-'));
    const s3 = await startS3Local({ directory: join(dir, 's3') });
    try {
      const put = (key: string) =>
        s3.client.send(new PutObjectCommand({ Bucket: s3.uploadsBucket, Key: key, Body: Buffer.from(key), ContentType: 'image/png' }));
      const [old, recent] = ['uploads/aa/old.png', 'uploads/bb/recent.png'];
      await put(old);
      await put(recent);
      // As if written 31 days ago (the local server's Last-Modified is the object file's modification time).
      const then = new Date(Date.now() - 31 * 86_400_000);
      utimesSync(join(dir, 's3', '_buckets', s3.uploadsBucket, fileNameOf(old)), then, then);

      assert.equal(await purgeExpiredUploads(s3.client, s3.uploadsBucket, 0), 0, '0 keeps everything');
      assert.equal(await purgeExpiredUploads(s3.client, s3.uploadsBucket, 30), 1);
      const exists = (key: string) =>
        s3.client.send(new HeadObjectCommand({ Bucket: s3.uploadsBucket, Key: key })).then(
          () => true,
          () => false,
        );
      assert.equal(await exists(old), false);
      assert.equal(await exists(recent), true);
    } finally {
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
