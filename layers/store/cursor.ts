/**
 * Opaque page cursors: base64url JSON. Stores put whatever they need inside; callers only pass it back.
 * A cursor that does not decode, or does not have the shape a store expects, is the client's error (400).
 *
 * Every cursor is bound to the query it was issued for (readerBinding): the digit and labelled filters, and a
 * fingerprint of the visitor it was issued to, so that a cursor never continues in another visitor's records or
 * under another filter (checkBinding refuses it with the same 400). Both stores use the same binding.
 */
import { createHash } from 'node:crypto';
import { BadRequestError } from '#errors/errors';
import type { ListQuery } from './prediction-store';

const MAX_CURSOR_CHARS = 4096;

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!isValid(value)) throw invalidCursor();
  return value;
}

export function invalidCursor(): BadRequestError {
  return new BadRequestError('The cursor is not one this service issued; pass back nextCursor as it was given.', 'invalid_cursor');
}

/** What a cursor is bound to: the filters and the reader of the query that issued it. */
export interface ReaderBinding {
  /** The digit filter, or null. */
  d: number | null;
  /** A fingerprint of the visitor the cursor was issued to, or null for everyone's history. */
  o: string | null;
  /** The labelled filter, or null. */
  l: boolean | null;
}

/** 16 hex digits of SHA-256 of the visitor id: tells cursors apart without putting the id in them. */
function ownerPrint(visitorId: string | undefined): string | null {
  return visitorId === undefined ? null : createHash('sha256').update(visitorId).digest('hex').slice(0, 16);
}

export function readerBinding(query: ListQuery): ReaderBinding {
  return { d: query.digit ?? null, o: ownerPrint(query.visitorId), l: query.labelled ?? null };
}

/** Whether a decoded value carries a well-formed binding (the rest of its shape is the store's to check). */
export function hasBinding(c: Record<string, unknown>): boolean {
  return (
    (c.o === null || (typeof c.o === 'string' && /^[0-9a-f]{16}$/.test(c.o))) &&
    (c.d === null || (Number.isInteger(c.d) && (c.d as number) >= 0 && (c.d as number) <= 9)) &&
    (c.l === null || typeof c.l === 'boolean')
  );
}

/** Refuses (400 invalid_cursor) a cursor issued for another filter or another reader than `query`'s. */
export function checkBinding(state: ReaderBinding, query: ListQuery): void {
  const wanted = readerBinding(query);
  if (state.d !== wanted.d) {
    throw new BadRequestError('The cursor was issued for another digit filter; pass the same digit with it.', 'invalid_cursor');
  }
  if (state.l !== wanted.l) {
    throw new BadRequestError('The cursor was issued for another labelled filter; pass the same one with it.', 'invalid_cursor');
  }
  if (state.o !== wanted.o) {
    throw new BadRequestError('The cursor was issued for another reader; page with the cursors your own requests got.', 'invalid_cursor');
  }
}
