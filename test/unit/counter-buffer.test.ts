/**
 * CounterBuffer: the statistics' counter cells written at once (flushAfterMs 0, the cloud's setting) or summed in
 * memory and written together, one batch per day; a failed write reported and dropped, never tried again. The
 * writer here is a fake that records each batch, and fails when the test says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatCell } from '#stats/cells';
import { CounterBuffer } from '#stats/counter-buffer';
import { sleep } from '../../tools/sleep';

const cell = (metric: StatCell['metric'], key: string, value: number, day = '2026-12-02'): StatCell => ({
  day,
  modelVersion: 'm1',
  metric,
  key,
  value,
});

function recorder(fail = () => false): {
  batches: StatCell[][];
  errors: StatCell[][];
  buffer: (flushAfterMs: number, maxCells?: number) => CounterBuffer;
} {
  const batches: StatCell[][] = [];
  const errors: StatCell[][] = [];
  return {
    batches,
    errors,
    buffer: (flushAfterMs, maxCells) =>
      new CounterBuffer({
        flushAfterMs,
        ...(maxCells === undefined ? {} : { maxCells }),
        write: async (cells) => {
          await sleep(1);
          if (fail()) throw new Error('write timed out');
          batches.push(cells.map((c) => ({ ...c })));
        },
        onError: (_error, cells) => errors.push(cells),
      }),
  };
}

const byKey = (cells: StatCell[]): Record<string, number> =>
  Object.fromEntries(cells.map((c) => [`${c.day}/${c.metric}/${c.key}`, c.value]).sort(([a], [b]) => String(a).localeCompare(String(b))));

describe('CounterBuffer', () => {
  it('with flushAfterMs 0, writes each add at once and resolves when it is written', async () => {
    const r = recorder();
    const buffer = r.buffer(0);
    await buffer.add([cell('predictions', '', 1), cell('digit', '7', 1)]);
    assert.equal(r.batches.length, 1);
    assert.deepEqual(byKey(r.batches[0] ?? []), { '2026-12-02/digit/7': 1, '2026-12-02/predictions/': 1 });
    assert.equal(buffer.size, 0);
  });

  it('sums the cells of many adds and writes them once, after flushAfterMs', async () => {
    const r = recorder();
    const buffer = r.buffer(40);
    for (let i = 0; i < 25; i += 1) await buffer.add([cell('predictions', '', 1), cell('digit', String(i % 2), 1)]);
    assert.equal(r.batches.length, 0, 'nothing is written before the time is up');
    assert.equal(buffer.size, 3);
    await sleep(120);
    assert.equal(r.batches.length, 1);
    assert.deepEqual(byKey(r.batches[0] ?? []), { '2026-12-02/digit/0': 13, '2026-12-02/digit/1': 12, '2026-12-02/predictions/': 25 });
    assert.equal(buffer.size, 0);
  });

  it('flush() writes what waits now, one batch per day, and a read after it sees every count', async () => {
    const r = recorder();
    const buffer = r.buffer(60_000);
    await buffer.add([cell('predictions', '', 1, '2026-12-01')]);
    await buffer.add([cell('predictions', '', 1, '2026-12-02'), cell('labelled', '', 1, '2026-12-01')]);
    await buffer.flush();
    assert.equal(r.batches.length, 2, 'one batch per day partition');
    const days = r.batches.map((b) => [...new Set(b.map((c) => c.day))]);
    assert.deepEqual(
      days.map((d) => d.length),
      [1, 1],
    );
    assert.deepEqual(byKey(r.batches.flat()), {
      '2026-12-01/labelled/': 1,
      '2026-12-01/predictions/': 1,
      '2026-12-02/predictions/': 1,
    });
  });

  it('writes nothing for cells that summed to zero (a label given and taken back)', async () => {
    const r = recorder();
    const buffer = r.buffer(60_000);
    await buffer.add([cell('correct', '', 1), cell('labelled', '', 1)]);
    await buffer.add([cell('correct', '', -1)]);
    await buffer.flush();
    assert.deepEqual(byKey(r.batches.flat()), { '2026-12-02/labelled/': 1 });
  });

  it('starts a flush when maxCells distinct cells wait, whatever the time', async () => {
    const r = recorder();
    const buffer = r.buffer(60_000, 4);
    for (let d = 0; d < 4; d += 1) await buffer.add([cell('digit', String(d), 1)]);
    await sleep(20);
    assert.equal(r.batches.length, 1);
    assert.equal(r.batches[0]?.length, 4);
  });

  it('reports a failed write and drops its cells: a lost count, never a double one', async () => {
    let failing = true;
    const r = recorder(() => failing);
    const buffer = r.buffer(60_000);
    await buffer.add([cell('predictions', '', 3)]);
    await buffer.flush();
    assert.equal(r.errors.length, 1, 'the failure is reported');
    assert.deepEqual(byKey(r.errors[0] ?? []), { '2026-12-02/predictions/': 3 });
    failing = false;
    await buffer.add([cell('predictions', '', 1)]);
    await buffer.flush();
    assert.deepEqual(byKey(r.batches.flat()), { '2026-12-02/predictions/': 1 }, 'the failed cells are not written again');
  });

  it('never rejects, at once or buffered', async () => {
    const r = recorder(() => true);
    await assert.doesNotReject(r.buffer(0).add([cell('predictions', '', 1)]));
    const buffered = r.buffer(60_000);
    await buffered.add([cell('predictions', '', 1)]);
    await assert.doesNotReject(buffered.flush());
    assert.equal(r.errors.length, 2);
  });
});
