/**
 * The classifier: loads the TF.js layers model once per container and answers softmax probabilities for
 * batches that honour the input contract (layers/model-contract.ts).
 *
 * Backend choice: native TensorFlow (`@tensorflow/tfjs-node`, an optional dependency) when it loads, else
 * `@tensorflow/tfjs` on the WebAssembly backend, which needs no native code and is fast for a small CNN.
 * The model files are read with `fs` rather than a `file://` handler because only tfjs-node registers one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from './inference-backend';
import { planInference } from './inference-plan';
import { assertValidInput, IMAGE_CHANNELS, IMAGE_SIZE, NUM_CLASSES, PIXELS } from './model-contract';
import { defaultModelDir } from './project-root';

export type { BackendChoice } from './inference-backend';

export interface Classifier {
  /** The tfjs backend answering: 'tensorflow' (native) or 'wasm'. */
  readonly backend: string;
  /** Identifies the weights: from model/metrics.json when present, else a hash of model.json and weights. */
  readonly version: string;
  /** `input` holds N x 784 values; resolves N x 10 probabilities. */
  predictBatch(input: Float32Array): Promise<Float32Array>;
  /** Whether the folded inference plan serves (layers/inference-plan.ts), or model.predict. */
  readonly folded?: boolean;
  dispose(): void;
}

export interface ClassifierOptions {
  backend?: BackendChoice;
  /** The model to load (the service passes the configuration's); the shipped model/ when absent. */
  modelDir?: string;
}

let nativeLoaded: boolean | undefined;

/** Registers the native backend if `@tensorflow/tfjs-node` can be loaded here. Never throws. */
function tryLoadNative(): boolean {
  if (nativeLoaded === undefined) {
    try {
      // Optional dependency: absent on machines where its native library could not be installed.
      require('@tensorflow/tfjs-node');
      nativeLoaded = true;
    } catch {
      nativeLoaded = false;
    }
  }
  return nativeLoaded;
}

/**
 * The wasm backend's binaries: beside this code in the production bundle (scripts/bundle.ts copies them next
 * to each handler, where no node_modules holds the package), else in the installed package.
 */
function wasmDirectory(): string {
  if (existsSync(join(__dirname, 'tfjs-backend-wasm.wasm'))) return __dirname;
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

async function useWasm(): Promise<void> {
  // The Emscripten runtime adds process-wide 'uncaughtException' and 'unhandledRejection' listeners that
  // rethrow, which would turn any stray rejection in the service into a crash. Remove what it added.
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${wasmDirectory()}/`);
  const ok = await tf.setBackend('wasm');
  for (const listener of process.listeners('uncaughtException')) {
    if (!before.uncaughtException.has(listener)) process.removeListener('uncaughtException', listener);
  }
  for (const listener of process.listeners('unhandledRejection')) {
    if (!before.unhandledRejection.has(listener)) process.removeListener('unhandledRejection', listener);
  }
  if (!ok) throw new Error('the wasm backend failed to initialise');
}

export async function selectBackend(choice: BackendChoice = 'auto'): Promise<string> {
  if (choice === 'tensorflow' || (choice === 'auto' && tryLoadNative())) {
    if (!tryLoadNative()) throw new Error('@tensorflow/tfjs-node is not installed or does not load here');
    await tf.setBackend('tensorflow');
  } else if (choice === 'cpu') {
    await tf.setBackend('cpu');
  } else {
    await useWasm();
  }
  await tf.ready();
  return tf.getBackend();
}

interface WeightsManifestEntry {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

async function readArtifacts(modelDir: string): Promise<{ artifacts: tf.io.ModelArtifacts; digest: string }> {
  const jsonPath = join(modelDir, 'model.json');
  const json = await readFile(jsonPath);
  const parsed = JSON.parse(json.toString('utf8')) as {
    modelTopology: object;
    weightsManifest: WeightsManifestEntry[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
  };
  const hash = createHash('sha256').update(json);
  const buffers: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of parsed.weightsManifest) {
    for (const path of group.paths) {
      const bytes = await readFile(join(modelDir, path));
      hash.update(bytes);
      buffers.push(bytes);
    }
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: tf.io.ModelArtifacts = { modelTopology: parsed.modelTopology, weightSpecs, weightData };
  if (parsed.format) artifacts.format = parsed.format;
  if (parsed.generatedBy) artifacts.generatedBy = parsed.generatedBy;
  return { artifacts, digest: hash.digest('hex') };
}

async function readVersion(modelDir: string, digest: string): Promise<string> {
  try {
    const metrics = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8')) as { version?: unknown };
    if (typeof metrics.version === 'string' && metrics.version) return metrics.version;
  } catch {
    // No metrics.json beside the model: fall back to the content hash.
  }
  return `mnist-cnn-${digest.slice(0, 12)}`;
}

export async function loadClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  const modelDir = options.modelDir ?? defaultModelDir();
  const backend = await selectBackend(options.backend ?? 'auto');
  const { artifacts, digest } = await readArtifacts(modelDir);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const version = await readVersion(modelDir, digest);
  const predict = (x: tf.Tensor4D): tf.Tensor => model.predict(x) as tf.Tensor;
  const plan = planInference(model);
  const forward = plan && planAgrees(plan.forward, predict) ? plan.forward : predict;
  if (plan && forward !== plan.forward) plan.dispose();

  const predictBatch = async (input: Float32Array): Promise<Float32Array> => {
    const n = assertValidInput(input);
    const output = tf.tidy(() => forward(tf.tensor4d(input, [n, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS])));
    try {
      const values = (await output.data()) as Float32Array;
      if (values.length !== n * NUM_CLASSES) throw new Error(`model answered ${values.length} values for ${n} images`);
      return values;
    } finally {
      output.dispose();
    }
  };

  // Warm up: the first call compiles kernels; pay for it at cold start, not on a user's request.
  await predictBatch(new Float32Array(PIXELS));

  return {
    backend,
    version,
    predictBatch,
    folded: forward !== predict,
    dispose: () => {
      plan?.dispose();
      model.dispose();
    },
  };
}

/**
 * Whether the folded plan answers what the model answers, on a batch of fixed pseudo-random pictures (ink-like
 * values in [0, 1]): the same class for each and probabilities within 1e-4. Checked once at load, so that a
 * planner mistake costs speed (model.predict serves), never a wrong answer.
 */
function planAgrees(plan: (x: tf.Tensor4D) => tf.Tensor, predict: (x: tf.Tensor4D) => tf.Tensor): boolean {
  const n = 8;
  const input = new Float32Array(n * PIXELS);
  let seed = 20261202;
  for (let i = 0; i < input.length; i += 1) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    input[i] = seed % 7 === 0 ? (seed >>> 8) / 0x1000000 : 0;
  }
  const [a, b] = tf.tidy(() => {
    const x = tf.tensor4d(input, [n, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS]);
    return [plan(x).dataSync(), predict(x).dataSync()];
  });
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (Math.abs((a[i] as number) - (b[i] as number)) > 1e-4) return false;
  return true;
}

/** Index of the largest probability, and the probabilities as plain numbers summing to 1. */
export function toPrediction(probabilities: Float32Array | number[]): { digit: number; confidence: number; probabilities: number[] } {
  const values = Array.from(probabilities, Number);
  const sum = values.reduce((a, b) => a + b, 0);
  const normalised = values.map((v) => v / sum);
  let digit = 0;
  for (let i = 1; i < normalised.length; i += 1) if ((normalised[i] as number) > (normalised[digit] as number)) digit = i;
  return { digit, confidence: normalised[digit] as number, probabilities: normalised };
}
