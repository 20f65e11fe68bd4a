/**
 * The statistics use case: GET /stats's range of days validated against the contract, the counter cells of
 * those days read from the store (never the history), and the figures computed (layers/stats/aggregate.ts).
 * Also where a refused picture is counted: never a reason for the refusal to change or the request to fail.
 */
import { STATS_DEFAULT_DAYS, STATS_MAX_DAYS, type StatsAnswer, StatsQuery } from '#contract';
import { BadRequestError, HttpError } from '#errors/errors';
import { describeError, log } from '#observability/log';
import type { PredictionStore } from '#store/prediction-store';
import { aggregateStats } from './aggregate';

const DAY_MS = 86_400_000;

/** The error codes of /predict that are about the picture itself (not the request): each refusal is counted. */
export const PICTURE_REFUSAL_CODES: ReadonlySet<string> = new Set([
  'file_too_large',
  'too_many_pixels',
  'unsupported_media_type',
  'type_mismatch',
  'unprocessable_image',
  'corrupt_image',
  'no_digit',
  'not_a_digit',
]);

export interface DayRange {
  /** YYYY-MM-DD, UTC, both included. */
  from: string;
  to: string;
}

function refuse(message: string): BadRequestError {
  return new BadRequestError(message, 'invalid_range');
}

/** A YYYY-MM-DD that names a real day, as its UTC midnight in ms; else a 400 naming the parameter. */
function dayMs(value: string, name: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00.000Z`) : Number.NaN;
  // Date.parse accepts 2026-02-30 as 2 March: a day must read back as itself.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw refuse(`${name} must be a day, YYYY-MM-DD.`);
  return ms;
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function parseStatsQuery(params: Record<string, string | undefined> | undefined | null, now = new Date()): DayRange {
  const parsed = StatsQuery.safeParse(params ?? {});
  if (!parsed.success) throw new BadRequestError(parsed.error.issues[0]?.message ?? 'The query string cannot be read.', 'invalid_query');
  const today = Date.parse(`${isoDay(now.getTime())}T00:00:00.000Z`);
  const to = parsed.data.to === undefined ? today : dayMs(parsed.data.to, 'to');
  const from = parsed.data.from === undefined ? to - (STATS_DEFAULT_DAYS - 1) * DAY_MS : dayMs(parsed.data.from, 'from');
  if (from > to) throw refuse('from must not be after to.');
  if ((to - from) / DAY_MS + 1 > STATS_MAX_DAYS) throw refuse(`The range may span at most ${STATS_MAX_DAYS} days.`);
  return { from: isoDay(from), to: isoDay(to) };
}

/** Every day of the range, oldest first. */
export function daysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${range.from}T00:00:00.000Z`); isoDay(ms) <= range.to; ms += DAY_MS) days.push(isoDay(ms));
  return days;
}

export async function readStats(store: PredictionStore, range: DayRange): Promise<StatsAnswer> {
  return aggregateStats(await store.readStats(daysOf(range)), range.from, range.to);
}

/**
 * Counts a refusal of /predict in the statistics when it is about the picture, for the serving model. Never
 * throws: the refusal is the answer, and counting it is a report on it.
 */
export async function countPictureRefusal(
  error: unknown,
  store: () => Promise<PredictionStore>,
  modelVersion: () => Promise<string>,
  at = new Date(),
): Promise<void> {
  if (!(error instanceof HttpError) || !PICTURE_REFUSAL_CODES.has(error.code)) return;
  try {
    await (await store()).countRefusal({ code: error.code, modelVersion: await modelVersion(), at: at.toISOString() });
  } catch (failure: unknown) {
    log('warn', 'refusal not counted', { code: error.code, ...describeError(failure) });
  }
}
