/**
 * The record of every prediction, and the contract every store (embedded SQLite, Cassandra) implements.
 * The contract test suite in test/contract/ is the executable form of this interface.
 */
import type { ShadowOutcome, StatCell } from '#stats/cell';

/** One digit of a number as stored: what the model read, and where it is in the uploaded picture. */
export interface StoredDigit {
  digit: number;
  confidence: number;
  /** Ten probabilities, index = digit, summing to 1. */
  probabilities: number[];
  /** In the uploaded picture's pixels, after EXIF orientation. */
  box: { x: number; y: number; width: number; height: number };
  /** The digit's 28x28 input, as a PNG data URL. */
  inputPreview: string;
}

/** A person's correction of a prediction: what the picture really shows, who said so, when. */
export interface RecordLabel {
  /** The true digits, left to right ("7" for one digit): 1..MAX_DIGITS digits. */
  number: string;
  /** The owner (through their visitor token) or the operator. */
  by: 'visitor' | 'operator';
  /** ISO 8601 with milliseconds, UTC. */
  at: string;
}

export interface PredictionRecord {
  /** UUID v4, chosen by the service. */
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  createdAt: string;
  /** The client's file name after sanitising; never used as a path. */
  filename: string;
  /** The top-level digit: of a number, its least confident digit (layers/predict/number-reading.ts). */
  digit: number;
  confidence: number;
  /** Ten probabilities, index = digit, summing to 1. */
  probabilities: number[];
  modelVersion: string;
  clientIp: string;
  /** Where the original upload is kept (an object key in the uploads bucket), or null when it is not kept. */
  imageKey: string | null;
  /** SHA-256 of the original upload, hex. */
  imageSha256: string;
  /** The detected media type of the upload, e.g. image/png. */
  imageType: string;
  imageBytes: number;
  /** The 28x28 input the model saw, as a PNG data URL. */
  inputPreview: string;
  /** Every digit read, left to right, as a string ("407"). Records older than numbers: String(digit). */
  number: string;
  /** Each digit of `number`, left to right. Records older than numbers: empty. */
  digits: StoredDigit[];
  /** The visitor the prediction belongs to (the id inside their token, never the token); '' for nobody's. */
  visitorId: string;
  /** The label a person gave (the latest replaces any earlier one), or null when nobody has. */
  label: RecordLabel | null;
}

export interface ListQuery {
  /** 1..100; validated by the caller. */
  limit: number;
  /**
   * The previous page's nextCursor; opaque to callers. A cursor the store cannot read, or issued for another visitor
   * or other filters, is a BadRequestError (invalid_cursor).
   */
  cursor?: string | undefined;
  /** Only the predictions whose answer is this digit alone; a number (several digits) is under no digit. */
  digit?: number | undefined;
  /** Only this visitor's predictions (a non-empty visitor id); everyone's when absent. */
  visitorId?: string | undefined;
  /**
   * Only labelled records (true) or only unlabelled ones (false); both when absent. Not combined with `digit`
   * (no table serves both at once: the caller refuses the pair).
   */
  labelled?: boolean | undefined;
}

export interface ListPage {
  /** Newest first (createdAt descending, then id descending). */
  items: PredictionRecord[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * How long a store keeps a record: `retentionMs` after its createdAt (0 = forever). An expired record is never
 * listed or read again, whether or not the store has removed its bytes yet.
 */
export interface RetentionOptions {
  retentionMs: number;
}

/** What the statistics count about a prediction beyond its record. */
export interface SaveFacts {
  /** The answer was marked uncertain; false when the answer has no such flag. */
  uncertain: boolean;
}

/** A picture /predict refused, as the statistics count it. */
export interface Refusal {
  /** The error code answered (no_digit, file_too_large, ...). */
  code: string;
  /** The model serving when it was refused. */
  modelVersion: string;
  /** ISO 8601, UTC. */
  at: string;
}

/** A picture a shadow reader read beside the serving model, as the statistics count it. */
export interface ShadowReading {
  outcome: ShadowOutcome;
  /** The shadow reader's version: the statistics count its readings under it. */
  shadowVersion: string;
  /** ISO 8601, UTC. */
  at: string;
}

/**
 * Every store keeps the statistics beside the records: counter cells (layers/stats/cells.ts) moved by save,
 * setLabel and countRefusal, read by day, never computed from the records. They are anonymous aggregates: delete()
 * and retention leave them. A failure to count is logged, never a failure of the record's write.
 */
export interface PredictionStore {
  /**
   * Stores one record durably, and counts it in the statistics; resolves only once the record would survive a
   * crash (the count is best-effort: see above).
   */
  save(record: PredictionRecord, facts?: SaveFacts): Promise<void>;
  list(query: ListQuery): Promise<ListPage>;
  /**
   * Gives `record` (as get() returned it) this label, replacing any earlier one, in every table that holds the
   * record; resolves once that is durable. The caller has checked that the record exists and is the caller's.
   * The statistics take the replaced label's cells back and count the new one's.
   */
  setLabel(record: PredictionRecord, label: RecordLabel): Promise<void>;
  /** Counts a refused picture in the statistics. May throw (the caller logs it). */
  countRefusal(refusal: Refusal): Promise<void>;
  /** Counts a shadow reader's reading of a picture in the statistics. May throw (the caller logs it). */
  countShadow(reading: ShadowReading): Promise<void>;
  /** The statistics' cells of these days (YYYY-MM-DD, UTC), each with its total; cells never written are absent. */
  readStats(days: readonly string[]): Promise<StatCell[]>;
  /** The record with this id, or null (never stored, deleted or expired). */
  get(id: string): Promise<PredictionRecord | null>;
  /** Removes the record from every table; resolves once that is durable. Deleting a deleted record does nothing. */
  delete(record: PredictionRecord): Promise<void>;
  /** Whether a record other than `exceptId` points at this object of the uploads bucket. */
  imageReferenced(imageKey: string, exceptId?: string): Promise<boolean>;
  /** True when the store answers a trivial query now. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
