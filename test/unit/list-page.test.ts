/**
 * The Cassandra store's page assembly (layers/store/cassandra/list-page.ts) driven by partitions in memory: the
 * merge of several partitions newest first, the position a page continues after, filters, the walk over buckets,
 * and the read-side skip of a list row whose record is not there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinRecords, type ListedRow, mergePage, type PartitionSource } from '../../layers/store/cassandra/list-page';

interface Row {
  id: string;
  t: number;
  labelled?: boolean;
  number?: string;
}

/** A partition as the driver would page it: newest first, `fetchSize` rows a page, from created_at <= before.t. */
function partition(name: string, rows: Row[], before: { t: number } | null, fetches: string[]): PartitionSource {
  const sorted = rows.filter((r) => before === null || r.t <= before.t).sort((a, b) => (a.t !== b.t ? b.t - a.t : a.id < b.id ? 1 : -1));
  return {
    fetch: async (fetchSize, pageState) => {
      fetches.push(name);
      const from = pageState === undefined ? 0 : Number(pageState);
      const page = sorted.slice(from, from + fetchSize);
      const cells = (r: Row): Record<string, unknown> => ({
        id: r.id,
        created_at: new Date(r.t),
        number: r.number ?? null,
        digit: null,
        labelled: r.labelled ?? null,
        label: null,
      });
      return {
        rows: page.map((r) => ({ get: (column: string) => cells(r)[column] })),
        pageState: from + fetchSize < sorted.length ? String(from + fetchSize) : null,
      };
    },
    key: (row: ListedRow) => ({ table: name, key: { id: row.id } }),
  };
}

/** Buckets (newest first), each a set of named partitions. */
function source(buckets: Array<[number, Record<string, Row[]>]>, keep: (row: ListedRow) => boolean = () => true) {
  const fetches: string[] = [];
  const order = buckets.map(([b]) => b);
  return {
    fetches,
    page: (limit: number, start: { bucket: number; t: number; i: string } | null) =>
      mergePage({
        limit,
        start,
        newestBucket: async () => order[0] ?? null,
        olderBucket: async (bucket) => order[order.indexOf(bucket) + 1] ?? null,
        partitions: (bucket, before) =>
          Object.entries(buckets.find(([b]) => b === bucket)?.[1] ?? {}).map(([name, rows]) => partition(name, rows, before, fetches)),
        keep,
      }),
  };
}

async function readAll(s: ReturnType<typeof source>, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let start: { bucket: number; t: number; i: string } | null = null;
  do {
    const page = await s.page(limit, start);
    pages.push(page.rows.map((r) => r.id));
    start = page.next;
    assert.ok(pages.length < 100);
  } while (start !== null);
  return pages;
}

describe('mergePage', () => {
  it('merges partitions newest first, ties by id, and continues each page strictly after the last row listed', async () => {
    const s = source([
      [
        2,
        {
          a: [
            { id: 'a1', t: 900 },
            { id: 'a2', t: 700 },
            { id: 'x2', t: 500 },
          ],
          b: [
            { id: 'b1', t: 800 },
            { id: 'x1', t: 500 },
            { id: 'b3', t: 100 },
          ],
        },
      ],
      [1, { a: [{ id: 'old', t: 50 }], b: [] }],
    ]);
    assert.deepEqual(await readAll(s, 2), [['a1', 'b1'], ['a2', 'x2'], ['x1', 'b3'], ['old']]);
  });

  it('gives no position when the last page is exactly full', async () => {
    const s = source([[5, { a: [1, 2, 3, 4].map((t) => ({ id: `r${t}`, t })) }]]);
    assert.deepEqual(await readAll(s, 2), [
      ['r4', 'r3'],
      ['r2', 'r1'],
    ]);
  });

  it('keeps only the rows the filter keeps, reading on past the others', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, t: 1000 - i, labelled: i % 4 === 0 }));
    const s = source([[1, { a: rows }]], (row) => row.labelled);
    assert.deepEqual(await readAll(s, 2), [['r0', 'r4'], ['r8']]);
  });

  it('lists a record found in two partitions once, labelled if either row says so', async () => {
    const s = source([
      [
        1,
        {
          a: [{ id: 'n', t: 10 }],
          b: [{ id: 'n', t: 10, labelled: true }],
        },
      ],
    ]);
    const page = await s.page(5, null);
    assert.deepEqual(
      page.rows.map((r) => [r.id, r.labelled]),
      [['n', true]],
    );
  });
});

describe('joinRecords', () => {
  it('skips a list row whose record is missing, hands it over for removal, and keeps the order of the rest', async () => {
    const rows = [{ id: 'a' }, { id: 'gone' }, { id: 'c' }];
    const records = new Map([
      ['a', 'record a'],
      ['c', 'record c'],
    ]);
    const orphans: string[] = [];
    const items = await joinRecords(
      rows,
      async (id) => records.get(id) ?? null,
      (row) => orphans.push(row.id),
    );
    assert.deepEqual(items, ['record a', 'record c']);
    assert.deepEqual(orphans, ['gone']);
  });
});
