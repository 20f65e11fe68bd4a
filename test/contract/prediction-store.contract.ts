/**
 * The PredictionStore contract: every store (embedded SQLite, Cassandra) must pass this suite unchanged.
 * Each test gets a fresh, empty store from `makeStore` and cleans it up afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '#errors/errors';
import { aggregateStats } from '#stats/aggregate';
import { wilsonInterval } from '#stats/interval';
import type { ListQuery, PredictionRecord, PredictionStore, RecordLabel } from '#store/prediction-store';
import { makeRecord, makeTimeline, probabilitiesFor } from '../support/records';

export interface StoreUnderTest {
  store: PredictionStore;
  cleanup(): Promise<void>;
}

/** How a test wants its store: `retentionMs` as the store's RetentionOptions (0 or absent: keep forever). */
export interface StoreOptions {
  retentionMs?: number;
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
  visitorId?: string,
): Promise<{ items: PredictionRecord[]; pages: number }> {
  const items: PredictionRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ limit, cursor, digit, visitorId });
    assert.ok(page.items.length <= limit, `a page holds at most ${limit} items`);
    items.push(...page.items);
    pages += 1;
    cursor = page.nextCursor ?? undefined;
    assert.ok(pages < maxPages, 'paging terminates');
  } while (cursor);
  return { items, pages };
}

/** Every record a query lists, following nextCursor page by page (each page at most `query.limit` items). */
export async function readAllWith(store: PredictionStore, query: Omit<ListQuery, 'cursor'>): Promise<PredictionRecord[]> {
  const items: PredictionRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...query, cursor });
    assert.ok(page.items.length <= query.limit, `a page holds at most ${query.limit} items`);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    pages += 1;
    assert.ok(pages < 1000, 'paging terminates');
  } while (cursor);
  return items;
}

export function describeStoreContract(name: string, makeStore: (options?: StoreOptions) => Promise<StoreUnderTest>): void {
  describe(`PredictionStore contract: ${name}`, () => {
    const withStore = (fn: (store: PredictionStore) => Promise<void>, options?: StoreOptions) => async () => {
      const { store, cleanup } = await makeStore(options);
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
          visitorId: 'AAAAAAAAAAAAAAAAAAAAAA',
        });
        await store.save(record);
        const page = await store.list({ limit: 5 });
        assert.deepEqual(page.items, [record]);
        assert.deepEqual(await store.get(record.id), record);
        assert.deepEqual((await store.list({ limit: 5, visitorId: record.visitorId })).items, [record]);
        // A kept upload's key holds its content's SHA-256, as the service names uploads.
        const sha = 'f0'.repeat(32);
        const kept = makeRecord({
          imageSha256: sha,
          imageKey: `uploads/f0/${sha}.png`,
          createdAt: new Date(Date.now() + 1000).toISOString(),
        });
        await store.save(kept);
        assert.deepEqual(await store.get(kept.id), kept);
        assert.deepEqual((await store.list({ limit: 1 })).items, [kept]);
      }),
    );

    it(
      "reads a number back with each digit's result and box, and lists it under no digit filter",
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
        // ?digit=0 is "the answer was 0": 407 is not, though its least sure digit (its top-level one) is.
        for (const digit of [0, 4, 7]) assert.deepEqual((await store.list({ limit: 5, digit })).items, [], `digit ${digit}`);
      }),
    );

    it(
      'lists under a digit filter the predictions whose answer is that digit, not the numbers that hold it',
      withStore(async (store) => {
        const visitor = 'grace_ggggggggggggggggg';
        const at = (s: number): string => new Date(Date.now() - s * 1000).toISOString();
        const four = makeRecord({ digit: 4, visitorId: visitor, createdAt: at(1) });
        // Filed under its least sure digit 4, as every number's top-level digit is.
        const number = makeRecord({ digit: 4, number: '407', visitorId: visitor, createdAt: at(2) });
        const otherFour = makeRecord({ digit: 4, createdAt: at(3) });
        for (const record of [four, number, otherFour]) await store.save(record);
        assert.deepEqual(
          (await readAll(store, 1, 4)).items.map((r) => r.id),
          [four.id, otherFour.id],
          "everyone's 4s",
        );
        assert.deepEqual(
          (await readAll(store, 1, 4, 1000, visitor)).items.map((r) => r.id),
          [four.id],
          "grace's 4s",
        );
        assert.deepEqual(
          (await readAll(store, 2)).items.map((r) => r.id),
          [four.id, number.id, otherFour.id],
          'the number is still in the history',
        );
      }),
    );

    it(
      'refuses (400 invalid_cursor) a cursor issued to another visitor or for another filter',
      withStore(async (store) => {
        const [alice, bob] = ['alice_aaaaaaaaaaaaaaaaa', 'bob_bbbbbbbbbbbbbbbbbbb'];
        for (const record of makeTimeline(12)) await store.save({ ...record, visitorId: alice, digit: 3, number: '3' });
        const issued: Array<[Omit<ListQuery, 'limit' | 'cursor'>, Array<Omit<ListQuery, 'limit' | 'cursor'>>]> = [
          [{ visitorId: alice }, [{ visitorId: bob }, {}, { visitorId: alice, digit: 3 }, { visitorId: alice, labelled: false }]],
          [{ visitorId: alice, digit: 3 }, [{ visitorId: bob, digit: 3 }, { visitorId: alice, digit: 4 }, { visitorId: alice }]],
          [{ digit: 3 }, [{ digit: 4 }, {}, { visitorId: alice, digit: 3 }]],
          [{ labelled: false }, [{ labelled: true }, {}, { visitorId: alice, labelled: false }]],
          [{}, [{ visitorId: alice }, { digit: 3 }]],
        ];
        for (const [from, others] of issued) {
          const page = await store.list({ limit: 2, ...from });
          assert.ok(page.nextCursor, `a cursor for ${JSON.stringify(from)}`);
          // The reader and filters it was issued for still take it.
          assert.equal((await store.list({ limit: 2, ...from, cursor: page.nextCursor })).items.length, 2);
          for (const other of others) {
            await assert.rejects(
              store.list({ limit: 2, ...other, cursor: page.nextCursor }),
              (error: unknown) => error instanceof HttpError && error.statusCode === 400 && error.code === 'invalid_cursor',
              `${JSON.stringify(from)}'s cursor used for ${JSON.stringify(other)}`,
            );
          }
        }
      }),
    );

    it(
      "lists a visitor's own records only, newest first, with the digit filter and cursor paging, each once",
      withStore(async (store) => {
        const [alice, bob] = ['alice_aaaaaaaaaaaaaaaaa', 'bob_bbbbbbbbbbbbbbbbbbb'];
        const records = makeTimeline(30).map((record, i) => ({ ...record, visitorId: i % 3 === 0 ? bob : i % 3 === 1 ? alice : '' }));
        for (const record of records) await store.save(record);

        const own = (await readAll(store, 4, undefined, 1000, alice)).items;
        assert.deepEqual(
          own.map((r) => r.id),
          records
            .filter((r) => r.visitorId === alice)
            .sort(byNewest)
            .map((r) => r.id),
        );
        for (const digit of [1, 4]) {
          const filtered = (await readAll(store, 2, digit, 1000, alice)).items;
          assert.deepEqual(
            filtered.map((r) => r.id),
            records
              .filter((r) => r.visitorId === alice && r.digit === digit)
              .sort(byNewest)
              .map((r) => r.id),
            `alice's ${digit}s`,
          );
        }
        assert.deepEqual(await store.list({ limit: 5, visitorId: 'nobody_nnnnnnnnnnnnnnnn' }), { items: [], nextCursor: null });
        // Everyone's history still holds every record.
        assert.equal((await readAll(store, 50)).items.length, records.length);
      }),
    );

    it(
      "never continues another visitor's cursor into their records",
      withStore(async (store) => {
        const [alice, bob] = ['alice_aaaaaaaaaaaaaaaaa', 'bob_bbbbbbbbbbbbbbbbbbb'];
        for (const record of makeTimeline(6)) await store.save({ ...record, visitorId: bob });
        const bobs = await store.list({ limit: 2, visitorId: bob });
        assert.ok(bobs.nextCursor);
        const tried = await store.list({ limit: 2, visitorId: alice, cursor: bobs.nextCursor }).then(
          (page) => page.items,
          (error: unknown) => {
            assert.ok(error instanceof HttpError && error.statusCode === 400, String(error));
            return [];
          },
        );
        assert.deepEqual(tried, [], "alice's page holds none of bob's records");
      }),
    );

    it(
      'reads one record by id, and null for an id it does not hold',
      withStore(async (store) => {
        const [a, b] = [makeRecord({ digit: 3 }), makeRecord({ digit: 8 })];
        await store.save(a);
        await store.save(b);
        assert.deepEqual(await store.get(b.id), b);
        assert.equal(await store.get(makeRecord().id), null);
      }),
    );

    it(
      'deletes a record from every list and read, leaving the others; deleting it again does nothing',
      withStore(async (store) => {
        const visitor = 'carol_ccccccccccccccccc';
        const shared = 'uploads/aa/shared.png';
        const gone = makeRecord({ digit: 6, visitorId: visitor, imageKey: shared });
        const kept = makeRecord({ digit: 6, visitorId: visitor, imageKey: shared, createdAt: new Date(Date.now() - 1000).toISOString() });
        await store.save(gone);
        await store.save(kept);
        assert.equal(await store.imageReferenced(shared, gone.id), true, 'the other record points at it');

        await store.delete(gone);
        assert.equal(await store.get(gone.id), null);
        for (const query of [{}, { digit: 6 }, { visitorId: visitor }, { visitorId: visitor, digit: 6 }]) {
          const ids = (await store.list({ limit: 10, ...query })).items.map((r) => r.id);
          assert.deepEqual(ids, [kept.id], JSON.stringify(query));
        }
        assert.equal(await store.imageReferenced(shared, kept.id), false, 'no record but the excepted one points at it');
        assert.equal(await store.imageReferenced(shared), true);
        await store.delete(gone);
        await store.delete(kept);
        assert.equal(await store.imageReferenced(shared), false);
        assert.deepEqual(await store.list({ limit: 10 }), { items: [], nextCursor: null });
      }),
    );

    it(
      'keeps a label with its record: read back by id and in every list, a second label replacing the first',
      withStore(async (store) => {
        const visitor = 'erin_eeeeeeeeeeeeeeeeee';
        const record = makeRecord({ digit: 3, visitorId: visitor, imageKey: 'uploads/cc/label.png' });
        await store.save(record);
        const first: RecordLabel = { number: '8', by: 'visitor', at: new Date().toISOString() };
        await store.setLabel(record, first);
        assert.deepEqual(await store.get(record.id), { ...record, label: first });

        const stored = await store.get(record.id);
        assert.ok(stored);
        const second: RecordLabel = { number: '5', by: 'operator', at: new Date(Date.now() + 1000).toISOString() };
        await store.setLabel(stored, second);
        const labelled = { ...record, label: second };
        assert.deepEqual(await store.get(record.id), labelled);
        for (const query of [{}, { digit: 3 }, { visitorId: visitor }, { visitorId: visitor, digit: 3 }, { labelled: true }]) {
          assert.deepEqual((await store.list({ limit: 5, ...query })).items, [labelled], JSON.stringify(query));
        }
        assert.deepEqual((await store.list({ limit: 5, visitorId: visitor, labelled: true })).items, [labelled]);
        for (const query of [{ labelled: false }, { visitorId: visitor, labelled: false }]) {
          assert.deepEqual(await store.list({ limit: 5, ...query }), { items: [], nextCursor: null }, JSON.stringify(query));
        }
        assert.equal(await store.imageReferenced('uploads/cc/label.png'), true, 'a label leaves the image index as it was');
      }),
    );

    it(
      "filters on labelled and not, everyone's and one visitor's, newest first across pages, each record once",
      withStore(async (store) => {
        const [alice, bob] = ['alice_aaaaaaaaaaaaaaaaa', 'bob_bbbbbbbbbbbbbbbbbbb'];
        const records = makeTimeline(24).map((record, i) => ({ ...record, visitorId: i % 3 === 0 ? bob : i % 3 === 1 ? alice : '' }));
        for (const record of records) await store.save(record);
        const labels = new Map<string, RecordLabel>();
        for (const [i, record] of records.entries()) {
          if (i % 4 !== 1 && i % 5 !== 0) continue;
          const label: RecordLabel = {
            number: String((record.digit + 1) % 10),
            by: i % 2 === 0 ? 'operator' : 'visitor',
            at: record.createdAt,
          };
          await store.setLabel(record, label);
          labels.set(record.id, label);
        }
        const expected = records.map((record) => ({ ...record, label: labels.get(record.id) ?? null })).sort(byNewest);
        const ids = (list: PredictionRecord[]): string[] => list.map((r) => r.id);

        for (const labelled of [true, false]) {
          const everyone = await readAllWith(store, { limit: 3, labelled });
          assert.deepEqual(
            everyone,
            expected.filter((r) => (r.label !== null) === labelled),
            `everyone's, labelled=${labelled}`,
          );
          for (const visitor of [alice, bob]) {
            const own = await readAllWith(store, { limit: 2, labelled, visitorId: visitor });
            assert.deepEqual(
              ids(own),
              ids(expected.filter((r) => r.visitorId === visitor && (r.label !== null) === labelled)),
              `${visitor}'s, labelled=${labelled}`,
            );
          }
        }
        assert.ok(labels.size >= 6 && labels.size <= records.length - 6, 'both sides hold several pages');
      }),
    );

    it(
      'refuses the digit and labelled filters together with a 400',
      withStore(async (store) => {
        await store.save(makeRecord({ digit: 1 }));
        for (const query of [
          { digit: 1, labelled: true },
          { digit: 1, labelled: false, visitorId: 'alice_aaaaaaaaaaaaaaaaa' },
        ]) {
          await assert.rejects(
            store.list({ limit: 5, ...query }),
            (error: unknown) => error instanceof HttpError && error.statusCode === 400,
            JSON.stringify(query),
          );
        }
      }),
    );

    it(
      'deletes a labelled record from the labelled lists too',
      withStore(async (store) => {
        const visitor = 'frank_fffffffffffffffff';
        const [gone, kept] = [
          makeRecord({ visitorId: visitor }),
          makeRecord({ visitorId: visitor, createdAt: new Date(Date.now() - 1000).toISOString() }),
        ];
        for (const record of [gone, kept]) await store.save(record);
        const label: RecordLabel = { number: '1', by: 'visitor', at: new Date().toISOString() };
        await store.setLabel(gone, label);
        await store.setLabel(kept, label);
        const labelledGone = await store.get(gone.id);
        assert.ok(labelledGone);
        await store.delete(labelledGone);
        // Deleted as read before its label too (a label given between the read and the delete).
        await store.delete(gone);
        assert.equal(await store.get(gone.id), null);
        for (const query of [{ labelled: true }, { visitorId: visitor, labelled: true }]) {
          assert.deepEqual(
            (await store.list({ limit: 10, ...query })).items.map((r) => r.id),
            [kept.id],
            JSON.stringify(query),
          );
        }
      }),
    );

    it(
      'counts predictions, refusals and labels in the statistics, a replaced label taken back, and keeps them after a delete',
      withStore(async (store) => {
        const at = (day: string, second: number): string => `${day}T10:00:0${second}.000Z`;
        const [d1, d2] = ['2026-01-10', '2026-01-11'];
        const r1 = makeRecord({
          createdAt: at(d1, 1),
          modelVersion: 'm1',
          digit: 7,
          confidence: 0.95,
          visitorId: 'gina_ggggggggggggggggggg',
        });
        const r2 = makeRecord({ createdAt: at(d1, 2), modelVersion: 'm1', digit: 1, confidence: 0.55 });
        const r3 = makeRecord({ createdAt: at(d2, 1), modelVersion: 'm2', digit: 0, confidence: 0.62, number: '407' });
        const r4 = makeRecord({ createdAt: at(d2, 2), modelVersion: 'm2', digit: 3, confidence: 1 });
        await store.save(r1);
        await store.save(r2, { uncertain: true });
        await store.save(r3, { uncertain: false });
        await store.save(r4);
        const label = (number: string): RecordLabel => ({ number, by: 'visitor', at: new Date().toISOString() });
        await store.setLabel(r1, label('7'));
        await store.setLabel(r2, label('7'));
        const r2Labelled = await store.get(r2.id);
        assert.ok(r2Labelled);
        await store.setLabel(r2Labelled, label('1'));
        await store.setLabel(r3, label('417'));
        await store.setLabel(r4, label('38'));
        await store.countRefusal({ code: 'no_digit', modelVersion: 'm1', at: at(d1, 3) });
        await store.countRefusal({ code: 'no_digit', modelVersion: 'm1', at: at(d1, 4) });
        await store.countRefusal({ code: 'file_too_large', modelVersion: 'm2', at: at(d2, 3) });
        await store.countShadow({ outcome: 'agree', shadowVersion: 'reader-1', at: at(d1, 1) });
        await store.countShadow({ outcome: 'agree', shadowVersion: 'reader-1', at: at(d2, 1) });
        await store.countShadow({ outcome: 'serving_refused', shadowVersion: 'reader-1', at: at(d2, 3) });
        const labelledR1 = await store.get(r1.id);
        assert.ok(labelledR1);
        await store.delete(labelledR1);

        const stats = aggregateStats(await store.readStats([d1, d2, '2026-01-12']), d1, '2026-01-12');
        const confusion = Array.from({ length: 10 }, () => Array<number>(10).fill(0));
        for (const [label, read, n] of [
          [7, 7, 2],
          [1, 1, 1],
          [4, 4, 1],
          [1, 0, 1],
        ] as const) {
          (confusion[label] as number[])[read] = n;
        }
        const { meanConfidence, ...total } = stats.total;
        assert.deepEqual(total, {
          predictions: 4,
          refusals: { file_too_large: 1, no_digit: 2 },
          uncertainShare: 0.25,
          digits: [1, 1, 0, 1, 0, 0, 0, 1, 0, 0],
          confidenceHistogram: [0, 0, 0, 0, 0, 1, 1, 0, 0, 2],
          labelled: 4,
          correct: 2,
          accuracy: wilsonInterval(2, 4),
          shadow: { agree: 2, disagree: 0, shadowRefused: 0, servingRefused: 1, bothRefused: 0 },
          confusion,
        });
        assert.ok(Math.abs((meanConfidence ?? 0) - 0.78) < 1e-9, String(meanConfidence));
        assert.deepEqual(
          stats.days.map((d) => [d.day, d.modelVersion, d.predictions, d.labelled, d.correct, d.refusals]),
          [
            [d1, 'm1', 2, 2, 2, { no_digit: 2 }],
            [d1, 'reader-1', 0, 0, 0, {}],
            [d2, 'm2', 2, 2, 0, { file_too_large: 1 }],
            [d2, 'reader-1', 0, 0, 0, {}],
          ],
        );
        assert.deepEqual(
          stats.models.map((m) => [m.modelVersion, m.predictions, m.uncertainShare, m.accuracy?.estimate]),
          [
            ['m1', 2, 0.5, 1],
            ['m2', 2, 0, 0],
            ['reader-1', 0, null, undefined],
          ],
        );
        assert.deepEqual(
          stats.models.find((m) => m.modelVersion === 'reader-1')?.shadow,
          { agree: 2, disagree: 0, shadowRefused: 0, servingRefused: 1, bothRefused: 0 },
          'a shadow reader is counted under its own version',
        );
        assert.deepEqual(await store.readStats(['2026-01-12']), [], 'a day without counts has no cells');
      }),
    );

    it(
      'lets a record expire at the end of the retention: never listed or read after it',
      withStore(
        async (store) => {
          const visitor = 'dave_ddddddddddddddddd';
          // 2 s of life left; one record well within the retention beside it.
          const expiring = makeRecord({
            visitorId: visitor,
            imageKey: 'uploads/bb/x.png',
            createdAt: new Date(Date.now() - 58_000).toISOString(),
          });
          const fresh = makeRecord({ visitorId: visitor });
          await store.save(expiring);
          await store.save(fresh);
          // A label rewrites the rows: they must keep the record's remaining life, not start a new one.
          await store.setLabel(expiring, { number: '4', by: 'visitor', at: new Date().toISOString() });
          assert.deepEqual(
            (await store.list({ limit: 10, visitorId: visitor })).items.map((r) => r.id),
            [fresh.id, expiring.id],
          );
          await new Promise((resolve) => setTimeout(resolve, 3500));
          for (const query of [{ labelled: true }, { visitorId: visitor, labelled: true }]) {
            assert.deepEqual(await store.list({ limit: 10, ...query }), { items: [], nextCursor: null }, JSON.stringify(query));
          }
          assert.equal(await store.get(expiring.id), null);
          assert.equal(await store.imageReferenced('uploads/bb/x.png'), false);
          for (const query of [
            {},
            { visitorId: visitor },
            { digit: expiring.digit },
            { labelled: false },
            { visitorId: visitor, labelled: false },
          ]) {
            assert.deepEqual(
              (await store.list({ limit: 10, ...query })).items.map((r) => r.id),
              [fresh.id],
              JSON.stringify(query),
            );
          }
        },
        { retentionMs: 60_000 },
      ),
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
