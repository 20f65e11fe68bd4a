/**
 * Amazon Keyspaces write request units of a save, priced from the rows the store really sends
 * (layers/store/cassandra/keyspaces-units.ts) for records as the service makes them (bench/write-units.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RETENTION_MS, realisticRecord, rowsBefore } from '../../bench/write-units';
import { rowBytes, saveWriteUnits, valueBytes, writeUnits } from '../../layers/store/cassandra/keyspaces-units';

const DAY_MS = 86_400_000;

describe('Keyspaces write units', () => {
  it('sizes values by the developer guide: UTF-8 text, variable ints, lists with their metadata', () => {
    assert.equal(valueBytes('text', 'é7'), 3);
    assert.equal(valueBytes('int', 7), 2);
    assert.equal(valueBytes('int', 123_456), 4);
    assert.equal(valueBytes('list<double>', [0.5, 0.5]), 3 + 2 * 9);
    assert.equal(valueBytes('boolean', true), 1);
  });

  it('prices a row by its encoded size: keys twice with their metadata, 100 bytes a row, one unit per started KB', () => {
    const row = { table: 'prediction_images', cells: { image_key: 'k'.repeat(10), id: 'i'.repeat(10) }, ttl: null };
    // Partition key: 2 x 10 + 3; clustering: 2 x 10 + 2; row metadata 100.
    assert.equal(rowBytes(row), 145);
    assert.equal(writeUnits([row]), 1);
    assert.equal(writeUnits([row], { logged: true }), 2);
  });

  it('costs at most 4 units to save a plain digit, and far less than the logged batch over every table did', async () => {
    const record = await realisticRecord('digit-7.png', '7');
    const units = saveWriteUnits(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS });
    assert.deepEqual(
      units.rows.map((r) => r.table),
      ['predictions_by_id', 'predictions_by_digit', 'predictions_by_visitor', 'prediction_images'],
    );
    assert.ok(units.total <= 4, `${units.total} units: ${JSON.stringify(units.rows)}`);
    assert.ok(writeUnits(rowsBefore(record), { logged: true }) >= 5 * units.total);
  });

  it('prices a 6-digit number by its record row, each digit keeping its own preview', async () => {
    const record = await realisticRecord('number-407.jpg', '407407');
    const units = saveWriteUnits(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS });
    const [recordRow] = units.rows;
    assert.ok(recordRow && recordRow.units >= 4, JSON.stringify(recordRow));
    assert.equal(units.total, recordRow.units + 3);
  });

  it('counts the bucket index rows only on the first save of a bucket', async () => {
    const record = await realisticRecord('digit-7.png', '7');
    const steady = saveWriteUnits(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS });
    const first = saveWriteUnits(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS, firstOfBucket: true });
    // 'all', 'digit:7' and the visitor's scope.
    assert.equal(first.total, steady.total + 3);
  });
});
