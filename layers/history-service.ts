/**
 * The history use case: validate the query string against the contract's HistoryQuery, read one page from
 * the store, newest first, and map each record to the published HistoryItem (with a short-lived URL of its
 * upload when it was kept).
 */
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, HISTORY_QUERY_CODES, type HistoryPage, HistoryQuery, toHistoryItem } from './contract';
import { BadRequestError } from './errors';
import type { ListQuery, PredictionStore } from './store/prediction-store';
import type { UploadsBucket } from './uploads-bucket';

export const DEFAULT_LIMIT = HISTORY_DEFAULT_LIMIT;
export const MAX_LIMIT = HISTORY_MAX_LIMIT;

type Params = Record<string, string | undefined> | undefined | null;

/** Which parameter's refusal is reported when several are wrong: unknown names first, then as before. */
const ORDER = ['unknown', 'limit', 'digit', 'cursor'] as const;

export function parseHistoryQuery(params: Params): ListQuery {
  const parsed = HistoryQuery.safeParse(params ?? {});
  if (!parsed.success) {
    const about = (issue: (typeof parsed.error.issues)[number]): (typeof ORDER)[number] =>
      issue.code === 'unrecognized_keys' ? 'unknown' : ((issue.path[0] as 'limit' | 'digit' | 'cursor' | undefined) ?? 'unknown');
    const [first] = [...parsed.error.issues].sort((a, b) => ORDER.indexOf(about(a)) - ORDER.indexOf(about(b)));
    const which = first ? about(first) : 'unknown';
    throw new BadRequestError(first?.message ?? 'The query string cannot be read.', HISTORY_QUERY_CODES[which]);
  }
  const { limit, digit, cursor } = parsed.data;
  return {
    limit: limit === undefined ? DEFAULT_LIMIT : Number(limit),
    ...(digit === undefined ? {} : { digit: Number(digit) }),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

export async function listHistory(store: PredictionStore, query: ListQuery, uploads?: UploadsBucket): Promise<HistoryPage> {
  const page = await store.list(query);
  // Presigning is local computation (no request to S3), so a page of 100 costs little.
  const items = await Promise.all(
    page.items.map(async (record) =>
      toHistoryItem(record, record.imageKey !== null && uploads ? await uploads.signedUrl(record.imageKey) : null),
    ),
  );
  return { items, nextCursor: page.nextCursor };
}
