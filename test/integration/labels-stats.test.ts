/**
 * Labels and statistics over real HTTP (serverless-offline as `npm start` runs it), on the embedded SQLite store
 * and, when CASSANDRA_CONTACT_POINTS names a node, on Cassandra, each in a store of its own: who may label what,
 * bad label bodies, a replaced label, the labelled filter, and GET /stats checked figure by figure against the
 * predictions, refusals and labels this test made (a store of its own, so nothing else is counted).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ERROR_CODES, ErrorBody, HistoryItem, HistoryPage, PredictionReceipt, StatsAnswer } from '#contract';
import { wilsonInterval } from '#stats/interval';
import { plainDigit } from '../../model/training/digit-images';
import { hostilePicture } from '../../model/training/non-digit-images';
import { type OfflineService, startOffline } from '../../tools/service';

const stores: Array<{ name: string; env: () => Record<string, string> }> = [
  {
    name: 'embedded SQLite',
    env: () => ({ PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'digit-labels-')), 'p.sqlite') }),
  },
];
if (process.env.CASSANDRA_CONTACT_POINTS) {
  stores.push({
    name: 'Cassandra',
    env: () => ({ PREDICTION_STORE: 'cassandra', CASSANDRA_KEYSPACE: `labels_${randomBytes(6).toString('hex')}` }),
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function refusal(response: Response): Promise<ErrorBody['error']> {
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = ErrorBody.parse(await response.json());
  assert.equal(ERROR_CODES[body.error.code].status, response.status);
  return body.error;
}

for (const store of stores) {
  describe(`labels and statistics over HTTP (${store.name})`, () => {
    let service: OfflineService;
    let base: string;
    let env: Record<string, string>;
    let operator: Record<string, string>;
    let alice: { token: string; seven: PredictionReceipt; other: PredictionReceipt };
    let bob: { token: string; one: PredictionReceipt };

    async function predict(bytes: Buffer, filename: string, token?: string, type = 'image/png'): Promise<Response> {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(bytes)], { type }), filename);
      return fetch(`${base}/predict`, { method: 'POST', body: form, headers: token ? bearer(token) : {} });
    }

    async function predicted(bytes: Buffer, filename: string, token?: string): Promise<PredictionReceipt> {
      const response = await predict(bytes, filename, token);
      assert.equal(response.status, 200, await response.clone().text());
      return PredictionReceipt.parse(await response.json());
    }

    function label(id: string, body: string, headers: Record<string, string>): Promise<Response> {
      return fetch(`${base}/predictions/${id}/label`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    }

    async function item(id: string, headers: Record<string, string>): Promise<HistoryItem> {
      const response = await fetch(`${base}/predictions/${id}`, { headers });
      assert.equal(response.status, 200);
      return HistoryItem.parse(await response.json());
    }

    async function history(query: string, headers: Record<string, string>): Promise<HistoryItem[]> {
      const response = await fetch(`${base}/history?${query}`, { headers });
      assert.equal(response.status, 200, await response.clone().text());
      return HistoryPage.parse(await response.json()).items;
    }

    async function stats(query = ''): Promise<StatsAnswer> {
      const response = await fetch(`${base}/stats${query}`, { headers: operator });
      assert.equal(response.status, 200, await response.clone().text());
      return StatsAnswer.parse(await response.json());
    }

    before(async () => {
      env = store.env();
      service = await startOffline({ env: { ...env, LOG_LEVEL: 'warn' }, startTimeoutMs: 120_000 });
      base = service.url;
      operator = bearer(service.operatorKey as string);
      const seven = await predicted((await plainDigit(0)).bytes, 'alice-a.png');
      const other = await predicted((await plainDigit(1)).bytes, 'alice-b.png', seven.visitorToken);
      alice = { token: seven.visitorToken, seven, other };
      const one = await predicted((await plainDigit(2)).bytes, 'bob.png');
      bob = { token: one.visitorToken, one };
    });

    after(async () => {
      await service?.stop();
      if (env.SQLITE_PATH) rmSync(join(env.SQLITE_PATH, '..'), { recursive: true, force: true });
    });

    it("lets the owner label a prediction, shows the label with it, and answers anyone else's attempt as a missing id", async () => {
      const before = Date.now();
      const response = await label(alice.seven.id, JSON.stringify({ digit: alice.seven.digit }), bearer(alice.token));
      assert.equal(response.status, 200, await response.clone().text());
      const labelled = HistoryItem.parse(await response.json());
      assert.equal(labelled.label?.number, String(alice.seven.digit));
      assert.equal(labelled.label?.by, 'visitor');
      assert.ok(Date.parse(labelled.label?.at ?? '') >= before - 1000);
      assert.deepEqual((await item(alice.seven.id, bearer(alice.token))).label, labelled.label);
      assert.equal((await item(bob.one.id, bearer(bob.token))).label, null, 'no label until one is given');

      for (const [id, headers] of [
        [alice.seven.id, bearer(bob.token)],
        [randomUUID(), bearer(alice.token)],
        ['not-an-id', operator],
      ] as const) {
        const refused = await label(id, '{"digit": 1}', headers);
        assert.equal(refused.status, 404, id);
        assert.equal((await refusal(refused)).code, 'prediction_not_found');
      }
      const anonymous = await label(alice.seven.id, '{"digit": 1}', {});
      assert.equal(anonymous.status, 401);
      assert.equal((await refusal(anonymous)).code, 'unauthorized');
      assert.deepEqual((await item(alice.seven.id, operator)).label, labelled.label, "bob's attempt changed nothing");
    });

    it('refuses a body that is not a label with a 400 and changes nothing', async () => {
      const kept = (await item(alice.seven.id, bearer(alice.token))).label;
      for (const body of [
        '{"digit": 10}',
        '{"digit": -1}',
        '{"digit": 2.5}',
        '{"digit": "7"}',
        '{"number": 407}',
        '{"number": "4a7"}',
        '{"number": ""}',
        '{"number": "1234567890123"}',
        '{"digit": 1, "number": "1"}',
        '{"digit": 1, "by": "operator"}',
        '{}',
        '[]',
        'null',
        'seven',
        '',
      ]) {
        const response = await label(alice.seven.id, body, bearer(alice.token));
        assert.equal(response.status, 400, body);
        assert.equal((await refusal(response)).code, 'invalid_label', body);
      }
      assert.deepEqual((await item(alice.seven.id, bearer(alice.token))).label, kept);
    });

    it('replaces a label with a second one, the operator included, and takes a number of several digits', async () => {
      const wrong = (alice.other.digit + 1) % 10;
      const first = await label(alice.other.id, JSON.stringify({ digit: wrong }), bearer(alice.token));
      assert.equal(first.status, 200);
      const second = await label(alice.other.id, JSON.stringify({ number: alice.other.number }), operator);
      assert.equal(second.status, 200);
      const now = await item(alice.other.id, bearer(alice.token));
      assert.equal(now.label?.number, alice.other.number);
      assert.equal(now.label?.by, 'operator');
      const long = await label(bob.one.id, '{"number": "407"}', bearer(bob.token));
      assert.equal(long.status, 200);
      assert.equal((await item(bob.one.id, operator)).label?.number, '407');
    });

    it('filters the history on labelled, for a visitor on their own and for the operator on everyone', async () => {
      const ids = (items: HistoryItem[]) => items.map((i) => i.id).sort();
      assert.deepEqual(ids(await history('labelled=true', bearer(alice.token))), [alice.seven.id, alice.other.id].sort());
      assert.deepEqual(await history('labelled=false', bearer(alice.token)), []);
      assert.deepEqual(ids(await history('labelled=true', operator)), [alice.seven.id, alice.other.id, bob.one.id].sort());
      const fresh = await predicted((await plainDigit(3)).bytes, 'bob-unlabelled.png', bob.token);
      assert.deepEqual(ids(await history('labelled=false', bearer(bob.token))), [fresh.id]);
      assert.deepEqual(ids(await history('labelled=false', operator)), [fresh.id]);
      for (const query of ['labelled=yes', 'labelled=', 'labelled=true&digit=7']) {
        const response = await fetch(`${base}/history?${query}`, { headers: operator });
        assert.equal(response.status, 400, query);
        assert.equal((await refusal(response)).code, 'invalid_labelled', query);
      }
    });

    it('counts every prediction, refused picture and label in /stats, exactly, and keeps them when a prediction is erased', async () => {
      // Four refused pictures: no ink, not a digit, not an image, too large.
      const blank = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
        .png()
        .toBuffer();
      for (const [bytes, type, status] of [
        [blank, 'image/png', 422],
        [await hostilePicture('star'), 'image/png', 422],
        [Buffer.from('hello'), 'text/plain', 415],
        [randomBytes(4_800_000), 'image/png', 413],
      ] as const) {
        const response = await predict(bytes, 'refused', undefined, type);
        assert.equal(response.status, status, await response.clone().text());
        await response.arrayBuffer();
      }
      // Everything this test made: four predictions (the fourth unlabelled), three labels.
      const everything = await history('limit=100', operator);
      assert.equal(everything.length, 4);
      const labelled = everything.filter((i) => i.label !== null);
      const correct = labelled.filter((i) => i.label?.number === i.number).length;
      const today = new Date().toISOString().slice(0, 10);

      const answer = await stats();
      assert.equal(answer.to, today);
      const { total } = answer;
      assert.equal(total.predictions, 4);
      assert.deepEqual(total.refusals, { file_too_large: 1, no_digit: 1, not_a_digit: 1, unsupported_media_type: 1 });
      assert.equal(total.labelled, 3);
      assert.equal(total.correct, correct);
      assert.deepEqual(total.accuracy, wilsonInterval(correct, 3));
      assert.equal(total.uncertainShare, 0);
      const mean = everything.reduce((sum, i) => sum + i.confidence, 0) / 4;
      assert.ok(Math.abs((total.meanConfidence ?? 0) - mean) < 1e-5, `${total.meanConfidence} against ${mean}`);
      const digits = Array<number>(10).fill(0);
      for (const i of everything) digits[i.digit] = (digits[i.digit] ?? 0) + 1;
      assert.deepEqual(total.digits, digits);
      assert.equal(
        total.confidenceHistogram.reduce((a, b) => a + b, 0),
        4,
      );
      // Single digits labelled with one digit: one confusion cell each; bob's "407" on one digit read: none.
      const cells = total.confusion.flat().reduce((a, b) => a + b, 0);
      assert.equal(
        cells,
        labelled.filter((i) => i.label?.number.length === i.number.length).reduce((n, i) => n + i.number.length, 0),
      );
      assert.deepEqual(
        answer.days.map((d) => [d.day, d.predictions]),
        [[today, 4]],
      );
      assert.equal(answer.models.length, 1);
      assert.equal(answer.models[0]?.modelVersion, alice.seven.modelVersion);

      const erased = await fetch(`${base}/predictions/${alice.seven.id}`, { method: 'DELETE', headers: bearer(alice.token) });
      assert.equal(erased.status, 204);
      assert.deepEqual((await stats()).total, total, 'erasing a prediction keeps the anonymous aggregates');
    });

    it('opens /stats to the operator only, and refuses a bad or too long range', async () => {
      const anonymous = await fetch(`${base}/stats`);
      assert.equal(anonymous.status, 401);
      assert.equal((await refusal(anonymous)).code, 'unauthorized');
      const visitor = await fetch(`${base}/stats`, { headers: bearer(alice.token) });
      assert.equal(visitor.status, 403);
      assert.equal((await refusal(visitor)).code, 'operator_only');
      for (const [query, code] of [
        ['?from=2026-02-30', 'invalid_range'],
        ['?from=2025-01-01&to=2026-12-31', 'invalid_range'],
        ['?from=2026-12-02&to=2026-12-01', 'invalid_range'],
        ['?days=3', 'invalid_query'],
      ] as const) {
        const response = await fetch(`${base}/stats${query}`, { headers: operator });
        assert.equal(response.status, 400, query);
        assert.equal((await refusal(response)).code, code, query);
      }
      const past = await stats('?from=2020-01-01&to=2020-12-31');
      assert.deepEqual([past.days, past.total.predictions], [[], 0]);
    });
  });
}
