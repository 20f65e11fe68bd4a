/** The history use case: validate the query string, read one page from the store, newest first. */
import { BadRequestError } from './errors';
import type { ListPage, ListQuery, PredictionStore } from './store/prediction-store';

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

export async function listHistory(store: PredictionStore, query: ListQuery): Promise<ListPage> {
  return store.list(query);
}
