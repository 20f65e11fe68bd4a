/**
 * What a container creates once and reuses across invocations: the configuration, the models (the classifier and
 * the learned reader, each loaded only when it serves or reads in shadow), the prediction store (each behind one cached promise) and the uploads bucket's S3 client. A handler module starts what it needs at import time
 * (the Lambda init phase), so the model is loaded and warmed before the first request arrives. A failed
 * start is forgotten, so the next invocation tries again instead of failing forever.
 */
import { loadAccessKeys } from '#auth/access-keys';
import type { AccessKeys } from '#auth/tokens';
import type { Classifier } from '#classifier/classifier';
import { type AppConfig, readConfig } from '#config/config';
import type { ServingModelKind } from '#config/serving-choice';
import { describeError, log, setLogLevel } from '#observability/log';
import { setMetricsPublishing } from '#observability/metrics';
import type { ServingModel } from '#predict/serving-model';
import type { ShadowReader } from '#predict/shadow';
import type { DigitReader } from '#reader/reader';
import { createStore } from '#store/create-store';
import type { PredictionStore } from '#store/prediction-store';
import { createUploadsBucket, type UploadsBucket } from '#uploads/bucket';

let config: AppConfig | undefined;
let classifier: Promise<Classifier> | undefined;
let store: Promise<PredictionStore> | undefined;
let uploads: { bucket: UploadsBucket | undefined } | undefined;
let accessKeys: Promise<AccessKeys> | undefined;

export function getConfig(): AppConfig {
  if (!config) {
    config = readConfig();
    setLogLevel(config.logLevel);
    setMetricsPublishing(!config.metricsDisabled);
  }
  return config;
}

function cached<T>(current: Promise<T> | undefined, start: () => Promise<T>, forget: () => void, what: string): Promise<T> {
  if (current) return current;
  const started = start();
  started.catch((error: unknown) => {
    log('error', `${what} failed to start`, describeError(error));
    forget();
  });
  return started;
}

export function getClassifier(): Promise<Classifier> {
  classifier = cached(
    classifier,
    async () => {
      const cfg = getConfig();
      const began = Date.now();
      // Loaded on first use: the history function never needs TensorFlow.js in its bundle or its memory.
      const { loadClassifier } = await import('#classifier/classifier');
      const loaded = await loadClassifier({ backend: cfg.inferenceBackend, modelDir: cfg.modelDir });
      log('info', 'model loaded', { modelVersion: loaded.version, backend: loaded.backend, ms: Date.now() - began });
      return loaded;
    },
    () => {
      classifier = undefined;
    },
    'classifier',
  );
  return classifier;
}

export function getStore(): Promise<PredictionStore> {
  store = cached(
    store,
    () => createStore(getConfig()),
    () => {
      store = undefined;
    },
    'store',
  );
  return store;
}

/** The uploads bucket (one S3 client per container), or undefined when UPLOADS_BUCKET is not set. */
export function getUploadsBucket(): UploadsBucket | undefined {
  if (!uploads) {
    const cfg = getConfig().uploads;
    uploads = { bucket: cfg ? createUploadsBucket(cfg) : undefined };
  }
  return uploads.bucket;
}

/** The operator key and the visitor-token signing keys, read once per container (files locally, SSM in the cloud). */
export function getAccessKeys(): Promise<AccessKeys> {
  accessKeys = cached(
    accessKeys,
    () => loadAccessKeys(getConfig().access),
    () => {
      accessKeys = undefined;
    },
    'access keys',
  );
  return accessKeys;
}

let reader: Promise<DigitReader> | undefined;

/** The learned reader (model/reader/), loaded once per container on the configured backend. */
export function getReader(): Promise<DigitReader> {
  reader = cached(
    reader,
    async () => {
      const cfg = getConfig();
      const began = Date.now();
      // Loaded on first use, as the classifier: only a container that reads with it pays for it.
      const { loadReader } = await import('#reader/reader');
      // The classifier gives its second opinion on numbers read as one digit (layers/reader/second-opinion.ts).
      const loaded = await loadReader({ backend: cfg.inferenceBackend, classifier: await getClassifier() });
      log('info', 'reader loaded', {
        readerVersion: loaded.version,
        secondOpinion: loaded.secondOpinion,
        backend: loaded.backend,
        ms: Date.now() - began,
      });
      return loaded;
    },
    () => {
      reader = undefined;
    },
    'reader',
  );
  return reader;
}

async function modelOf(kind: ServingModelKind): Promise<ServingModel> {
  const { classifierModel, readerModel } = await import('#predict/serving-model');
  return kind === 'classifier' ? classifierModel(await getClassifier()) : readerModel(await getReader());
}

/** The model that answers (SERVING_MODEL, else model/serving.json): the classifier's pipeline or the learned reader. */
export async function getServingModel(): Promise<ServingModel> {
  return modelOf(getConfig().servingModel);
}

/**
 * The model that reads in shadow (SHADOW_MODEL, else model/serving.json), or undefined when none does; undefined
 * too (logged) when it cannot load: a shadow never keeps the serving model from answering.
 */
export async function getShadowModel(): Promise<ShadowReader | undefined> {
  const { shadowModel, maxPixels } = getConfig();
  if (shadowModel === 'none') return undefined;
  try {
    const { asShadow } = await import('#predict/serving-model');
    return asShadow(await modelOf(shadowModel), maxPixels);
  } catch {
    return undefined;
  }
}

/** Starts the given parts at cold start without letting a failure escape as an unhandled rejection. */
export function warmUp(...parts: Array<() => Promise<unknown>>): void {
  for (const part of parts) part().catch(() => undefined);
}
