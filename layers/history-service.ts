/**
 * The history use case: validate the query string, read one page from the store, newest first, and give
 * each item whose upload was kept a short-lived URL to fetch it.
 */
import { BadRequestError } from './errors';
import type { ListQuery, PredictionRecord, PredictionStore } from './store/prediction-store';
import type { UploadsBucket } from './uploads-bucket';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

type Params = Record<string, string | undefined> | undefined | null;

export function parseHistoryQuery(params: Params): ListQuery {
  const query: ListQuery = { limit: DEFAULT_LIMIT };
  const known = new Set(['limit', 'cursor', 'digit']);
  for (const key of Object.keys(params ?? {})) {
    if (!known.has(key)) throw new BadRequestError(`Unknown query parameter "${key}": use limit, cursor or digit.`, 'invalid_query');
  }
  const limit = params?.limit;
  if (limit !== undefined) {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw new BadRequestError(`limit must be a whole number from 1 to ${MAX_LIMIT}.`, 'invalid_limit');
    }
    query.limit = Number(limit);
  }
  const digit = params?.digit;
  if (digit !== undefined) {
    if (!/^[0-9]$/.test(digit)) throw new BadRequestError('digit must be one of 0 to 9.', 'invalid_digit');
    query.digit = Number(digit);
  }
  const cursor = params?.cursor;
  if (cursor !== undefined) {
    if (cursor === '') throw new BadRequestError('cursor is empty; omit it for the first page.', 'invalid_cursor');
    query.cursor = cursor;
  }
  return query;
}

export interface HistoryItem extends PredictionRecord {
  /** A presigned GET URL of the original upload, valid for a short while; null when the upload was not kept. */
  imageUrl: string | null;
}

export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

export async function listHistory(store: PredictionStore, query: ListQuery, uploads?: UploadsBucket): Promise<HistoryPage> {
  const page = await store.list(query);
  // Presigning is local computation (no request to S3), so a page of 100 costs little.
  const items = await Promise.all(
    page.items.map(async (record) => ({
      ...record,
      imageUrl: record.imageKey !== null && uploads ? await uploads.signedUrl(record.imageKey) : null,
    })),
  );
  return { items, nextCursor: page.nextCursor };
}
