/** The statistics' pure parts: Wilson's interval, the cells each event moves, their aggregation, and the range of days. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '#errors/errors';
import { aggregateStats } from '#stats/aggregate';
import { confidenceBin, labelCells, predictionCells, relabelCells, type StatCell } from '#stats/cells';
import { wilsonInterval } from '#stats/interval';
import { daysOf, parseStatsQuery } from '#stats/service';
import { makeRecord } from '../support/records';

const close = (actual: number | undefined, expected: number, what: string): void =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 5e-5, `${what}: ${actual} is not ${expected}`);

describe("Wilson's 95% interval", () => {
  it('matches published values (Newcombe 1998, table I) and the closed forms at 0 and n', () => {
    // 81 of 263: 0.2553-0.3662; 15 of 148: 0.0624-0.1605; 0 of 20: 0-0.1611; 1 of 29: 0.0061-0.1718.
    for (const [k, n, low, high] of [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ] as const) {
      const interval = wilsonInterval(k, n);
      close(interval?.low, low, `${k}/${n} low`);
      close(interval?.high, high, `${k}/${n} high`);
      assert.equal(interval?.estimate, k / n);
    }
    const z2 = 1.959963984540054 ** 2;
    const none = wilsonInterval(0, 10);
    close(none?.low, 0, '0/10 low');
    close(none?.high, z2 / (10 + z2), '0/10 high');
    const all = wilsonInterval(10, 10);
    close(all?.high, 1, '10/10 high');
    close(all?.low, 10 / (10 + z2), '10/10 low');
  });

  it('is symmetric around a half, narrows as n grows, and contains the estimate', () => {
    const half = wilsonInterval(2, 4);
    close((half?.low ?? 0) + (half?.high ?? 0), 1, 'symmetric');
    const widths = [10, 100, 1000].map((n) => {
      const i = wilsonInterval(n / 2, n);
      assert.ok(i && i.low <= i.estimate && i.estimate <= i.high);
      return (i?.high ?? 0) - (i?.low ?? 0);
    });
    assert.ok((widths[0] ?? 0) > (widths[1] ?? 0) && (widths[1] ?? 0) > (widths[2] ?? 0));
  });

  it('has none for nothing measured, and refuses impossible counts', () => {
    assert.equal(wilsonInterval(0, 0), null);
    for (const [k, n] of [
      [3, 2],
      [-1, 4],
      [1.5, 4],
    ]) {
      assert.throws(() => wilsonInterval(k as number, n as number), RangeError);
    }
  });
});

describe('statistics cells', () => {
  it('counts a prediction under its UTC day and model: count, confidence, digit, bin, and uncertain only when it is', () => {
    const record = makeRecord({ createdAt: '2026-03-01T23:59:59.999Z', modelVersion: 'mv', digit: 4, confidence: 0.875 });
    assert.deepEqual(predictionCells(record, false), [
      { day: '2026-03-01', modelVersion: 'mv', metric: 'predictions', key: '', value: 1 },
      { day: '2026-03-01', modelVersion: 'mv', metric: 'confidence_micros', key: '', value: 875_000 },
      { day: '2026-03-01', modelVersion: 'mv', metric: 'digit', key: '4', value: 1 },
      { day: '2026-03-01', modelVersion: 'mv', metric: 'confidence_bin', key: '8', value: 1 },
    ]);
    assert.equal(predictionCells(record, true).filter((c) => c.metric === 'uncertain').length, 1);
    assert.deepEqual([0, 0.0999, 0.1, 0.95, 1].map(confidenceBin), [0, 0, 1, 9, 9]);
  });

  it('pairs label and reading digit by digit only when they have as many digits', () => {
    const record = makeRecord({ createdAt: '2026-03-02T00:00:00.000Z', modelVersion: 'mv', digit: 0, number: '407' });
    const label = (number: string) => ({ number, by: 'visitor' as const, at: '2026-03-05T00:00:00.000Z' });
    const keys = (cells: StatCell[]) => cells.map((c) => `${c.metric}:${c.key}:${c.value}`);
    assert.deepEqual(keys(labelCells(record, label('407'), 1)), [
      'labelled::1',
      'correct::1',
      'confusion:44:1',
      'confusion:00:1',
      'confusion:77:1',
    ]);
    assert.deepEqual(keys(labelCells(record, label('417'), 1)), ['labelled::1', 'confusion:44:1', 'confusion:10:1', 'confusion:77:1']);
    assert.deepEqual(keys(labelCells(record, label('47'), 1)), ['labelled::1']);
    assert.ok(
      labelCells(record, label('407'), 1).every((c) => c.day === '2026-03-02'),
      "a label counts on its prediction's day",
    );
    // A replacement takes the old label's cells back: what is left is the new label's alone.
    const replaced = relabelCells({ ...record, label: label('417') }, label('407'));
    const net = new Map<string, number>();
    for (const c of replaced) net.set(`${c.metric}:${c.key}`, (net.get(`${c.metric}:${c.key}`) ?? 0) + c.value);
    assert.deepEqual([...net].filter(([, v]) => v !== 0).sort(), [
      ['confusion:00', 1],
      ['confusion:10', -1],
      ['correct:', 1],
    ]);
  });
});

describe('statistics aggregation', () => {
  it('sums cells per day and model, per model and in total, with means, shares, accuracy and confusion', () => {
    const cell = (day: string, modelVersion: string, metric: StatCell['metric'], key: string, value: number): StatCell => ({
      day,
      modelVersion,
      metric,
      key,
      value,
    });
    const cells = [
      cell('2026-01-01', 'a', 'predictions', '', 4),
      cell('2026-01-01', 'a', 'confidence_micros', '', 3_000_000),
      cell('2026-01-01', 'a', 'uncertain', '', 1),
      cell('2026-01-01', 'a', 'digit', '3', 4),
      cell('2026-01-01', 'a', 'confidence_bin', '7', 4),
      cell('2026-01-01', 'a', 'labelled', '', 4),
      cell('2026-01-01', 'a', 'correct', '', 3),
      cell('2026-01-01', 'a', 'confusion', '33', 3),
      cell('2026-01-01', 'a', 'confusion', '83', 1),
      cell('2026-01-02', 'b', 'refusal', 'no_digit', 2),
      cell('2026-01-02', 'b', 'predictions', '', 1),
      cell('2026-01-02', 'b', 'confidence_micros', '', 500_000),
      // A label taken back on a counter that missed its increment: never published below 0.
      cell('2026-01-02', 'b', 'labelled', '', -1),
      cell('2025-12-31', 'a', 'predictions', '', 99),
    ];
    const stats = aggregateStats(cells, '2026-01-01', '2026-01-02');
    assert.deepEqual(
      stats.days.map((d) => [d.day, d.modelVersion, d.predictions]),
      [
        ['2026-01-01', 'a', 4],
        ['2026-01-02', 'b', 1],
      ],
    );
    const a = stats.models.find((m) => m.modelVersion === 'a');
    assert.equal(a?.meanConfidence, 0.75);
    assert.equal(a?.uncertainShare, 0.25);
    assert.deepEqual(a?.accuracy, wilsonInterval(3, 4));
    assert.equal(a?.confusion[8]?.[3], 1);
    assert.equal(a?.digits[3], 4);
    assert.equal(a?.confidenceHistogram[7], 4);
    const b = stats.models.find((m) => m.modelVersion === 'b');
    assert.deepEqual(b?.refusals, { no_digit: 2 });
    assert.equal(b?.labelled, 0);
    assert.equal(b?.accuracy, null);
    assert.equal(stats.total.predictions, 5, 'the day before the range is left out');
    close(stats.total.meanConfidence ?? 0, 0.7, 'mean over both');
  });

  it('answers an empty range with zeros and nulls', () => {
    const stats = aggregateStats([], '2026-01-01', '2026-01-01');
    assert.deepEqual(stats.days, []);
    assert.equal(stats.total.predictions, 0);
    assert.equal(stats.total.meanConfidence, null);
    assert.equal(stats.total.accuracy, null);
  });
});

describe('the range of days of GET /stats', () => {
  const now = new Date('2026-12-02T08:00:00.000Z');
  const refused = (params: Record<string, string>, code: string): void => {
    assert.throws(
      () => parseStatsQuery(params, now),
      (error: unknown) => error instanceof HttpError && error.statusCode === 400 && error.code === code,
      JSON.stringify(params),
    );
  };

  it('is the last 30 days by default, and from..to as given', () => {
    assert.deepEqual(parseStatsQuery(undefined, now), { from: '2026-11-03', to: '2026-12-02' });
    assert.deepEqual(parseStatsQuery({ to: '2026-01-31' }, now), { from: '2026-01-02', to: '2026-01-31' });
    assert.deepEqual(parseStatsQuery({ from: '2025-12-02', to: '2026-12-02' }, now), { from: '2025-12-02', to: '2026-12-02' });
    assert.deepEqual(daysOf({ from: '2024-02-28', to: '2024-03-01' }), ['2024-02-28', '2024-02-29', '2024-03-01']);
  });

  it('refuses days that are not days, a reversed or too long range, and unknown parameters', () => {
    for (const from of ['2026-02-30', '2026-1-01', 'yesterday', '2026-12-02T00:00:00Z', ''])
      refused({ from, to: '2026-12-02' }, 'invalid_range');
    refused({ from: '2026-12-03', to: '2026-12-02' }, 'invalid_range');
    refused({ from: '2025-12-01', to: '2026-12-02' }, 'invalid_range');
    refused({ day: '2026-12-02' }, 'invalid_query');
  });
});
