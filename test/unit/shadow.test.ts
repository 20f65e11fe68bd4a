/**
 * Shadow reading (layers/predict/shadow.ts): a second reader reads what the serving model reads, and only the
 * comparison is logged and counted under the shadow's version; its answer is never stored or answered, and its
 * failure never fails the request. predictDigit runs here on fakes for the classifier, store and reader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Classifier } from '#classifier/classifier';
import { NEVER_REFUSE } from '#classifier/refusal';
import { predictDigit } from '#predict/predict';
import { classifierModel } from '#predict/serving-model';
import { compareShadow, readInShadow, type ShadowAnswer, type ShadowReader } from '#predict/shadow';
import type { PredictionRecord, PredictionStore, ShadowReading } from '#store/prediction-store';
import { plainDigit } from '../../model/training/digit-images';

const SEVEN = Float32Array.from([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.91, 0.01, 0.01]);

function fakes(scores = Float32Array.of(1)) {
  const saved: PredictionRecord[] = [];
  const counted: ShadowReading[] = [];
  const classifier: Classifier = {
    backend: 'fake',
    version: 'serving-1',
    predictBatch: async () => SEVEN,
    readBatch: async () => ({ probabilities: SEVEN, digitScores: scores }),
    // A score of 0 is below this threshold: the picture is refused as not a digit.
    thresholds: { ...NEVER_REFUSE, digitThreshold: 0.5 },
    temperature: 1,
    dispose: () => undefined,
  };
  const store = {
    save: async (record: PredictionRecord) => {
      saved.push(record);
    },
    countShadow: async (reading: ShadowReading) => {
      counted.push(reading);
    },
  } as unknown as PredictionStore;
  return { classifier, store, saved, counted };
}

const reader = (answer: ShadowAnswer | Error): ShadowReader & { seen: number } => {
  const r = {
    version: 'reader-abc',
    seen: 0,
    read: async () => {
      r.seen += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return r;
};

describe('shadow reading', () => {
  it('names each outcome of comparing the shadow with the serving answer', () => {
    assert.equal(compareShadow({ number: '407' }, { number: '407', probability: 0.9 }), 'agree');
    assert.equal(compareShadow({ number: '407' }, { number: '401', probability: 0.9 }), 'disagree');
    assert.equal(compareShadow({ number: '7' }, { refused: true, probability: 0.8 }), 'shadow_refused');
    assert.equal(compareShadow(null, { number: '7', probability: 0.6 }), 'serving_refused');
    assert.equal(compareShadow(null, { refused: true, probability: 0.99 }), 'both_refused');
  });

  it('counts under the shadow version, and a failing shadow is logged and counted nowhere', async () => {
    const { store, counted } = fakes();
    const at = '2026-12-07T10:00:00.000Z';
    assert.equal(await readInShadow(reader({ number: '7', probability: 0.9 }), store, Buffer.alloc(1), { number: '7' }, at), 'agree');
    assert.deepEqual(counted, [{ outcome: 'agree', shadowVersion: 'reader-abc', at }]);
    assert.equal(await readInShadow(reader(new Error('model gone')), store, Buffer.alloc(1), { number: '7' }, at), null);
    assert.equal(counted.length, 1);
  });

  it("stores and answers the serving model's reading, with the shadow's comparison counted beside it", async () => {
    const { classifier, store, saved, counted } = fakes();
    const shadow = reader({ number: '1', probability: 0.7 });
    const digit = await plainDigit(0);
    const timings: Record<string, number> = {};
    const answer = await predictDigit(
      { model: classifierModel(classifier), store, shadow },
      { bytes: digit.bytes, filename: 'd.png', declaredType: 'image/png' },
      '',
      timings,
    );
    assert.equal(answer.number, '7');
    assert.equal(answer.modelVersion, 'serving-1');
    assert.deepEqual(
      saved.map((r) => [r.number, r.modelVersion]),
      [['7', 'serving-1']],
    );
    assert.deepEqual(
      counted.map((c) => [c.outcome, c.shadowVersion]),
      [['disagree', 'reader-abc']],
    );
    assert.ok((timings.shadowMs ?? -1) >= 0, 'the shadow has its own stage time');
  });

  it('reads a picture the serving model refuses, and still refuses it', async () => {
    const { classifier, store, saved, counted } = fakes(Float32Array.of(0));
    const shadow = reader({ number: '7', probability: 0.8 });
    const digit = await plainDigit(0);
    await assert.rejects(
      predictDigit(
        { model: classifierModel(classifier), store, shadow },
        { bytes: digit.bytes, filename: 'd.png', declaredType: 'image/png' },
        '',
      ),
      (error: Error & { code?: string }) => error.code === 'not_a_digit',
    );
    assert.equal(saved.length, 0);
    assert.deepEqual(
      counted.map((c) => c.outcome),
      ['serving_refused'],
    );
  });

  it('answers as if there were no shadow when the shadow throws', async () => {
    const { classifier, store, saved, counted } = fakes();
    const shadow = reader(new Error('out of memory'));
    const digit = await plainDigit(0);
    const answer = await predictDigit(
      { model: classifierModel(classifier), store, shadow },
      { bytes: digit.bytes, filename: 'd.png', declaredType: 'image/png' },
      '',
    );
    assert.equal(answer.number, '7');
    assert.equal(saved.length, 1);
    assert.equal(counted.length, 0);
    assert.equal(shadow.seen, 1);
  });
});
