/**
 * The digit reader as the service uses it: one loader that reads the model files once per container and picks
 * the backend (wasm by default, as the service does), and one read function from the uploaded bytes to a
 * number with its probabilities, or a refusal. Its version names the weights by their digest, so shadow
 * counts and stored answers say exactly which reader gave them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '#classifier/backend';
import { type Classifier, readArtifacts, selectBackend } from '#classifier/classifier';
import { forwardsAgree } from '#classifier/inference-plan';
import { defaultModelDir } from '#config/project-root';
import { decodeHeads, READER_HEIGHT, READER_INPUT_SHAPE, READER_PIXELS, READER_WIDTH, type ReaderRefusal, type Reading } from './contract';
import { foldReader } from './forward';
import { prepareInput } from './geometry';
import { type Opinion, type OpinionCrops, opinionCrops, withSecondOpinion } from './second-opinion';

export interface ReaderOptions {
  backend?: BackendChoice;
  /** The folder holding the reader's model.json and weights.bin; model/reader when absent. */
  modelDir?: string;
  /**
   * Where "no number" begins; by default the folder's refusal.json (fitted to a refusal budget by
   * model/reader/fit-refusal.ts), else the likeliest length with no floor. `{}` asks for the bare heads.
   */
  refusal?: ReaderRefusal;
  /**
   * The 28x28 classifier, for a second opinion on each digit it can see alone (layers/reader/second-opinion.ts: a
   * number of one digit, or a digit that blank columns part from its neighbours): the service passes its own.
   * Without it, the reader alone.
   */
  classifier?: Pick<Classifier, 'version' | 'readBatch' | 'thresholds'>;
}

export const REFUSAL_FILE = 'refusal.json';

/** refusal.json's fields, in the order the version hashes them (the later ones were added since). */
const REFUSAL_FIELDS = ['noNumberAbove', 'minProbability', 'floorFromNoNumber', 'uncertainBelow'] as const;

/** The refusal fitted for the reader in `modelDir` (its refusal.json), or none. */
export function readRefusal(modelDir: string): ReaderRefusal | undefined {
  const file = join(modelDir, REFUSAL_FILE);
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const refusal: ReaderRefusal = {};
  for (const field of REFUSAL_FIELDS) {
    const value = parsed[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      throw new Error(`${file}: ${REFUSAL_FIELDS.join(', ')} are probabilities`);
    refusal[field] = value;
  }
  return refusal;
}

/**
 * The reader's version: its weights' digest, and its refusal's when it has one (a new threshold changes answers,
 * so it is a new version): reader-<12 hex>. JSON leaves out the fields a refusal does not set, so the versions of
 * readers fitted before a field existed stay what they were.
 */
export function readerVersion(digest: string, given: ReaderRefusal | undefined, secondOpinion?: string): string {
  const fields = REFUSAL_FIELDS.filter((field) => given?.[field] !== undefined);
  if ((!given || fields.length === 0) && secondOpinion === undefined) return `reader-${digest.slice(0, 12)}`;
  const hashed = Object.fromEntries(fields.map((field) => [field, given?.[field]]));
  const hash = createHash('sha256').update(digest).update(JSON.stringify(hashed));
  // The classifier's version too when it gives its opinion: other weights there change the answers here.
  if (secondOpinion !== undefined) hash.update(`+${secondOpinion}`);
  return `reader-${hash.digest('hex').slice(0, 12)}`;
}

/** The network's raw answer for one input: the length head, then the position heads. */
export interface ReaderHeads {
  lengths: Float32Array;
  positions: Float32Array[];
}

export interface DigitReader {
  version: string;
  backend: string;
  /** A digit read with a lower probability is answered uncertain: refusal.json's uncertainBelow, when fitted. */
  uncertainBelow?: number;
  /** The heads themselves, before any decoding (fit-refusal.ts tries its thresholds on them). */
  readHeads(inputs: readonly Float32Array[]): ReaderHeads[];
  /** Reads model inputs (each READER_PIXELS long, the contract's letterbox) in one forward pass, the reader alone. */
  readInputs(inputs: readonly Float32Array[]): Reading[];
  /**
   * Reads one input whose picture fills its first `width` columns, with the classifier's second opinion when the
   * reader was loaded with one (what the service answers).
   */
  readInput(input: Float32Array, width: number): Promise<Reading>;
  /** The classifier's version when it gives a second opinion. */
  secondOpinion?: string;
  /** Whether the folded network serves (layers/reader/forward.ts), or model.predict. */
  folded: boolean;
  read(bytes: Buffer | Uint8Array): Promise<Reading>;
  dispose(): void;
}

export function defaultReaderDir(): string {
  return join(defaultModelDir(), 'reader');
}

export async function loadReader(options: ReaderOptions = {}): Promise<DigitReader> {
  const modelDir = options.modelDir ?? defaultReaderDir();
  const backend = await selectBackend(options.backend ?? 'wasm');
  const { artifacts, digest } = await readArtifacts(modelDir);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const refusal = options.refusal ?? readRefusal(modelDir) ?? {};
  const reference = (x: tf.Tensor4D): tf.Tensor[] => model.predict(x) as tf.Tensor[];
  const folded = foldReader(model);
  const folds = folded ? (x: tf.Tensor4D): tf.Tensor[] => folded.forward(x) : null;
  // The folded network serves only when it answers what model.predict answers (layers/reader/forward.ts).
  const run = folds && forwardsAgree(folds, reference, READER_INPUT_SHAPE, 3) ? folds : reference;
  if (folded && run !== folds) folded.dispose();
  const readHeads = (inputs: readonly Float32Array[]): ReaderHeads[] => {
    if (inputs.length === 0) return [];
    const batch = new Float32Array(inputs.length * READER_PIXELS);
    inputs.forEach((input, i) => {
      if (input.length !== READER_PIXELS) throw new RangeError(`a reader input holds ${READER_PIXELS} values, got ${input.length}`);
      batch.set(input, i * READER_PIXELS);
    });
    const heads = tf.tidy(() =>
      run(tf.tensor4d(batch, [inputs.length, READER_HEIGHT, READER_WIDTH, 1])).map((o) => o.dataSync() as Float32Array),
    );
    const [length, ...positions] = heads as [Float32Array, ...Float32Array[]];
    const lengthClasses = length.length / inputs.length;
    return inputs.map((_, i) => ({
      lengths: length.subarray(i * lengthClasses, (i + 1) * lengthClasses),
      positions: positions.map((p) => {
        const classes = p.length / inputs.length;
        return p.subarray(i * classes, (i + 1) * classes);
      }),
    }));
  };
  const readInputs = (inputs: readonly Float32Array[]): Reading[] =>
    readHeads(inputs).map((h) => decodeHeads(h.lengths, h.positions, refusal));
  const { classifier } = options;
  const rule = {
    digitThreshold: classifier?.thresholds.digitThreshold ?? 0,
    floorFromNoNumber: refusal.floorFromNoNumber ?? 1,
  };
  const readInput = async (input: Float32Array, width: number): Promise<Reading> => {
    const [heads] = readHeads([input]) as [ReaderHeads];
    const reading = decodeHeads(heads.lengths, heads.positions, refusal);
    if (!classifier) return reading;
    const crops = opinionCrops(input, width, heads.lengths, reading);
    // Every crop in one forward pass: the whole ink first, when asked for, then each digit cut cleanly.
    const batch = [crops.whole, ...crops.digits].filter((crop): crop is Float32Array => crop !== undefined);
    if (batch.length === 0) return reading;
    const answer = await classifier.readBatch(concatenate(batch));
    let k = 0;
    const next = (): Opinion => {
      const at = k++;
      return { probabilities: answer.probabilities.subarray(at * 10, at * 10 + 10), digitScore: answer.digitScores[at] as number };
    };
    const opinions: OpinionCrops<Opinion> = { digits: [] };
    if (crops.whole) opinions.whole = next();
    opinions.digits = crops.digits.map((crop) => (crop ? next() : undefined));
    return withSecondOpinion(heads.lengths, reading, opinions, rule);
  };
  // Warm up: the first pass compiles the backend's kernels, which should not land on a user's request.
  readInputs([new Float32Array(READER_PIXELS)]);
  return {
    version: readerVersion(digest, refusal, classifier?.version),
    backend,
    ...(refusal.uncertainBelow === undefined ? {} : { uncertainBelow: refusal.uncertainBelow }),
    ...(classifier ? { secondOpinion: classifier.version } : {}),
    readHeads,
    readInputs,
    readInput,
    read: async (bytes) => {
      const prepared = await prepareInput(bytes);
      return readInput(prepared.input, prepared.fitted.width);
    },
    folded: run === folds,
    dispose: () => {
      if (run === folds) folded?.dispose();
      model.dispose();
    },
  };
}

/** Equal-length arrays one after the other, as one batch. */
function concatenate(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

let shared: Promise<DigitReader> | null = null;

/** The container's one reader, loaded on first use with the given options (later options are ignored). */
export function sharedReader(options: ReaderOptions = {}): Promise<DigitReader> {
  if (!shared) {
    shared = loadReader(options);
    // A failed load is not cached: the next request tries again instead of failing forever.
    shared.catch(() => {
      shared = null;
    });
  }
  return shared;
}

/** Reads one uploaded picture with the container's reader. */
export async function readPicture(bytes: Buffer | Uint8Array): Promise<Reading> {
  return (await sharedReader()).read(bytes);
}
