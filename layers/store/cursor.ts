/**
 * Opaque page cursors: base64url JSON. Stores put whatever they need inside; callers only pass it back.
 * A cursor that does not decode, or does not have the shape a store expects, is the client's error (400).
 */
import { BadRequestError } from '#errors/errors';

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

function invalidCursor(): BadRequestError {
  return new BadRequestError('The cursor is not one this service issued; pass back nextCursor as it was given.', 'invalid_cursor');
}
