/**
 * One page of a list, from list rows: the partitions of each bucket read newest first and merged (everyone's
 * history is eleven partitions a bucket, a filtered list one), rows kept by the query's filter, buckets walked
 * from newest to oldest through the bucket index, and the position the next page starts after. Independent of
 * the driver (a partition is a fetch function), so that test/unit/list-page.test.ts can drive it.
 */
import type { RowKey } from './rows';

/** The cells of a list row a page looks at. `number`, `digit` and `label` are set on rows written whole before each record was written once. */
export interface ListedRow {
  id: string;
  createdAt: Date;
  number: string | null;
  digit: number | null;
  labelled: boolean;
}

/** What a fetch answers: a driver ResultSet has these. */
export interface FetchedRows {
  rows: Array<{ get(column: string): unknown }>;
  pageState?: string | null | undefined;
}

export interface PartitionSource {
  /** Up to `fetchSize` rows of the partition, newest first, from the position the source was made for. */
  fetch(fetchSize: number, pageState: string | undefined): Promise<FetchedRows>;
  /** The row's primary key in its table, to remove it when its record is missing. */
  key(row: ListedRow): RowKey;
}

export interface Position {
  bucket: number;
  /** created_at in ms and id of the last row listed: the page starts strictly after it. */
  t: number;
  i: string;
}

export interface MergeOptions {
  limit: number;
  start: Position | null;
  newestBucket(): Promise<number | null>;
  olderBucket(bucket: number): Promise<number | null>;
  /** The partitions of `bucket`, each reading from `before` (created_at <= before.t) or from its newest row. */
  partitions(bucket: number, before: { t: number; i: string } | null): PartitionSource[];
  keep(row: ListedRow): boolean;
}

export interface MergedPage {
  /** At most `limit` rows, newest first, each with where it came from. */
  rows: Array<ListedRow & { source: RowKey }>;
  /** Where the next page starts, or null when no row is left. */
  next: Position | null;
}

function listedRow(row: { get(column: string): unknown }): ListedRow {
  const label = row.get('label');
  return {
    id: row.get('id') as string,
    createdAt: row.get('created_at') as Date,
    number: (row.get('number') as string | null) ?? null,
    digit: (row.get('digit') as number | null) ?? null,
    // Rows written whole before each record was written once carry the label itself.
    labelled: row.get('labelled') === true || (typeof label === 'string' && label !== ''),
  };
}

/** Newest first: created_at descending, then id descending (the tables' clustering order). */
function newer(a: ListedRow, b: ListedRow): boolean {
  const [ta, tb] = [a.createdAt.getTime(), b.createdAt.getTime()];
  return ta !== tb ? ta > tb : a.id > b.id;
}

/** One partition read lazily, a page of the driver at a time. */
class PartitionReader {
  private rows: ListedRow[] = [];
  private at = 0;
  private pageState: string | undefined;
  private done = false;

  constructor(
    readonly source: PartitionSource,
    private readonly fetchSize: number,
  ) {}

  async head(): Promise<ListedRow | null> {
    while (this.at >= this.rows.length) {
      if (this.done) return null;
      const rs = await this.source.fetch(this.fetchSize, this.pageState);
      this.rows = rs.rows.map(listedRow);
      this.at = 0;
      this.pageState = rs.pageState ?? undefined;
      if (this.pageState === undefined) this.done = true;
    }
    return this.rows[this.at] ?? null;
  }

  shift(): void {
    this.at += 1;
  }
}

/**
 * Reads `limit` + 1 kept rows (the one more tells whether a next page exists, so that an exactly full last page
 * has no cursor), walking buckets newest first. Rows of equal created_at and id in several partitions (a record
 * listed under two answers by versions before and after records were written once) are one row, labelled if either is.
 */
export async function mergePage(options: MergeOptions): Promise<MergedPage> {
  const kept: Array<ListedRow & { source: RowKey; bucket: number }> = [];
  const want = options.limit + 1;
  let bucket = options.start === null ? await options.newestBucket() : options.start.bucket;
  let before = options.start === null ? null : { t: options.start.t, i: options.start.i };
  while (bucket !== null && kept.length < want) {
    const readers = options.partitions(bucket, before).map((source) => new PartitionReader(source, want - kept.length));
    for (;;) {
      const heads = await Promise.all(readers.map((r) => r.head()));
      let best: ListedRow | null = null;
      for (const head of heads) if (head !== null && (best === null || newer(head, best))) best = head;
      if (best === null) break;
      let labelled = false;
      let from: PartitionReader | undefined;
      heads.forEach((head, i) => {
        if (head !== null && head.id === best.id && head.createdAt.getTime() === best.createdAt.getTime()) {
          labelled ||= head.labelled;
          from ??= readers[i];
          readers[i]?.shift();
        }
      });
      // The query reads created_at <= the position's: rows at that very time are skipped down to its id.
      if (before !== null && best.createdAt.getTime() === before.t && best.id >= before.i) continue;
      const row = { ...best, labelled };
      if (!options.keep(row) || from === undefined) continue;
      kept.push({ ...row, source: from.source.key(row), bucket });
      if (kept.length >= want) break;
    }
    if (kept.length < want) {
      bucket = await options.olderBucket(bucket);
      before = null;
    }
  }
  const rows = kept.slice(0, options.limit);
  const last = rows[rows.length - 1];
  const next = kept.length > options.limit && last ? { bucket: last.bucket, t: last.createdAt.getTime(), i: last.id } : null;
  return { rows: rows.map(({ bucket: _b, ...row }) => row), next };
}

/**
 * The records of a page's rows, in order, each read by id. A row whose record is not there is skipped, so that no
 * list shows half a record, and handed to `orphan` to be removed.
 */
export async function joinRecords<R, S extends { id: string }>(
  rows: readonly S[],
  read: (id: string) => Promise<R | null>,
  orphan: (row: S) => void,
): Promise<R[]> {
  const records = await Promise.all(rows.map((row) => read(row.id)));
  const items: R[] = [];
  records.forEach((record, i) => {
    if (record !== null) items.push(record);
    else orphan(rows[i] as S);
  });
  return items;
}
