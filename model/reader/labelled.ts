/**
 * Labelled predictions as the reader's training examples (`model/reader/train.ts --with-labels`): each labelled
 * upload through the service's own geometry, paired with its label, the whole number at once. The classifier's
 * retraining (model/training/labelled.ts) can use a labelled number only when its segmentation finds as many
 * pieces as the label has digits; the reader reads the number whole, so every readable labelled upload is an
 * example, touching digits and form boxes included. The same held-out split (a hash of the record's id,
 * model/training/labelled.ts isHeldOut) keeps a share of them for scoring.
 */

import { MAX_DIGITS } from '#reader/contract';
import { prepareInput } from '#reader/geometry';
import { DEFAULT_HOLDOUT_SHARE, isHeldOut, type LabelledSource } from '../training/labelled';
import type { Scene } from './scenes';

export type LabelledSkip =
  | 'malformed label'
  | 'longer than the reader reads'
  | 'upload not kept'
  | 'upload missing from the bucket'
  | 'no ink'
  | 'unreadable picture';

export interface LabelledScenes {
  train: Scene[];
  heldOut: Scene[];
  /** Labelled records listed, and those that gave no example, by reason. */
  read: number;
  skipped: Partial<Record<LabelledSkip, number>>;
}

const DIGITS = /^[0-9]+$/;

/** Every labelled record of `source` as reader scenes, split by isHeldOut. */
export async function labelledScenes(
  source: LabelledSource,
  options: { holdoutShare?: number; onSkip?: (id: string, reason: LabelledSkip, detail: string) => void } = {},
): Promise<LabelledScenes> {
  const share = options.holdoutShare ?? DEFAULT_HOLDOUT_SHARE;
  const out: LabelledScenes = { train: [], heldOut: [], read: 0, skipped: {} };
  const skip = (id: string, reason: LabelledSkip, detail: string): void => {
    out.skipped[reason] = (out.skipped[reason] ?? 0) + 1;
    options.onSkip?.(id, reason, detail);
  };
  for await (const record of source.labelled()) {
    out.read += 1;
    const label = record.label.number;
    if (!DIGITS.test(label)) {
      skip(record.id, 'malformed label', JSON.stringify(label));
      continue;
    }
    if (label.length > MAX_DIGITS) {
      skip(record.id, 'longer than the reader reads', `${label.length} digits, at most ${MAX_DIGITS}`);
      continue;
    }
    if (!record.imageKey) {
      skip(record.id, 'upload not kept', 'the record has no imageKey');
      continue;
    }
    const bytes = await source.upload(record.imageKey);
    if (bytes === null) {
      skip(record.id, 'upload missing from the bucket', record.imageKey);
      continue;
    }
    let prepared: Awaited<ReturnType<typeof prepareInput>>;
    try {
      prepared = await prepareInput(bytes);
    } catch (error: unknown) {
      skip(record.id, 'unreadable picture', (error as Error).message);
      continue;
    }
    if (prepared.blank) {
      skip(record.id, 'no ink', record.imageKey);
      continue;
    }
    const scene: Scene = { input: prepared.input, digits: Array.from(label, Number) };
    (isHeldOut(record.id, share) ? out.heldOut : out.train).push(scene);
  }
  return out;
}
