/**
 * What every bench shares and nothing else: where results go, the cold-start report's shape, and the number
 * format of the tables. Its own module so that the load run, the targets and the report do not import each other.
 */
import { join } from 'node:path';
import { ROOT } from '../tools/root';

/** Where every bench writes its results. */
export const BENCH_OUT = join(ROOT, 'bench', 'out');

/** What the load bench reads of bench/out/cold-start.json (bench/cold-start.ts writes it). */
export interface ColdStartReport {
  measuredAt: string;
  backends: Record<string, { runs: number; coldStartMs: { median: number; min: number; max: number } }>;
}

export const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
