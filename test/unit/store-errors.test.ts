/**
 * Which Cassandra errors become a 503 (the cluster cannot answer now) and which stay what they are (a 500 with
 * details in the log). A node that has just come back can make cassandra-driver throw a plain
 * Error('No connection available') from its prepare path; the three-node reliability test saw it answered 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'cassandra-driver';
import { ServiceUnavailableError } from '#errors/errors';
import { toStoreError } from '#store/cassandra/availability';

describe('toStoreError', () => {
  it("turns the driver's 'No connection available' (a host up, its pool not yet connected) into a 503 with Retry-After", () => {
    const cause = new Error('No connection available');
    const mapped = toStoreError(cause);
    assert.ok(mapped instanceof ServiceUnavailableError);
    assert.equal(mapped.statusCode, 503);
    assert.match(mapped.headers['Retry-After'] ?? '', /^\d+$/);
    assert.equal((mapped as Error & { cause?: unknown }).cause, cause);
  });

  it('turns NoHostAvailable into a 503 as before', () => {
    assert.ok(toStoreError(new errors.NoHostAvailableError({})) instanceof ServiceUnavailableError);
  });

  it('leaves other errors as they are, even with a similar message', () => {
    const other = new Error('something else broke');
    assert.equal(toStoreError(other), other);
    const typed = new TypeError('No connection available');
    assert.equal(toStoreError(typed), typed);
  });
});
