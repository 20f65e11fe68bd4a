/**
 * Where the bench meets the service's prediction: one upload through the real `predictDigit`
 * (layers/predict/predict.ts), and how long each of its stages took, as predictDigit itself times them in
 * its StageTimings record (the same figures the service reports as metrics). bench/stages.ts measures
 * through this interface only.
 */

import { type PredictDeps, type PredictionAnswer, predictDigit, type StageTimings } from '#predict/predict';
import type { Upload } from '#uploads/upload';

/** Milliseconds each stage of one prediction took. */
export interface PredictStageTimes {
  preprocess: number;
  inference: number;
  /** Hashing the upload and keeping it in the bucket; only the hash when no bucket is configured. */
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
    const timings: StageTimings = {};
    const began = performance.now();
    const answer = await predictDigit(deps, upload, clientIp, timings);
    const total = performance.now() - began;
    return {
      answer,
      times: {
        preprocess: timings.preprocessMs ?? 0,
        inference: timings.inferenceMs ?? 0,
        upload: timings.uploadMs ?? 0,
        store: timings.storeMs ?? 0,
        total,
      },
    };
  };
}
