/**
 * The refusal rule (layers/classifier/refusal.ts) and how a reading applies it (layers/predict/number-reading.ts): a picture is
 * refused when any segment is not a digit, a digit under the uncertainty threshold is marked with its two best
 * candidates, and without a refusal file nothing is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type BatchReading, modelDigest } from '#classifier/classifier';
import { NUM_CLASSES } from '#classifier/model-contract';
import { NEVER_REFUSE, RefusalFile, refusesPicture, twoBest } from '#classifier/refusal';
import { defaultModelDir } from '#config/project-root';
import { HttpError } from '#errors/errors';
import { readNumber } from '#predict/number-reading';

const THRESHOLDS = { digitThreshold: 0.5, uncertainBelow: 0.8 };

const digit = (x: number) => ({ input: new Float32Array(784), preview: `p${x}`, box: { x, y: 0, width: 10, height: 10 } });

/** Rows of [digit, its probability, second digit, its probability, refusal score]. */
function reading(...rows: Array<[number, number, number, number, number]>): BatchReading {
  const probabilities = new Float32Array(rows.length * NUM_CLASSES);
  const digitScores = new Float32Array(rows.length);
  rows.forEach(([d, p, d2, p2, score], i) => {
    for (let k = 0; k < NUM_CLASSES; k += 1) probabilities[i * NUM_CLASSES + k] = (1 - p - p2) / 8;
    probabilities[i * NUM_CLASSES + d] = p;
    probabilities[i * NUM_CLASSES + d2] = p2;
    digitScores[i] = score;
  });
  return { probabilities, digitScores };
}

const isNotADigit = (error: unknown): boolean => error instanceof HttpError && error.statusCode === 422 && error.code === 'not_a_digit';

describe('refusesPicture', () => {
  it('refuses when any segment scores under the threshold, and only then', () => {
    assert.equal(refusesPicture([0.9], THRESHOLDS), false);
    assert.equal(refusesPicture([0.1], THRESHOLDS), true);
    assert.equal(refusesPicture([0.9, 0.99, 0.2], THRESHOLDS), true, 'a number with one part that is not a digit');
    assert.equal(refusesPicture([0.5, 0.9], THRESHOLDS), false, 'the threshold itself is a digit');
  });

  it('never refuses without a refusal file', () => {
    assert.equal(refusesPicture([0, 0, 0], NEVER_REFUSE), false);
  });
});

describe('twoBest', () => {
  it('answers the two most probable digits, most probable first, the lower digit first among equals', () => {
    const p = [0.01, 0.02, 0.5, 0.01, 0.3, 0.02, 0.04, 0.04, 0.03, 0.03];
    assert.deepEqual(twoBest(p), [
      { digit: 2, probability: 0.5 },
      { digit: 4, probability: 0.3 },
    ]);
    assert.deepEqual(
      twoBest([0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0]).map((c) => c.digit),
      [0, 1],
    );
    assert.deepEqual(
      twoBest([0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.9]).map((c) => c.digit),
      [9, 8],
    );
  });
});

describe('readNumber with the refusal rule', () => {
  it('reads a clear digit: not uncertain, its candidates the digit and the runner-up', () => {
    const r = readNumber({ digits: [digit(1)] }, reading([7, 0.97, 1, 0.02, 0.99]), THRESHOLDS);
    assert.equal(r.number, '7');
    assert.equal(r.uncertain, false);
    assert.deepEqual(
      r.candidates.map((c) => c.digit),
      [7, 1],
    );
    assert.equal(r.digits[0]?.uncertain, false);
  });

  it('marks an unsure digit uncertain with its two best candidates', () => {
    const r = readNumber({ digits: [digit(1)] }, reading([4, 0.55, 9, 0.41, 0.99]), THRESHOLDS);
    assert.equal(r.uncertain, true);
    assert.equal(r.digit, 4);
    assert.deepEqual(
      r.candidates.map((c) => c.digit),
      [4, 9],
    );
    assert.ok(Math.abs((r.candidates[1]?.probability ?? 0) - 0.41) < 1e-6);
  });

  it('refuses a picture that is not a digit with 422 not_a_digit', () => {
    assert.throws(() => readNumber({ digits: [digit(1)] }, reading([4, 0.99, 9, 0.005, 0.02]), THRESHOLDS), isNotADigit);
  });

  it('refuses a number one of whose parts is not a digit (a word, "A4")', () => {
    assert.throws(
      () => readNumber({ digits: [digit(1), digit(2)] }, reading([4, 0.99, 1, 0.005, 0.1], [4, 0.99, 9, 0.005, 0.99]), THRESHOLDS),
      isNotADigit,
    );
  });

  it('marks a number uncertain when one digit is, its top-level candidates being that digit’s', () => {
    const r = readNumber(
      { digits: [digit(1), digit(2), digit(3)] },
      reading([4, 0.99, 9, 0.005, 0.99], [1, 0.5, 7, 0.45, 0.9], [0, 0.98, 6, 0.01, 0.95]),
      THRESHOLDS,
    );
    assert.equal(r.number, '410');
    assert.equal(r.uncertain, true);
    assert.deepEqual(
      r.digits.map((d) => d.uncertain),
      [false, true, false],
    );
    assert.deepEqual(
      r.candidates.map((c) => c.digit),
      [1, 7],
    );
  });

  it('neither refuses nor marks anything without a refusal file', () => {
    const r = readNumber({ digits: [digit(1)] }, reading([4, 0.3, 9, 0.29, 0]));
    assert.equal(r.uncertain, false);
  });
});

describe('model/refusal.json', () => {
  it('is a valid refusal file for the shipped model, with a temperature and thresholds in range', async () => {
    const file = RefusalFile.parse(JSON.parse(readFileSync(join(defaultModelDir(), 'refusal.json'), 'utf8')));
    assert.equal(file.weightsSha256, await modelDigest(defaultModelDir()), 'fitted for the shipped weights');
    assert.ok(file.temperature > 0.2 && file.temperature < 5, String(file.temperature));
    assert.ok(file.thresholds.digitThreshold > 0 && file.thresholds.digitThreshold < 1);
    assert.ok(file.thresholds.uncertainBelow > 0.3 && file.thresholds.uncertainBelow < 1);
  });
});
