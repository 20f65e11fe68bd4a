/**
 * From counter cells (layers/stats/cells.ts) to the figures GET /stats answers: per day and model version, per
 * model version over the range, and in total. Pure, so that it is unit-tested on cells made by hand.
 */
import type { StatsAnswer, StatsFigures } from '#contract';
import type { StatCell } from './cells';
import { wilsonInterval } from './interval';

/** The raw sums one group of cells adds up to. */
interface Sums {
  predictions: number;
  uncertain: number;
  confidenceMicros: number;
  refusals: Map<string, number>;
  digits: number[];
  bins: number[];
  labelled: number;
  correct: number;
  confusion: number[][];
  shadow: Map<string, number>;
}

function emptySums(): Sums {
  return {
    predictions: 0,
    uncertain: 0,
    confidenceMicros: 0,
    refusals: new Map(),
    digits: Array<number>(10).fill(0),
    bins: Array<number>(10).fill(0),
    labelled: 0,
    correct: 0,
    confusion: Array.from({ length: 10 }, () => Array<number>(10).fill(0)),
    shadow: new Map(),
  };
}

/** A digit key '0'..'9' as an index, or null for a key no writer makes. */
function digitIndex(key: string | undefined): number | null {
  return key !== undefined && /^[0-9]$/.test(key) ? Number(key) : null;
}

function add(sums: Sums, cell: StatCell): void {
  const value = cell.value;
  switch (cell.metric) {
    case 'predictions':
      sums.predictions += value;
      return;
    case 'uncertain':
      sums.uncertain += value;
      return;
    case 'confidence_micros':
      sums.confidenceMicros += value;
      return;
    case 'refusal':
      sums.refusals.set(cell.key, (sums.refusals.get(cell.key) ?? 0) + value);
      return;
    case 'labelled':
      sums.labelled += value;
      return;
    case 'correct':
      sums.correct += value;
      return;
    case 'digit':
    case 'confidence_bin': {
      const i = digitIndex(cell.key);
      const counts = cell.metric === 'digit' ? sums.digits : sums.bins;
      if (i !== null) counts[i] = (counts[i] ?? 0) + value;
      return;
    }
    case 'shadow':
      sums.shadow.set(cell.key, (sums.shadow.get(cell.key) ?? 0) + value);
      return;
    case 'confusion': {
      const [label, read] = [digitIndex(cell.key[0]), digitIndex(cell.key[1])];
      const row = label === null ? undefined : sums.confusion[label];
      if (row && read !== null && cell.key.length === 2) row[read] = (row[read] ?? 0) + value;
      return;
    }
  }
}

/**
 * The published figures. Counts are clamped at 0: counters are not idempotent, and a label taken back on a
 * counter that missed its increment (a failed write, logged) must not publish a negative count.
 */
function figures(sums: Sums): StatsFigures {
  const count = (n: number): number => Math.max(0, n);
  const predictions = count(sums.predictions);
  const labelled = count(sums.labelled);
  const correct = Math.min(count(sums.correct), labelled);
  const refusals = Object.fromEntries([...sums.refusals].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    predictions,
    refusals,
    meanConfidence: predictions > 0 ? Math.min(1, count(sums.confidenceMicros) / 1e6 / predictions) : null,
    uncertainShare: predictions > 0 ? Math.min(1, count(sums.uncertain) / predictions) : null,
    digits: sums.digits.map(count),
    confidenceHistogram: sums.bins.map(count),
    labelled,
    correct,
    accuracy: wilsonInterval(correct, labelled),
    shadow: {
      agree: count(sums.shadow.get('agree') ?? 0),
      disagree: count(sums.shadow.get('disagree') ?? 0),
      shadowRefused: count(sums.shadow.get('shadow_refused') ?? 0),
      servingRefused: count(sums.shadow.get('serving_refused') ?? 0),
      bothRefused: count(sums.shadow.get('both_refused') ?? 0),
    },
    confusion: sums.confusion.map((row) => row.map(count)),
  };
}

function sumsFor<K>(groups: Map<K, Sums>, key: K): Sums {
  let sums = groups.get(key);
  if (!sums) {
    sums = emptySums();
    groups.set(key, sums);
  }
  return sums;
}

/** The answer for the days from..to (both YYYY-MM-DD, included); cells outside the range are ignored. */
export function aggregateStats(cells: readonly StatCell[], from: string, to: string): StatsAnswer {
  const byDay = new Map<string, Sums>();
  const byModel = new Map<string, Sums>();
  const total = emptySums();
  for (const cell of cells) {
    if (cell.day < from || cell.day > to) continue;
    add(sumsFor(byDay, JSON.stringify([cell.day, cell.modelVersion])), cell);
    add(sumsFor(byModel, cell.modelVersion), cell);
    add(total, cell);
  }
  const days = [...byDay]
    .map(([key, sums]) => {
      const [day, modelVersion] = JSON.parse(key) as [string, string];
      return { day, modelVersion, ...figures(sums) };
    })
    .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.modelVersion < b.modelVersion ? -1 : 1));
  const models = [...byModel]
    .map(([modelVersion, sums]) => ({ modelVersion, ...figures(sums) }))
    .sort((a, b) => (a.modelVersion < b.modelVersion ? -1 : 1));
  return { from, to, days, models, total: figures(total) };
}
