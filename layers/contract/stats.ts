/**
 * GET /stats: the operator's statistics, per UTC day and model version, over a range of days. The shapes the
 * handler checks its answer against, the page draws from, and the OpenAPI document describes.
 */
import * as z from 'zod';

/** The longest range one request may ask for, in days (both ends included). */
export const STATS_MAX_DAYS = 366;
/** The range when none is given: the last 30 days, today included. */
export const STATS_DEFAULT_DAYS = 30;

const Day = z.string().meta({ description: 'A UTC day, YYYY-MM-DD.', example: '2026-12-02' });
const Count = z.number().int().min(0);
const TenCounts = z.array(Count).length(10);

export const AccuracyInterval = z
  .object({
    estimate: z.number().min(0).max(1).meta({ description: 'correct / labelled.' }),
    low: z.number().min(0).max(1),
    high: z.number().min(0).max(1),
  })
  .meta({ id: 'AccuracyInterval', description: "The accuracy on labelled predictions with its 95% interval (Wilson's score interval)." });
export type AccuracyInterval = z.infer<typeof AccuracyInterval>;

/** What is counted, for one day and model, one model over the range, or everything. */
export const StatsFigures = z
  .object({
    predictions: Count.meta({ description: 'Predictions answered (and stored).' }),
    refusals: z.record(z.string(), Count).meta({ description: 'Pictures refused, by error code (no_digit, file_too_large, ...).' }),
    meanConfidence: z.number().min(0).max(1).nullable().meta({ description: 'The mean top-level confidence; null without predictions.' }),
    uncertainShare: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: 'The share of answers marked uncertain; null without predictions.' }),
    digits: TenCounts.meta({ description: 'Predictions by top-level digit read, index = digit.' }),
    confidenceHistogram: TenCounts.meta({ description: 'Predictions by top-level confidence in tenths: [0, 0.1), ..., [0.9, 1].' }),
    labelled: Count.meta({ description: 'Predictions with a label (a replaced label counts once, as its latest).' }),
    correct: Count.meta({ description: 'Labelled predictions whose label is the number read.' }),
    accuracy: AccuracyInterval.nullable().meta({ description: 'correct / labelled with its 95% interval; null when nothing is labelled.' }),
    shadow: z
      .object({
        agree: Count.meta({ description: 'Read the same number as the serving model.' }),
        disagree: Count.meta({ description: 'Read another number than the serving model.' }),
        shadowRefused: Count.meta({ description: 'Refused a picture the serving model answered.' }),
        servingRefused: Count.meta({ description: 'Answered a picture the serving model refused.' }),
        bothRefused: Count.meta({ description: 'Refused, as the serving model did.' }),
      })
      .meta({
        description:
          'Pictures this version read in shadow beside the serving model (SHADOW_MODEL): its answers are compared and counted here, never stored or answered. All 0 for a version that only served.',
      }),
    confusion: z.array(TenCounts).length(10).meta({
      description:
        'confusion[label][read]: labelled digits by their label and the digit read; for numbers, digit by digit when the label has as many digits as the number read.',
    }),
  })
  .meta({ id: 'StatsFigures' });
export type StatsFigures = z.infer<typeof StatsFigures>;

export const StatsAnswer = z
  .object({
    from: Day,
    to: Day,
    days: z
      .array(StatsFigures.extend({ day: Day, modelVersion: z.string() }))
      .meta({ description: 'One row per day and model version that counted anything, oldest first.' }),
    models: z.array(StatsFigures.extend({ modelVersion: z.string() })).meta({ description: 'Each model version over the whole range.' }),
    total: StatsFigures.meta({ description: 'Everything in the range.' }),
  })
  .meta({ id: 'StatsAnswer' });
export type StatsAnswer = z.infer<typeof StatsAnswer>;

export const StatsQuery = z.strictObject(
  {
    from: z
      .string()
      .optional()
      .meta({
        description: `The first day, YYYY-MM-DD (UTC); ${STATS_DEFAULT_DAYS - 1} days before \`to\` when absent.`,
        example: '2026-11-03',
      }),
    to: z.string().optional().meta({ description: 'The last day, YYYY-MM-DD (UTC), included; today when absent.', example: '2026-12-02' }),
  },
  {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `Unknown query parameter "${issue.keys[0]}": use from and to.` : undefined),
  },
);
export type StatsQuery = z.infer<typeof StatsQuery>;
