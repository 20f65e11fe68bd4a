/**
 * The Lambda handlers driven with API Gateway v2 events, as API Gateway and serverless-offline send them
 * (multipart bodies base64-encoded). The real model and a real SQLite file are used; every refused input
 * must leave the store unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import sharp from 'sharp';
import { plainDigit, redrawnDigit } from '../../model/training/digit-images';
import { loadOrCreateLocalKeys } from '../../scripts/local-keys';
import { httpEvent, predictEvent } from '../../tools/events';

const dir = mkdtempSync(join(tmpdir(), 'digit-handlers-'));
process.env.SQLITE_PATH = join(dir, 'predictions.sqlite');
process.env.PREDICTION_STORE = 'sqlite';
process.env.LOG_LEVEL = 'error';
// A hundred requests' EMF lines would bury the test report; http-log.test.ts checks the metrics themselves.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const keys = loadOrCreateLocalKeys(join(dir, 'keys'));
Object.assign(process.env, keys.env);

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let predict: Handler;
/** GET /history as the operator (everyone's predictions): what these tests count and page through. */
let history: Handler;
let prediction: Handler;
let health: Handler;

interface ErrorBody {
  error: { code: string; message: string };
}

function parse<T>(result: APIGatewayProxyStructuredResultV2): T {
  assert.match(String(result.headers?.['content-type']), /^application\/json/);
  return JSON.parse(result.body ?? '') as T;
}

async function storedCount(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const result = await history(httpEvent({ path: '/history', query: { limit: '100', ...(cursor ? { cursor } : {}) } }));
    const page = parse<{ items: unknown[]; nextCursor: string | null }>(result);
    count += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return count;
}

async function expectRefused(event: APIGatewayProxyEventV2, status: number | number[], code?: string): Promise<void> {
  const before = await storedCount();
  const result = await predict(event);
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(result.statusCode ?? 0), `status ${result.statusCode} (${result.body}) is one of ${statuses.join(', ')}`);
  const body = parse<ErrorBody>(result);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  if (code) assert.equal(body.error.code, code);
  assert.equal(await storedCount(), before, 'nothing is stored for a refused upload');
}

before(async () => {
  ({ handler: predict } = (await import('../../functions/predict.js')) as { handler: Handler });
  const { handler: asAnyone } = (await import('../../functions/history.js')) as { handler: Handler };
  history = (event) => asAnyone({ ...event, headers: { ...event.headers, authorization: `Bearer ${keys.operatorKey}` } });
  ({ handler: prediction } = (await import('../../functions/prediction.js')) as { handler: Handler });
  ({ handler: health } = (await import('../../functions/health.js')) as { handler: Handler });
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('POST /predict', () => {
  it('answers a multipart PNG with the digit, ten probabilities summing to 1, and the input the model saw', async () => {
    const digit = await plainDigit(0);
    const result = await predict(predictEvent([{ field: 'image', filename: 'seven.png', contentType: 'image/png', content: digit.bytes }]));
    assert.equal(result.statusCode, 200, result.body);
    const body = parse<Record<string, unknown>>(result);
    assert.equal(body.digit, digit.label);
    const probabilities = body.probabilities as number[];
    assert.equal(probabilities.length, 10);
    assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.equal(body.confidence, Math.max(...probabilities));
    assert.equal(body.filename, 'seven.png');
    assert.match(String(body.id), /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(String(body.createdAt))));
    assert.equal(typeof body.modelVersion, 'string');
    const preview = String(body.inputPreview);
    assert.match(preview, /^data:image\/png;base64,/);
    const meta = await sharp(Buffer.from(preview.split(',')[1] as string, 'base64')).metadata();
    // The serving model's input: the learned reader's 32 x 128 letterbox, or the pipeline's 28x28 digit.
    const input = String(body.modelVersion).startsWith('reader-') ? [128, 32] : [28, 28];
    assert.deepEqual([meta.width, meta.height], input);
  });

  it('accepts any field name and JPEG, as curl -F file=@... and -F photo=@... send them', async () => {
    for (const field of ['file', 'photo']) {
      const digit = await redrawnDigit(1, 3);
      const result = await predict(predictEvent([{ field, filename: 'digit.jpg', contentType: 'image/jpeg', content: digit.bytes }]));
      assert.equal(result.statusCode, 200, result.body);
      assert.equal(parse<{ digit: number }>(result).digit, digit.label);
    }
  });

  it('accepts a raw image/* body', async () => {
    const digit = await plainDigit(2);
    const result = await predict(
      httpEvent({ method: 'POST', path: '/predict', headers: { 'content-type': 'image/png' }, body: digit.bytes }),
    );
    assert.equal(result.statusCode, 200, result.body);
    assert.equal(parse<{ digit: number }>(result).digit, digit.label);
  });

  it('stores the sanitised file name, never a path', async () => {
    const digit = await plainDigit(3);
    for (const [sent, stored] of [
      ['../../etc/passwd.png', 'passwd.png'],
      ['C:\\Users\\me\\three.png', 'three.png'],
      ['..', 'upload'],
    ] as const) {
      const result = await predict(predictEvent([{ filename: sent, contentType: 'image/png', content: digit.bytes }]));
      assert.equal(parse<{ filename: string }>(result).filename, stored);
    }
  });

  it('stores exactly one record per answer, and the history shows it first', async () => {
    const before = await storedCount();
    const digit = await plainDigit(4);
    const answer = parse<{ id: string }>(await predict(predictEvent([{ filename: 'four.png', content: digit.bytes }])));
    assert.equal(await storedCount(), before + 1);
    const page = parse<{ items: Array<{ id: string; clientIp: string; imageSha256: string }> }>(
      await history(httpEvent({ path: '/history', query: { limit: '1' } })),
    );
    assert.equal(page.items[0]?.id, answer.id);
    assert.equal(page.items[0]?.clientIp, '127.0.0.0', 'the /24 of 127.0.0.1: CLIENT_IP_STORAGE is truncated by default');
    assert.match(page.items[0]?.imageSha256 ?? '', /^[0-9a-f]{64}$/);
  });

  describe('refuses bad input with a JSON error and stores nothing', () => {
    it('no body at all: 400', () => expectRefused(httpEvent({ method: 'POST', path: '/predict' }), 400, 'no_file'));
    it('a form with no file: 400', () => expectRefused(predictEvent([{ field: 'note', content: 'hello' }]), 400, 'no_file'));
    it('several files: 400', async () => {
      const a = await plainDigit(0);
      await expectRefused(
        predictEvent([
          { filename: 'a.png', content: a.bytes },
          { field: 'other', filename: 'b.png', content: a.bytes },
        ]),
        400,
        'too_many_files',
      );
    });
    it('an empty file: 400', () =>
      expectRefused(predictEvent([{ filename: 'empty.png', contentType: 'image/png', content: Buffer.alloc(0) }]), 400, 'empty_file'));
    it('a text file: 415', () =>
      expectRefused(predictEvent([{ filename: 'notes.txt', contentType: 'text/plain', content: 'just text, no picture' }]), 415));
    it('a text file that claims to be a PNG: 415', () =>
      expectRefused(predictEvent([{ filename: 'x.png', contentType: 'image/png', content: 'just text, no picture' }]), 415));
    it('a PNG that claims to be a JPEG: 415', async () => {
      const digit = await plainDigit(0);
      await expectRefused(predictEvent([{ filename: 'x.jpg', contentType: 'image/jpeg', content: digit.bytes }]), 415);
    });
    it('a truncated JPEG: 415 or 422', async () => {
      const digit = await redrawnDigit(5, 1);
      await expectRefused(
        predictEvent([
          { filename: 'cut.jpg', contentType: 'image/jpeg', content: digit.bytes.subarray(0, Math.floor(digit.bytes.length / 2)) },
        ]),
        [415, 422],
      );
    });
    it('a corrupt PNG (bytes overwritten): 415 or 422', async () => {
      const digit = await plainDigit(6);
      const corrupt = Buffer.from(digit.bytes);
      corrupt.fill(0x5a, 40, corrupt.length - 20);
      await expectRefused(predictEvent([{ filename: 'bad.png', contentType: 'image/png', content: corrupt }]), [415, 422]);
    });
    it('a file over 4.5 MB: 413', () =>
      expectRefused(predictEvent([{ filename: 'big.png', contentType: 'image/png', content: Buffer.alloc(4_800_000, 1) }]), 413));
    it('a raw body over 4.5 MB: 413', () =>
      expectRefused(
        httpEvent({ method: 'POST', path: '/predict', headers: { 'content-type': 'image/png' }, body: Buffer.alloc(4_800_000, 1) }),
        413,
      ));
    it('more than 25 megapixels, refused from the header: 413 or 422', async () => {
      const huge = await sharp({ create: { width: 6000, height: 5000, channels: 3, background: '#ffffff' } })
        .png({ compressionLevel: 9 })
        .toBuffer();
      await expectRefused(predictEvent([{ filename: 'huge.png', contentType: 'image/png', content: huge }]), [413, 422]);
    });
    it('a picture with no ink: 422', async () => {
      const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#f4f1ea' } })
        .png()
        .toBuffer();
      await expectRefused(predictEvent([{ filename: 'blank.png', contentType: 'image/png', content: blank }]), 422, 'no_digit');
    });
    it('a multipart body cut short: 400', async () => {
      const digit = await plainDigit(0);
      const event = predictEvent([{ filename: 'a.png', content: digit.bytes }]);
      const bytes = Buffer.from(event.body ?? '', 'base64');
      event.body = bytes.subarray(0, bytes.length - 60).toString('base64');
      await expectRefused(event, 400, 'malformed_multipart');
    });
    it('a multipart Content-Type with no boundary: 400', () =>
      expectRefused(
        httpEvent({
          method: 'POST',
          path: '/predict',
          headers: { 'content-type': 'multipart/form-data' },
          body: Buffer.from('--x\r\n\r\n'),
        }),
        400,
        'malformed_multipart',
      ));
    it('a JSON body: 415', () =>
      expectRefused(
        httpEvent({
          method: 'POST',
          path: '/predict',
          headers: { 'content-type': 'application/json' },
          body: '{"image":"x"}',
          base64: false,
        }),
        415,
      ));
  });
});

describe('GET /history', () => {
  it('answers newest first with a cursor to the next page, and filters by digit', async () => {
    const first = parse<{ items: Array<{ id: string; createdAt: string }>; nextCursor: string | null }>(
      await history(httpEvent({ path: '/history', query: { limit: '2' } })),
    );
    assert.equal(first.items.length, 2);
    assert.ok((first.items[0]?.createdAt ?? '') >= (first.items[1]?.createdAt ?? ''));
    assert.ok(first.nextCursor);
    const second = parse<{ items: Array<{ id: string }> }>(
      await history(httpEvent({ path: '/history', query: { limit: '2', cursor: first.nextCursor } })),
    );
    assert.ok(second.items.every((item) => !first.items.some((seen) => seen.id === item.id)));
    const sevens = parse<{ items: Array<{ digit: number }> }>(await history(httpEvent({ path: '/history', query: { digit: '7' } })));
    assert.ok(sevens.items.length > 0);
    assert.ok(sevens.items.every((item) => item.digit === 7));
  });

  it('defaults to 20 items', async () => {
    const digit = await plainDigit(0);
    while ((await storedCount()) < 25) await predict(predictEvent([{ filename: 'x.png', content: digit.bytes }]));
    const page = parse<{ items: unknown[] }>(await history(httpEvent({ path: '/history' })));
    assert.equal(page.items.length, 20);
  });

  for (const [query, code] of [
    [{ limit: '0' }, 'invalid_limit'],
    [{ limit: '101' }, 'invalid_limit'],
    [{ limit: 'ten' }, 'invalid_limit'],
    [{ limit: '2.5' }, 'invalid_limit'],
    [{ digit: '10' }, 'invalid_digit'],
    [{ digit: '-1' }, 'invalid_digit'],
    [{ digit: 'seven' }, 'invalid_digit'],
    [{ cursor: 'definitely-not-a-cursor' }, 'invalid_cursor'],
    [{ cursor: '' }, 'invalid_cursor'],
  ] as const) {
    it(`refuses ${JSON.stringify(query)} with 400 ${code}`, async () => {
      const result = await history(httpEvent({ path: '/history', query }));
      assert.equal(result.statusCode, 400);
      assert.equal(parse<ErrorBody>(result).error.code, code);
    });
  }
});

describe('a visitor and their predictions', () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('issues a token, adds the next prediction to it, reads and erases by id, and shows no client address', async () => {
    const digit = await plainDigit(5);
    const first = parse<{ id: string; visitorToken: string }>(await predict(predictEvent([{ filename: 'a.png', content: digit.bytes }])));
    assert.match(first.visitorToken, /^v1\./);
    const second = parse<{ id: string; visitorToken: string }>(
      await predict(predictEvent([{ filename: 'b.png', content: digit.bytes }], { headers: bearer(first.visitorToken) })),
    );
    assert.equal(second.visitorToken, first.visitorToken);
    const own = parse<{ items: Array<Record<string, unknown>> }>(
      await (await import('../../functions/history.js')).handler(httpEvent({ path: '/history', headers: bearer(first.visitorToken) })),
    );
    assert.deepEqual(
      own.items.map((item) => item.id),
      [second.id, first.id],
    );
    assert.ok(own.items.every((item) => !('clientIp' in item)));
    const byId = (method: string, token: string) =>
      prediction({ ...httpEvent({ method, path: `/predictions/${first.id}`, headers: bearer(token) }), pathParameters: { id: first.id } });
    assert.equal((await byId('GET', first.visitorToken)).statusCode, 200);
    assert.equal((await byId('DELETE', first.visitorToken)).statusCode, 204);
    assert.equal((await byId('GET', first.visitorToken)).statusCode, 404);
    assert.equal((await byId('DELETE', keys.operatorKey)).statusCode, 404);
  });
});

describe('GET /health', () => {
  it('names the model version, the backend and that the store answers', async () => {
    const result = await health(httpEvent({ path: '/health' }));
    assert.equal(result.statusCode, 200);
    const body = parse<{ status: string; modelVersion: string; backend: string; store: { ok: boolean } }>(result);
    assert.equal(body.status, 'ok');
    assert.ok(body.modelVersion.length > 0);
    assert.ok(['wasm', 'tensorflow'].includes(body.backend));
    assert.equal(body.store.ok, true);
  });
});

describe('unexpected failures', () => {
  it('become a generic 500 that hides the details, and the next request is served again', async () => {
    const { getStore } = await import('../../layers/runtime.js');
    const store = await getStore();
    const original = store.save.bind(store);
    store.save = async () => {
      throw new Error('disk on fire at /secret/path');
    };
    try {
      const digit = await plainDigit(0);
      const result = await predict(predictEvent([{ filename: 'x.png', content: digit.bytes }]));
      assert.equal(result.statusCode, 500);
      const body = parse<ErrorBody>(result);
      assert.equal(body.error.code, 'internal_error');
      assert.doesNotMatch(result.body ?? '', /disk on fire|secret/);
    } finally {
      store.save = original;
    }
    const digit = await plainDigit(0);
    assert.equal((await predict(predictEvent([{ filename: 'x.png', content: digit.bytes }]))).statusCode, 200);
  });
});
