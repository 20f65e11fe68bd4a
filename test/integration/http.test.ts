/**
 * The service over real HTTP: serverless-offline started as `npm start` starts it, requests sent with fetch.
 * Runs against the embedded SQLite store, and against Cassandra when CASSANDRA_CONTACT_POINTS names a node
 * (the test suite's runner starts one), each in a store of its own. Every answer is read through the API
 * contract's schemas, so an answer that breaks the contract fails here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, ErrorBody, HealthAnswer, type HistoryItem, HistoryPage, PredictionAnswer } from '#contract';
import { linedPaperDigit, numberPicture, plainDigit, redrawnDigit } from '../../model/training/digit-images';
import { ROOT } from '../../tools/root';
import { type OfflineService, operatorAuth, startOffline } from '../../tools/service';

async function upload(base: string, bytes: Buffer, filename: string, field = 'image', type = 'image/png'): Promise<Response> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)], { type }), filename);
  return fetch(`${base}/predict`, { method: 'POST', body: form });
}

async function allHistory(base: string): Promise<HistoryItem[]> {
  const items: HistoryItem[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `limit=100&cursor=${encodeURIComponent(cursor)}` : 'limit=100';
    const response = await fetch(`${base}/history?${query}`, { headers: operatorAuth(base) });
    assert.equal(response.status, 200);
    const page = HistoryPage.parse(await response.json());
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

const stores: Array<{ name: string; env: () => Record<string, string> }> = [
  {
    name: 'embedded SQLite',
    env: () => ({ PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'digit-http-')), 'p.sqlite') }),
  },
];
if (process.env.CASSANDRA_CONTACT_POINTS) {
  stores.push({
    name: 'Cassandra',
    env: () => ({ PREDICTION_STORE: 'cassandra', CASSANDRA_KEYSPACE: `http_${randomBytes(6).toString('hex')}` }),
  });
}

for (const store of stores) {
  describe(`the service over HTTP (${store.name})`, () => {
    let service: OfflineService;
    let base: string;
    let env: Record<string, string>;

    before(async () => {
      env = store.env();
      service = await startOffline({ env: { ...env, LOG_LEVEL: 'warn' }, startTimeoutMs: 120_000 });
      base = service.url;
    });

    after(async () => {
      await service?.stop();
      if (env.SQLITE_PATH) rmSync(join(env.SQLITE_PATH, '..'), { recursive: true, force: true });
    });

    it('reports its model, backend and store on /health', async () => {
      const response = await fetch(`${base}/health`);
      assert.equal(response.status, 200);
      const body = HealthAnswer.parse(await response.json());
      assert.equal(body.store.ok, true);
      assert.equal(body.store.kind, env.PREDICTION_STORE);
    });

    it('predicts uploads sent as curl -F sends them, under any field name, and raw image bodies', async () => {
      for (const [field, index] of [
        ['image', 0],
        ['file', 1],
        ['photo', 2],
      ] as const) {
        const digit = await redrawnDigit(index, 11);
        const response = await upload(base, digit.bytes, `digit-${field}.jpg`, field, 'image/jpeg');
        assert.equal(response.status, 200, await response.clone().text());
        const answer = PredictionAnswer.parse(await response.json());
        assert.equal(answer.digit, digit.label);
        assert.equal(answer.filename, `digit-${field}.jpg`);
      }
      const raw = await plainDigit(3);
      const response = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: new Uint8Array(raw.bytes),
      });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(PredictionAnswer.parse(await response.json()).digit, raw.label);
    });

    it('refuses bad input with JSON errors, stores nothing, and keeps serving', async () => {
      const before = (await allHistory(base)).length;
      const cases: Array<[string, () => Promise<Response>, number]> = [
        ['no file', () => fetch(`${base}/predict`, { method: 'POST' }), 400],
        ['text file', () => upload(base, Buffer.from('hello'), 'a.txt', 'image', 'text/plain'), 415],
        ['too large', () => upload(base, randomBytes(4_800_000), 'big.png'), 413],
        [
          'cut multipart',
          () =>
            fetch(`${base}/predict`, {
              method: 'POST',
              headers: { 'content-type': 'multipart/form-data; boundary=zz' },
              body: '--zz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc',
            }),
          400,
        ],
        ['bad limit', () => fetch(`${base}/history?limit=500`, { headers: operatorAuth(base) }), 400],
      ];
      for (const [name, send, status] of cases) {
        const response = await send();
        assert.equal(response.status, status, name);
        assert.match(response.headers.get('content-type') ?? '', /application\/json/, name);
        const body = ErrorBody.parse(await response.json());
        assert.equal(ERROR_CODES[body.error.code].status, status, `${name}: ${body.error.code} has the status the contract gives it`);
        assert.match(body.error.message, /^[A-Z].*\.$/, `${name}: one sentence, ending with a full stop`);
      }
      assert.equal((await allHistory(base)).length, before);
      assert.equal((await fetch(`${base}/health`)).status, 200);
    });

    it('lists every successful prediction exactly once in /history, newest first', async () => {
      const before = new Set((await allHistory(base)).map((item) => item.id));
      const digits = await Promise.all(Array.from({ length: 30 }, (_, i) => plainDigit(100 + i)));
      const answered: string[] = [];
      // Eight at a time, with a refused upload in every batch.
      for (let start = 0; start < digits.length; start += 8) {
        const batch = digits.slice(start, start + 8);
        const responses = await Promise.all([
          ...batch.map((digit, i) => upload(base, digit.bytes, `batch-${start + i}.png`)),
          upload(base, Buffer.from('not an image'), 'nope.png'),
        ]);
        for (const response of responses) {
          if (response.status === 200) answered.push(PredictionAnswer.parse(await response.json()).id);
          else await response.arrayBuffer();
        }
      }
      assert.equal(answered.length, digits.length);
      const history = await allHistory(base);
      const fresh = history.filter((item) => !before.has(item.id)).map((item) => item.id);
      assert.deepEqual([...fresh].sort(), [...answered].sort(), 'each answered id appears once, and nothing else was added');
      const times = history.map((item) => item.createdAt);
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    });

    it('reads every digit of a number, boxes each in the picture, and lists the number in /history', async () => {
      const photo = readFileSync(join(ROOT, 'examples', 'number-407.jpg'));
      const canvas = await numberPicture([4, 2, 1, 3], 'canvas', 5);
      const ruled = await linedPaperDigit(3, 'squared', 2);
      const cases = [
        { bytes: photo, type: 'image/jpeg', number: '407', width: 560, height: 280 },
        { bytes: canvas.bytes, type: canvas.mediaType, number: canvas.label, width: canvas.width, height: canvas.height },
        { bytes: ruled.bytes, type: ruled.mediaType, number: ruled.label, width: ruled.width, height: ruled.height },
      ];
      const ids: string[] = [];
      for (const [i, c] of cases.entries()) {
        const response = await upload(base, c.bytes, `number-${i}`, 'image', c.type);
        assert.equal(response.status, 200, await response.clone().text());
        const answer = PredictionAnswer.parse(await response.json());
        assert.equal(answer.number, c.number);
        assert.deepEqual(
          answer.digits.map((d) => d.digit),
          [...c.number].map(Number),
        );
        // The top level is the least confident digit's.
        const weakest = Math.min(...answer.digits.map((d) => d.confidence));
        assert.equal(answer.confidence, weakest);
        assert.equal(answer.digit, answer.digits.find((d) => d.confidence === weakest)?.digit);
        let right = -1;
        for (const { box } of answer.digits) {
          assert.ok(box.x > right && box.x + box.width <= c.width && box.y + box.height <= c.height, JSON.stringify(box));
          right = box.x + box.width - 1;
        }
        ids.push(answer.id);
      }
      const history = await allHistory(base);
      for (const [i, id] of ids.entries()) {
        const item = history.find((h) => h.id === id);
        assert.equal(item?.number, cases[i]?.number);
        assert.equal(item?.digits.length, cases[i]?.number.length);
      }
      // ?digit= lists the predictions whose answer is that digit: a number is under none, not even its top-level digit.
      const first = history.find((h) => h.id === ids[0]) as HistoryItem;
      const filtered = HistoryPage.parse(
        await (await fetch(`${base}/history?limit=100&digit=${first.digit}`, { headers: operatorAuth(base) })).json(),
      );
      const numbers = ids.filter((_, i) => (cases[i]?.number.length ?? 0) > 1);
      assert.ok(numbers.includes(first.id));
      assert.ok(!filtered.items.some((h) => numbers.includes(h.id)));
      assert.ok(filtered.items.every((h) => h.digit === first.digit && h.number === String(first.digit)));
    });

    it('serves its OpenAPI document on /openapi.json, naming every route it serves', async () => {
      const response = await fetch(`${base}/openapi.json`);
      assert.equal(response.status, 200);
      const document = (await response.json()) as { openapi: string; paths: Record<string, object> };
      assert.match(document.openapi, /^3\./);
      assert.deepEqual(Object.keys(document.paths).sort(), [
        '/health',
        '/history',
        '/openapi.json',
        '/predict',
        '/predictions/{id}',
        '/predictions/{id}/label',
        '/stats',
      ]);
    });
  });
}
