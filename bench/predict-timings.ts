/**
 * Where the bench meets the service's prediction: one upload through the real `predictDigit`
 * (layers/predict-service.ts), and how long each of its stages took. bench/stages.ts measures through this
 * interface only, so that when predictDigit reports its own stage timings, `timedPredict` below is the one
 * function to change.
 *
 * Today the timings are read at the edges of the dependencies predictDigit is handed: the classifier, the
 * store and the uploads bucket are each wrapped to note when they are called and when they answer, and
 * predictDigit runs unchanged between them. Preprocessing is the time from the call to the classifier's
 * call (predictDigit preprocesses first, then classifies); what is left of the call besides the four stages
 * is predictDigit's own work (hash, record, answer).
 */
import type { Classifier } from '../layers/classifier';
import { type PredictDeps, type PredictionAnswer, predictDigit } from '../layers/predict-service';
import type { PredictionStore } from '../layers/store/prediction-store';
import type { Upload } from '../layers/upload';
import type { UploadsBucket } from '../layers/uploads-bucket';

/** Milliseconds each stage of one prediction took. */
export interface PredictStageTimes {
  preprocess: number;
  inference: number;
  /** Keeping the original upload in the bucket; next to nothing when no bucket is configured. */
  upload: number;
  store: number;
  /** The whole predictDigit call. */
  total: number;
}

export interface TimedPrediction {
  answer: PredictionAnswer;
  times: PredictStageTimes;
}

/** One prediction, with its stage times. */
export type TimedPredict = (upload: Upload, clientIp: string) => Promise<TimedPrediction>;

/** predictDigit on `deps` (the same classifier, store and bucket the handler uses), with its stage times. */
export function timedPredict(deps: PredictDeps): TimedPredict {
  return async (upload, clientIp) => {
    const spans = { inference: new Span(), upload: new Span(), store: new Span() };
    const began = performance.now();
    const answer = await predictDigit(timedDeps(deps, spans), upload, clientIp);
    const total = performance.now() - began;
    return {
      answer,
      times: {
        preprocess: spans.inference.start - began,
        inference: spans.inference.ms(),
        upload: spans.upload.ms(),
        store: spans.store.ms(),
        total,
      },
    };
  };
}

/** When a dependency was called and when it answered (performance.now() values; 0 if never called). */
class Span {
  start = 0;
  end = 0;
  async time<T>(call: () => Promise<T>): Promise<T> {
    this.start = performance.now();
    try {
      return await call();
    } finally {
      this.end = performance.now();
    }
  }
  ms(): number {
    return this.end - this.start;
  }
}

/** The same dependencies, each call timed into its span. */
function timedDeps(deps: PredictDeps, spans: { inference: Span; upload: Span; store: Span }): PredictDeps {
  const { classifier, store, uploads } = deps;
  const timedClassifier: Classifier = {
    get backend() {
      return classifier.backend;
    },
    get version() {
      return classifier.version;
    },
    predictBatch: (input) => spans.inference.time(() => classifier.predictBatch(input)),
    dispose: () => classifier.dispose(),
  };
  const timedStore: PredictionStore = {
    save: (record) => spans.store.time(() => store.save(record)),
    list: (query) => store.list(query),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  const timedUploads: UploadsBucket | undefined = uploads && {
    bucket: uploads.bucket,
    put: (key, bytes, contentType, sha256) => spans.upload.time(() => uploads.put(key, bytes, contentType, sha256)),
    signedUrl: (key) => uploads.signedUrl(key),
  };
  return { ...deps, classifier: timedClassifier, store: timedStore, uploads: timedUploads };
}
