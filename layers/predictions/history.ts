/**
 * The history use case: validate the query string against the contract's HistoryQuery, read one page from
 * the store, newest first (a visitor's own predictions, or everyone's for the operator), and map each record
 * to the published HistoryItem (with a short-lived URL of its upload when it was kept).
 */
import type { Caller } from '#auth/tokens';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  HISTORY_QUERY_CODES,
  type HistoryItem,
  type HistoryPage,
  HistoryQuery,
  toHistoryItem,
} from '#contract';
import { BadRequestError } from '#errors/errors';
import type { ListQuery, PredictionRecord, PredictionStore } from '#store/prediction-store';
import type { UploadsBucket } from '#uploads/bucket';

export const DEFAULT_LIMIT = HISTORY_DEFAULT_LIMIT;
export const MAX_LIMIT = HISTORY_MAX_LIMIT;

type Params = Record<string, string | undefined> | undefined | null;

/** Which parameter's refusal is reported when several are wrong: unknown names first, then as before. */
const ORDER = ['unknown', 'limit', 'digit', 'labelled', 'cursor'] as const;

export function parseHistoryQuery(params: Params): ListQuery {
  const parsed = HistoryQuery.safeParse(params ?? {});
  if (!parsed.success) {
    const about = (issue: (typeof parsed.error.issues)[number]): (typeof ORDER)[number] =>
      issue.code === 'unrecognized_keys' ? 'unknown' : ((issue.path[0] as (typeof ORDER)[number] | undefined) ?? 'unknown');
    const [first] = [...parsed.error.issues].sort((a, b) => ORDER.indexOf(about(a)) - ORDER.indexOf(about(b)));
    const which = first ? about(first) : 'unknown';
    throw new BadRequestError(first?.message ?? 'The query string cannot be read.', HISTORY_QUERY_CODES[which]);
  }
  const { limit, digit, cursor, labelled } = parsed.data;
  // No table serves both filters at once (the stores refuse the pair too): said before the store is asked.
  if (digit !== undefined && labelled !== undefined) {
    throw new BadRequestError('The digit and labelled filters cannot be combined: use one of them.', 'invalid_labelled');
  }
  return {
    limit: limit === undefined ? DEFAULT_LIMIT : Number(limit),
    ...(digit === undefined ? {} : { digit: Number(digit) }),
    ...(labelled === undefined ? {} : { labelled: labelled === 'true' }),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

/** Who may list what: the operator everyone's, a visitor their own (the store reads only their partitions). */
export type Reader = Exclude<Caller, { kind: 'anonymous' }>;

export async function listHistory(store: PredictionStore, query: ListQuery, reader: Reader, uploads?: UploadsBucket): Promise<HistoryPage> {
  const page = await store.list(reader.kind === 'visitor' ? { ...query, visitorId: reader.visitorId } : query);
  // Presigning is local computation (no request to S3), so a page of 100 costs little.
  const items = await Promise.all(page.items.map((record) => publish(record, reader, uploads)));
  return { items, nextCursor: page.nextCursor };
}

/** A stored record as `reader` may see it, with a short-lived link to its upload when one is kept. */
export async function publish(record: PredictionRecord, reader: Reader, uploads?: UploadsBucket): Promise<HistoryItem> {
  return toHistoryItem(record, record.imageKey !== null && uploads ? await uploads.signedUrl(record.imageKey) : null, reader.kind);
}
