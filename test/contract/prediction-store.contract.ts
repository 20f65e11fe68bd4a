/**
 * The PredictionStore contract: every store (embedded SQLite, Cassandra) must pass this suite unchanged.
 * Each test gets a fresh, empty store from `makeStore` and cleans it up afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../layers/errors';
import type { PredictionRecord, PredictionStore } from '../../layers/store/prediction-store';
import { makeRecord, makeTimeline, probabilitiesFor } from '../support/records';

export interface StoreUnderTest {
  store: PredictionStore;
  cleanup(): Promise<void>;
}

/** The order every store lists in: createdAt descending, then id descending. */
export function byNewest(a: PredictionRecord, b: PredictionRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Every record, following nextCursor page by page; each page checked to hold at most `limit` items. */
export async function readAll(
  store: PredictionStore,
  limit: number,
  digit?: number,
  maxPages = 1000,
): Promise<{ items: PredictionRecord[]; pages: number }> {
  const items: PredictionRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ limit, cursor, digit });
    assert.ok(page.items.length <= limit, `a page holds at most ${limit} items`);
    items.push(...page.items);
    pages += 1;
    cursor = page.nextCursor ?? undefined;
    assert.ok(pages < maxPages, 'paging terminates');
  } while (cursor);
  return { items, pages };
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`PredictionStore contract: ${name}`, () => {
    const withStore = (fn: (store: PredictionStore) => Promise<void>) => async () => {
      const { store, cleanup } = await makeStore();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    };

    it(
      'answers an empty first page with no cursor when nothing is stored',
      withStore(async (store) => {
        const page = await store.list({ limit: 20 });
        assert.deepEqual(page, { items: [], nextCursor: null });
      }),
    );

    it(
      'reads a record back exactly as it was written',
      withStore(async (store) => {
        const record = makeRecord({
          filename: 'Zahl-7 ✓ 数字 😀 <img src=x onerror=alert(1)>.png',
          probabilities: [1e-9, 0.000123456789, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.007811532900001],
          digit: 2,
          confidence: 0.5,
          imageKey: 'uploads/ab/abcdef.png',
          clientIp: '2001:db8::1',
        });
        await store.save(record);
        const page = await store.list({ limit: 5 });
        assert.deepEqual(page.items, [record]);
      }),
    );

    it(
      "reads a number back with each digit's result and box, and filters it by its top-level digit",
      withStore(async (store) => {
        const preview = 'data:image/png;base64,AAAA';
        const digits = [
          {
            digit: 4,
            confidence: 0.99,
            probabilities: probabilitiesFor(4, 0.99),
            box: { x: 79, y: 62, width: 91, height: 124 },
            inputPreview: preview,
          },
          {
            digit: 0,
            confidence: 0.62,
            probabilities: probabilitiesFor(0, 0.62),
            box: { x: 219, y: 72, width: 95, height: 112 },
            inputPreview: preview,
          },
          {
            digit: 7,
            confidence: 0.97,
            probabilities: probabilitiesFor(7, 0.97),
            box: { x: 355, y: 82, width: 105, height: 131 },
            inputPreview: preview,
          },
        ];
        const record = makeRecord({ digit: 0, confidence: 0.62, probabilities: probabilitiesFor(0, 0.62), number: '407', digits });
        await store.save(record);
        assert.deepEqual((await store.list({ limit: 5 })).items, [record]);
        assert.deepEqual((await store.list({ limit: 5, digit: 0 })).items, [record]);
        assert.deepEqual((await store.list({ limit: 5, digit: 4 })).items, []);
      }),
    );

    it(
      'lists newest first, ties broken by id, and pages through every record exactly once',
      withStore(async (store) => {
        const records = makeTimeline(23);
        const sameInstant = new Date(Date.now() - 3500).toISOString();
        records.push(makeRecord({ createdAt: sameInstant }), makeRecord({ createdAt: sameInstant }));
        for (const record of records) await store.save(record);

        const { items, pages } = await readAll(store, 7);
        assert.deepEqual(
          items.map((r) => r.id),
          [...records].sort(byNewest).map((r) => r.id),
        );
        assert.equal(pages, Math.ceil(records.length / 7));
      }),
    );

    it(
      'filters by digit, newest first, across pages',
      withStore(async (store) => {
        const records = makeTimeline(40);
        for (const record of records) await store.save(record);

        const { items } = await readAll(store, 3, 4);
        const expected = records.filter((r) => r.digit === 4).sort(byNewest);
        assert.deepEqual(
          items.map((r) => r.id),
          expected.map((r) => r.id),
        );
        assert.ok(items.every((r) => r.digit === 4));
      }),
    );

    it(
      'gives no cursor when the last page is exactly full',
      withStore(async (store) => {
        for (const record of makeTimeline(6)) await store.save(record);
        const first = await store.list({ limit: 3 });
        assert.ok(first.nextCursor);
        const second = await store.list({ limit: 3, cursor: first.nextCursor });
        assert.equal(second.items.length, 3);
        if (second.nextCursor !== null) {
          const third = await store.list({ limit: 3, cursor: second.nextCursor });
          assert.deepEqual(third.items, [], 'a cursor past the end yields nothing');
        }
      }),
    );

    it(
      'rejects a cursor it did not issue with a 400',
      withStore(async (store) => {
        for (const cursor of ['not a cursor!', Buffer.from('{"x":1}').toString('base64url'), 'AAAA']) {
          await assert.rejects(
            store.list({ limit: 5, cursor }),
            (error: unknown) => error instanceof HttpError && error.statusCode === 400,
          );
        }
      }),
    );

    it(
      'answers ping while it is up',
      withStore(async (store) => {
        assert.equal(await store.ping(), true);
      }),
    );
  });
}
