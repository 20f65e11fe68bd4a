/**
 * What a statistics cell is: (day, model version, metric, key) -> count. Its own module, with no imports, so that
 * the store interface can name it without the counting rules (cells.ts), which read the store's record, forming a
 * circle.
 */
/**
 * predictions, uncertain: counts ('' key). confidence_micros: the sum of confidences in millionths (counters are
 * integers). digit: the top-level digit read (key '0'..'9'). confidence_bin: tenths of confidence (key '0'..'9',
 * 1.0 in '9'). refusal: refused pictures by error code. labelled, correct: labelled predictions, and those whose
 * label is the number read. confusion: key '<label digit><digit read>', per digit position when the label has
 * as many digits as the number read. shadow: pictures a shadow reader read beside the serving model, under the
 * shadow's version, by outcome (SHADOW_OUTCOMES).
 */
export const STAT_METRICS = [
  'predictions',
  'uncertain',
  'confidence_micros',
  'digit',
  'confidence_bin',
  'refusal',
  'labelled',
  'correct',
  'confusion',
  'shadow',
] as const;
export type StatMetric = (typeof STAT_METRICS)[number];

/**
 * How a shadow reader's answer compared with the serving model's on one picture: the same number, another
 * number, or which of the two refused it.
 */
export const SHADOW_OUTCOMES = ['agree', 'disagree', 'shadow_refused', 'serving_refused', 'both_refused'] as const;
export type ShadowOutcome = (typeof SHADOW_OUTCOMES)[number];

export interface StatCell {
  /** YYYY-MM-DD, UTC. */
  day: string;
  modelVersion: string;
  metric: StatMetric;
  key: string;
  /** What the event adds (negative to take a replaced label back); the stored total when read. */
  value: number;
}
