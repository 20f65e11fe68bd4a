/**
 * The digit reader as the service uses it: one loader that reads the model files once per container and picks
 * the backend (wasm by default, as the service does), and one read function from the uploaded bytes to a
 * number with its probabilities, or a refusal. Its version names the weights by their digest, so shadow
 * counts and stored answers say exactly which reader gave them.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '#classifier/backend';
import { readArtifacts, selectBackend } from '#classifier/classifier';
import { defaultModelDir } from '#config/project-root';
import { decodeHeads, READER_HEIGHT, READER_PIXELS, READER_WIDTH, type Reading } from './contract';
import { prepareInput } from './geometry';

export interface ReaderOptions {
  backend?: BackendChoice;
  /** The folder holding the reader's model.json and weights.bin; model/reader when absent. */
  modelDir?: string;
  /**
   * A number whose whole probability is below this is refused too. 0 (the default) refuses only when the
   * length head says "no number": see model/reader/README.md for what a higher floor costs.
   */
  minProbability?: number;
}

export interface DigitReader {
  version: string;
  backend: string;
  /** Reads model inputs (each READER_PIXELS long, the contract's letterbox) in one forward pass. */
  readInputs(inputs: readonly Float32Array[]): Reading[];
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
  const minProbability = options.minProbability ?? 0;
  const readInputs = (inputs: readonly Float32Array[]): Reading[] => {
    if (inputs.length === 0) return [];
    const batch = new Float32Array(inputs.length * READER_PIXELS);
    inputs.forEach((input, i) => {
      if (input.length !== READER_PIXELS) throw new RangeError(`a reader input holds ${READER_PIXELS} values, got ${input.length}`);
      batch.set(input, i * READER_PIXELS);
    });
    const heads = tf.tidy(() => {
      const outputs = model.predict(tf.tensor4d(batch, [inputs.length, READER_HEIGHT, READER_WIDTH, 1])) as tf.Tensor[];
      return outputs.map((o) => o.dataSync() as Float32Array);
    });
    const [length, ...positions] = heads as [Float32Array, ...Float32Array[]];
    const lengthClasses = length.length / inputs.length;
    return inputs.map((_, i) => {
      const reading = decodeHeads(
        length.subarray(i * lengthClasses, (i + 1) * lengthClasses),
        positions.map((p) => {
          const classes = p.length / inputs.length;
          return p.subarray(i * classes, (i + 1) * classes);
        }),
      );
      if (!('refused' in reading) && reading.probability < minProbability) return { refused: true, probability: 1 - reading.probability };
      return reading;
    });
  };
  // Warm up: the first pass compiles the backend's kernels, which should not land on a user's request.
  readInputs([new Float32Array(READER_PIXELS)]);
  return {
    version: `reader-${digest.slice(0, 12)}`,
    backend,
    readInputs,
    read: async (bytes) => readInputs([(await prepareInput(bytes)).input])[0] as Reading,
    dispose: () => model.dispose(),
  };
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
