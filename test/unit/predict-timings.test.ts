/**
 * The bench's stage timings of a prediction (bench/predict-timings.ts, read from predictDigit's StageTimings):
 * predictDigit run on dependencies that take known times, whose stages must show those times, and whose
 * answer is predictDigit's own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Classifier } from '#classifier/classifier';
import { NEVER_REFUSE } from '#classifier/refusal';
import { classifierModel } from '#predict/serving-model';
import type { PredictionRecord, PredictionStore } from '#store/prediction-store';
import type { UploadsBucket } from '#uploads/bucket';
import { timedPredict } from '../../bench/predict-timings';
import { plainDigit } from '../../model/training/digit-images';
import { sleep } from '../../tools/sleep';

const INFERENCE_MS = 40;
const UPLOAD_MS = 30;
const STORE_MS = 20;

function fakes(): { classifier: Classifier; store: PredictionStore; uploads: UploadsBucket; saved: PredictionRecord[]; kept: string[] } {
  const saved: PredictionRecord[] = [];
  const kept: string[] = [];
  const classifier: Classifier = {
    backend: 'fake',
    version: 'fake-1',
    predictBatch: async () => {
      await sleep(INFERENCE_MS);
      return Float32Array.from([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.91, 0.01, 0.01]);
    },
    readBatch: async () => {
      await sleep(INFERENCE_MS);
      return {
        probabilities: Float32Array.from([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.91, 0.01, 0.01]),
        digitScores: Float32Array.of(1),
      };
    },
    thresholds: NEVER_REFUSE,
    temperature: 1,
    dispose: () => undefined,
  };
  const store: PredictionStore = {
    save: async (record) => {
      await sleep(STORE_MS);
      saved.push(record);
    },
    list: async () => ({ items: [], nextCursor: null }),
    get: async () => null,
    setLabel: async () => undefined,
    countRefusal: async () => undefined,
    countShadow: async () => undefined,
    readStats: async () => [],
    delete: async () => undefined,
    imageReferenced: async () => false,
    ping: async () => true,
    close: async () => undefined,
  };
  const uploads: UploadsBucket = {
    bucket: 'fake-bucket',
    put: async (key) => {
      await sleep(UPLOAD_MS);
      kept.push(key);
    },
    signedUrl: async (key) => `https://example.invalid/${key}`,
    delete: async () => undefined,
  };
  return { classifier, store, uploads, saved, kept };
}

describe('stage timings of one prediction (bench/predict-timings.ts)', () => {
  it('times inference, keeping the upload and the store write by what each took, and preprocessing before them', async () => {
    const { classifier, store, uploads, saved, kept } = fakes();
    const digit = await plainDigit(0);
    const predict = timedPredict({ model: classifierModel(classifier), store, uploads });
    const { answer, times } = await predict({ bytes: digit.bytes, filename: 'seven.png', declaredType: 'image/png' }, '127.0.0.1');

    assert.equal(answer.digit, 7);
    assert.equal(answer.modelVersion, 'fake-1');
    assert.deepEqual(
      saved.map((record) => record.id),
      [answer.id],
      'the record predictDigit stored is the one answered',
    );
    assert.equal(kept.length, 1, 'the upload was kept');
    // Timers fire no earlier than asked (less a millisecond of rounding); on a busy machine they may fire much later.
    assert.ok(times.inference >= INFERENCE_MS - 1, `inference ${times.inference} ms`);
    assert.ok(times.upload >= UPLOAD_MS - 1, `upload ${times.upload} ms`);
    assert.ok(times.store >= STORE_MS - 1, `store ${times.store} ms`);
    assert.ok(times.preprocess > 0, `preprocess ${times.preprocess} ms`);
    const stages = times.preprocess + times.inference + times.upload + times.store;
    assert.ok(stages <= times.total, `stages ${stages} ms within the call's ${times.total} ms`);
  });

  it('reports next to no upload time when no bucket is configured', async () => {
    const { classifier, store } = fakes();
    const digit = await plainDigit(1);
    const { times } = await timedPredict({ model: classifierModel(classifier), store })(
      { bytes: digit.bytes, filename: 'two.png', declaredType: 'image/png' },
      '127.0.0.1',
    );
    // Nothing is kept: at most the upload's hash is timed, far less than a bucket's write.
    assert.ok(times.upload < UPLOAD_MS, `upload ${times.upload} ms`);
    assert.ok(times.store >= STORE_MS - 1);
  });
});
