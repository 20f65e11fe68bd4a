/**
 * The classifier: loads the TF.js layers model once per container and answers softmax probabilities for
 * batches that honour the input contract (layers/classifier/model-contract.ts).
 *
 * Backend choice: native TensorFlow (`@tensorflow/tfjs-node`, an optional dependency) when it loads, else
 * `@tensorflow/tfjs` on the WebAssembly backend, which needs no native code and is fast for a small CNN.
 * The model files are read with `fs` rather than a `file://` handler because only tfjs-node registers one.
 *
 * Beside the CNN, model/refusal.json (when present; layers/classifier/refusal.ts) holds the softmax temperature fitted
 * on held-out digits and the refusal head, a small dense network on the CNN's penultimate features that scores
 * "is a digit". Both run in the same forward pass as the CNN, in the folded plan, checked at load against
 * model.predict with the same temperature and head.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { defaultModelDir } from '#config/project-root';
import type { BackendChoice } from './backend';
import { forwardsAgree, planInference } from './inference-plan';
import { assertValidInput, IMAGE_CHANNELS, IMAGE_SIZE, INPUT_SHAPE, NUM_CLASSES, PIXELS } from './model-contract';
import { headSource, NEVER_REFUSE, RefusalFile, type RefusalThresholds } from './refusal';

export type { BackendChoice } from './backend';

/** One forward pass over N pictures. */
export interface BatchReading {
  /** N x 10 probabilities, calibrated by the fitted temperature (softmax(logits / T)). */
  probabilities: Float32Array;
  /** N scores in [0, 1] that each picture is a digit (the refusal head); all 1 without a refusal file. */
  digitScores: Float32Array;
}

export interface Classifier {
  /** The tfjs backend answering: 'tensorflow' (native) or 'wasm'. */
  readonly backend: string;
  /**
   * Identifies the weights: from model/metrics.json when present, else a hash of model.json and weights; with
   * a refusal file, `<cnn version>+<refusal version>` (the temperature and head change the answers too).
   */
  readonly version: string;
  /** `input` holds N x 784 values; resolves N x 10 probabilities (calibrated, as in readBatch). */
  predictBatch(input: Float32Array): Promise<Float32Array>;
  /** `input` holds N x 784 values; the probabilities and the refusal head's scores, in one pass. */
  readBatch(input: Float32Array): Promise<BatchReading>;
  /** The refusal and uncertainty thresholds of model/refusal.json (NEVER_REFUSE without one). */
  readonly thresholds: RefusalThresholds;
  /** The softmax temperature applied (1 without a refusal file). */
  readonly temperature: number;
  /** Whether the folded inference plan serves (layers/classifier/inference-plan.ts), or model.predict. */
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

export async function readArtifacts(modelDir: string): Promise<{ artifacts: tf.io.ModelArtifacts; digest: string }> {
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

/** The digest a refusal file is tied to: SHA-256 over model.json and the weights files, in manifest order. */
export async function modelDigest(modelDir: string): Promise<string> {
  return (await readArtifacts(modelDir)).digest;
}

export async function readVersion(modelDir: string, digest: string): Promise<string> {
  try {
    const metrics = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8')) as { version?: unknown };
    if (typeof metrics.version === 'string' && metrics.version) return metrics.version;
  } catch {
    // No metrics.json beside the model: fall back to the content hash.
  }
  return `mnist-cnn-${digest.slice(0, 12)}`;
}

/**
 * model/refusal.json beside the model, or null when there is none. A file fitted for other weights (its
 * `weightsSha256` is not the digest of these) is refused: its head would score features it never saw.
 */
async function readRefusal(modelDir: string, digest: string): Promise<RefusalFile | null> {
  let text: string;
  try {
    text = await readFile(join(modelDir, 'refusal.json'), 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const refusal = RefusalFile.parse(JSON.parse(text));
  if (refusal.weightsSha256 !== digest) {
    throw new Error(
      `${join(modelDir, 'refusal.json')} was fitted for other weights (${refusal.modelVersion}): run npm run model:train-refusal after training`,
    );
  }
  return refusal;
}

/** Probabilities and digit scores of a batch, as two tensors ([n, 10] and [n, 1]); runs inside tf.tidy. */
type Reader = (x: tf.Tensor4D) => [tf.Tensor, tf.Tensor];

/** The refusal head as tensors: dense layers then a sigmoid. */
function headOf(refusal: RefusalFile): { run: (features: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const layers = refusal.head.map((layer) => ({
    kernel: tf.tensor2d(layer.kernel),
    bias: tf.tensor1d(layer.bias),
    activation: layer.activation,
  }));
  return {
    run: (features) =>
      tf.sigmoid(
        layers.reduce(
          (x, layer) => tf.fused.matMul({ a: x as tf.Tensor2D, b: layer.kernel, bias: layer.bias, activation: layer.activation }),
          features,
        ),
      ),
    dispose: () => {
      for (const layer of layers) {
        layer.kernel.dispose();
        layer.bias.dispose();
      }
    },
  };
}

/** Classifier.version: the CNN's, and with a refusal file `<cnn version>+<refusal version>`. */
const versionOf = (cnnVersion: string, refusal: RefusalFile | null): string => (refusal ? `${cnnVersion}+${refusal.version}` : cnnVersion);

/** The version a classifier loaded from `modelDir` reports, read from its files without loading the model. */
export async function classifierVersion(modelDir = defaultModelDir()): Promise<string> {
  const digest = await modelDigest(modelDir);
  return versionOf(await readVersion(modelDir, digest), await readRefusal(modelDir, digest));
}

export async function loadClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  const modelDir = options.modelDir ?? defaultModelDir();
  const backend = await selectBackend(options.backend ?? 'auto');
  const { artifacts, digest } = await readArtifacts(modelDir);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const cnnVersion = await readVersion(modelDir, digest);
  const refusal = await readRefusal(modelDir, digest);
  const temperature = refusal?.temperature ?? 1;
  const head = refusal ? headOf(refusal) : null;
  const ones = (n: number): tf.Tensor => tf.ones([n, 1]);

  // The reference: model.predict, with the temperature applied to its log-probabilities (softmax(log p / T) is
  // softmax(logits / T): the log-sum-exp cancels) and the head run on the tensor it reads (refusal.headInput).
  const withFeatures =
    head && refusal
      ? tf.model({ inputs: model.inputs, outputs: [headSource(model, refusal.headInput), model.outputs[0] as tf.SymbolicTensor] })
      : null;
  const reference: Reader = (x) => {
    if (!withFeatures || !head) return [model.predict(x) as tf.Tensor, ones(x.shape[0])];
    const [features, probabilities] = withFeatures.predict(x) as tf.Tensor[];
    return [tf.softmax(tf.div(tf.log(probabilities as tf.Tensor), temperature)), head.run(features as tf.Tensor)];
  };
  const plan = planInference(model);
  let planned: Reader | null = null;
  if (plan && !head) planned = (x) => [plan.forward(x), ones(x.shape[0])];
  if (plan?.features && plan.logits && head && refusal?.headInput === 'penultimate') {
    const { features: trunk, logits } = plan;
    planned = (x) => {
      const features = trunk(x);
      return [tf.softmax(tf.div(logits(features), temperature)), head.run(features)];
    };
  }
  if (plan?.flattened && plan.logits && head && refusal?.headInput === 'flatten') {
    const { flattened, logits } = plan;
    planned = (x) => {
      const maps = flattened.trunk(x);
      return [tf.softmax(tf.div(logits(flattened.rest(maps)), temperature)), head.run(maps)];
    };
  }
  const read = planned && forwardsAgree(planned, reference, INPUT_SHAPE) ? planned : reference;
  if (plan && read !== planned) plan.dispose();

  const readBatch = async (input: Float32Array): Promise<BatchReading> => {
    const n = assertValidInput(input);
    const [p, s] = tf.tidy(() => read(tf.tensor4d(input, [n, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS])));
    try {
      const [probabilities, digitScores] = (await Promise.all([p.data(), s.data()])) as [Float32Array, Float32Array];
      if (probabilities.length !== n * NUM_CLASSES) throw new Error(`model answered ${probabilities.length} values for ${n} images`);
      if (digitScores.length !== n) throw new Error(`refusal head answered ${digitScores.length} scores for ${n} images`);
      return { probabilities, digitScores };
    } finally {
      p.dispose();
      s.dispose();
    }
  };

  // Warm up: the first call compiles kernels; pay for it at cold start, not on a user's request.
  await readBatch(new Float32Array(PIXELS));

  return {
    backend,
    version: versionOf(cnnVersion, refusal),
    predictBatch: async (input) => (await readBatch(input)).probabilities,
    readBatch,
    thresholds: refusal?.thresholds ?? NEVER_REFUSE,
    temperature,
    folded: read === planned,
    dispose: () => {
      plan?.dispose();
      head?.dispose();
      model.dispose();
    },
  };
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
