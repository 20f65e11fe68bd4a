/**
 * Labelled predictions as training and evaluation examples: which records are held out (a fixed share, chosen
 * by a hash of the prediction id, so a record is held out on every run and never trained on), how one record
 * becomes examples (the service's own preprocessing run on the kept upload, its digits paired with the label's),
 * and the tally of what was read, used, held out and skipped, and why.
 *
 * Records and pictures come through `LabelledSource`: `storeLabelledSource` reads the configured store and the
 * uploads bucket; tests and other callers may hand in any other source.
 */
import { createHash } from 'node:crypto';
import { PIXELS } from '#classifier/model-contract';
import { HttpError } from '#errors/errors';
import { type PreprocessedImage, preprocessImage } from '#preprocess/index';
import type { PredictionRecord, PredictionStore, RecordLabel } from '#store/prediction-store';
import type { UploadsReader } from '#uploads/bucket';

/** A stored prediction that carries a label. */
export type LabelledRecord = PredictionRecord & { label: RecordLabel };

/** Where labelled records and their pictures come from. */
export interface LabelledSource {
  /** Every labelled record, newest first. */
  labelled(): AsyncIterable<LabelledRecord>;
  /** The kept upload's bytes, or null when the bucket has no such object. */
  upload(key: string): Promise<Buffer | null>;
}

/** Share of labelled records held out for evaluation unless told otherwise. */
export const DEFAULT_HOLDOUT_SHARE = 0.2;

/**
 * Whether the record with this id is held out: the first 32 bits of SHA-256("holdout:" + id) as a fraction
 * of 2^32, below `share`. Depends on the id alone, so the split never changes as labels are added, replaced or
 * erased, and a number's digits are held out together.
 */
export function isHeldOut(id: string, share = DEFAULT_HOLDOUT_SHARE): boolean {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`holdout share must be in [0, 1], got ${share}`);
  const hash = createHash('sha256').update(`holdout:${id}`).digest();
  return hash.readUInt32BE(0) / 2 ** 32 < share;
}

/** Why a labelled record gave no example. */
export type SkipReason =
  | 'malformed label'
  | 'upload not kept'
  | 'upload missing from the bucket'
  | 'preprocessing refused the upload'
  | 'digit count differs from the label';

export type ExampleResult = { ok: true; inputs: Float32Array; labels: number[] } | { ok: false; reason: SkipReason; detail: string };

const DIGITS = /^[0-9]+$/;

/**
 * The training examples of one labelled picture: the service's preprocessing (decode, ink, segmentation into
 * digits) on the upload's bytes, each digit it finds paired with the label's digit in the same place. Only when
 * segmentation finds exactly as many digits as the label has: a label "407" read as two pieces or four says
 * nothing reliable about which piece is which digit.
 */
export async function labelledExamples(
  bytes: Buffer,
  label: string,
  preprocess: (bytes: Buffer) => Promise<Pick<PreprocessedImage, 'digits'>> = preprocessImage,
): Promise<ExampleResult> {
  if (!DIGITS.test(label)) return { ok: false, reason: 'malformed label', detail: JSON.stringify(label) };
  let image: Pick<PreprocessedImage, 'digits'>;
  try {
    image = await preprocess(bytes);
  } catch (error: unknown) {
    // The service would have refused this picture too (422 no ink, 415 not an image...): no example in it.
    if (error instanceof HttpError) return { ok: false, reason: 'preprocessing refused the upload', detail: error.code };
    throw error;
  }
  if (image.digits.length !== label.length) {
    return {
      ok: false,
      reason: 'digit count differs from the label',
      detail: `label ${label} has ${label.length}, segmentation found ${image.digits.length}`,
    };
  }
  const inputs = new Float32Array(image.digits.length * PIXELS);
  for (const [i, digit] of image.digits.entries()) inputs.set(digit.input, i * PIXELS);
  return { ok: true, inputs, labels: Array.from(label, Number) };
}

/** Examples as the training loop and the evaluation read them: N x 784 inputs in [0, 1], N labels. */
export interface ExampleSet {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** How many records the examples come from (a number gives several examples). */
  records: number;
  /** Per example, the index of its record in this set (0..records-1): to score whole numbers. */
  recordOf: Uint32Array;
}

export interface LabelledTally {
  /** Labelled records listed by the source. */
  read: number;
  /** Records whose examples go to training. */
  used: number;
  /** Records whose examples are kept for evaluation. */
  heldOut: number;
  /** Records that gave no example, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  skippedTotal: number;
  trainExamples: number;
  heldOutExamples: number;
  holdoutShare: number;
}

export interface LabelledData {
  train: ExampleSet;
  heldOut: ExampleSet;
  tally: LabelledTally;
}

class ExampleSetBuilder {
  private readonly images: Float32Array[] = [];
  private readonly labels: number[] = [];
  private readonly recordOf: number[] = [];
  private records = 0;

  add(inputs: Float32Array, labels: number[]): void {
    for (const [i, label] of labels.entries()) {
      this.images.push(inputs.subarray(i * PIXELS, (i + 1) * PIXELS));
      this.labels.push(label);
      this.recordOf.push(this.records);
    }
    this.records += 1;
  }

  build(): ExampleSet {
    const images = new Float32Array(this.images.length * PIXELS);
    for (const [i, image] of this.images.entries()) images.set(image, i * PIXELS);
    return {
      images,
      labels: Uint8Array.from(this.labels),
      count: this.labels.length,
      records: this.records,
      recordOf: Uint32Array.from(this.recordOf),
    };
  }
}

export interface CollectOptions {
  holdoutShare?: number;
  /** Which records to turn into examples: 'all', or only the training or only the held-out ones. */
  want?: 'all' | 'train' | 'heldOut';
  /** Called for each skipped record (the CLI prints them). */
  onSkip?: (record: LabelledRecord, reason: SkipReason, detail: string) => void;
}

/** Reads every labelled record of `source` into training and held-out examples, with the tally. */
export async function collectLabelled(source: LabelledSource, options: CollectOptions = {}): Promise<LabelledData> {
  const share = options.holdoutShare ?? DEFAULT_HOLDOUT_SHARE;
  const want = options.want ?? 'all';
  const train = new ExampleSetBuilder();
  const heldOut = new ExampleSetBuilder();
  const tally: LabelledTally = {
    read: 0,
    used: 0,
    heldOut: 0,
    skipped: {},
    skippedTotal: 0,
    trainExamples: 0,
    heldOutExamples: 0,
    holdoutShare: share,
  };
  const skip = (record: LabelledRecord, reason: SkipReason, detail: string): void => {
    tally.skipped[reason] = (tally.skipped[reason] ?? 0) + 1;
    tally.skippedTotal += 1;
    options.onSkip?.(record, reason, detail);
  };
  for await (const record of source.labelled()) {
    tally.read += 1;
    const held = isHeldOut(record.id, share);
    // Records of the other part are counted but not decoded: evaluation needs only the held-out pictures.
    if ((want === 'train' && held) || (want === 'heldOut' && !held)) continue;
    if (!record.imageKey) {
      skip(record, 'upload not kept', 'the record has no imageKey');
      continue;
    }
    const bytes = await source.upload(record.imageKey);
    if (bytes === null) {
      skip(record, 'upload missing from the bucket', record.imageKey);
      continue;
    }
    const result = await labelledExamples(bytes, record.label.number);
    if (!result.ok) {
      skip(record, result.reason, result.detail);
      continue;
    }
    if (held) {
      heldOut.add(result.inputs, result.labels);
      tally.heldOut += 1;
      tally.heldOutExamples += result.labels.length;
    } else {
      train.add(result.inputs, result.labels);
      tally.used += 1;
      tally.trainExamples += result.labels.length;
    }
  }
  return { train: train.build(), heldOut: heldOut.build(), tally };
}

/** One line per figure of the tally, for the commands' output. */
export function formatTally(tally: LabelledTally, want: CollectOptions['want'] = 'all'): string {
  const lines = [`labelled records read: ${tally.read} (held-out share ${(tally.holdoutShare * 100).toFixed(0)}%, by a hash of the id)`];
  if (want !== 'heldOut') lines.push(`  used for training: ${tally.used} records, ${tally.trainExamples} digit examples`);
  if (want !== 'train') lines.push(`  held out for evaluation: ${tally.heldOut} records, ${tally.heldOutExamples} digit examples`);
  // Evaluation decodes only the held-out pictures, so its skips are among those.
  lines.push(`  skipped${want === 'heldOut' ? ' among the held-out records' : ''}: ${tally.skippedTotal}`);
  for (const [reason, n] of Object.entries(tally.skipped)) lines.push(`    ${reason}: ${n}`);
  return lines.join('\n');
}

/** A page's worth: the store's largest page. */
const PAGE = 100;

/** Labelled records from the configured store, pictures from the uploads bucket. */
export function storeLabelledSource(store: Pick<PredictionStore, 'list'>, uploads: UploadsReader): LabelledSource {
  return {
    async *labelled() {
      let cursor: string | undefined;
      do {
        // Without visitorId: every visitor's labelled records (the operator's view), newest first.
        const page = await store.list({ limit: PAGE, cursor, labelled: true });
        for (const record of page.items) {
          const label: RecordLabel | null = record.label;
          // The store filters already; a record without a label is never an example, whatever a store answers.
          if (label) yield { ...record, label };
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    },
    upload: (key) => uploads.get(key),
  };
}
