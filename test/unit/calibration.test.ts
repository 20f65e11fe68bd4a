/**
 * The calibration maths of model/training/calibration.ts: softmax with a temperature, the NLL, the temperature fit and
 * the expected calibration error with its bins, on cases whose answers are known by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../model/training/augment';
import { calibrationError, fitTemperature, meanNll, softmaxT } from '../../model/training/calibration';

describe('softmaxT', () => {
  it('is the softmax at T = 1, flatter above 1, sharper below, and sums to 1', () => {
    const p1 = softmaxT([2, 0], 1);
    assert.ok(Math.abs((p1[0] as number) - Math.exp(2) / (Math.exp(2) + 1)) < 1e-12);
    const p2 = softmaxT([2, 0], 2);
    assert.ok(Math.abs((p2[0] as number) - Math.exp(1) / (Math.exp(1) + 1)) < 1e-12);
    assert.ok((softmaxT([2, 0], 0.5)[0] as number) > (p1[0] as number));
    assert.ok(Math.abs(softmaxT([1000, 999, -5], 1).reduce((a, b) => a + b, 0) - 1) < 1e-12, 'no overflow on large logits');
  });
});

describe('calibrationError', () => {
  it('is 0 when every bin is exactly as accurate as it is confident', () => {
    // Confidence 0.75 four times, three right: accuracy 0.75 in that bin.
    const { ece } = calibrationError([0.75, 0.75, 0.75, 0.75], [true, true, true, false]);
    assert.ok(Math.abs(ece) < 1e-12);
  });

  it('is the count-weighted gap per bin, over 15 bins by default', () => {
    // Bin of 0.95: two right (gap 0.05); bin of 0.55: two, one right (gap 0.05); bin of 0.35: one, wrong (gap 0.35).
    const { ece, bins } = calibrationError([0.95, 0.95, 0.55, 0.55, 0.35], [true, true, true, false, false]);
    assert.equal(bins.length, 15);
    assert.ok(Math.abs(ece - (2 * 0.05 + 2 * 0.05 + 1 * 0.35) / 5) < 1e-12, String(ece));
    assert.equal(
      bins.reduce((a, b) => a + b.count, 0),
      5,
    );
  });

  it('puts a confidence of exactly 1 in the last bin and a bin edge in the lower bin', () => {
    const { bins } = calibrationError([1, 1 / 15], [true, true]);
    assert.equal(bins[14]?.count, 1);
    assert.equal(bins[0]?.count, 1);
  });

  it('refuses outcomes that do not match the confidences', () => {
    assert.throws(() => calibrationError([0.5], []));
  });
});

describe('fitTemperature', () => {
  /** Labels drawn from softmax(z / T) for logits z: the fit must find about T again. */
  function sample(trueT: number, n: number): { logits: Float32Array; labels: Int8Array } {
    const rng = createRng(7);
    const logits = new Float32Array(n * 3);
    const labels = new Int8Array(n);
    for (let r = 0; r < n; r += 1) {
      for (let c = 0; c < 3; c += 1) logits[r * 3 + c] = (rng() - 0.5) * 8;
      const p = softmaxT(logits.subarray(r * 3, r * 3 + 3), trueT);
      const u = rng();
      labels[r] = u < (p[0] as number) ? 0 : u < (p[0] as number) + (p[1] as number) ? 1 : 2;
    }
    return { logits, labels };
  }

  for (const trueT of [0.5, 1, 2.5]) {
    it(`finds a temperature of ${trueT} from labels drawn with it`, () => {
      const { logits, labels } = sample(trueT, 20_000);
      const t = fitTemperature(logits, labels, 3);
      assert.ok(Math.abs(t - trueT) / trueT < 0.08, `fitted ${t}`);
      // And it is a minimum of the NLL.
      const nll = meanNll(logits, labels, 3, t);
      assert.ok(nll <= meanNll(logits, labels, 3, t * 1.1) && nll <= meanNll(logits, labels, 3, t / 1.1));
    });
  }

  it('lowers the calibration error of an over-confident model', () => {
    const { logits, labels } = sample(2, 20_000);
    const outcome = (t: number) => {
      const conf: number[] = [];
      const right: boolean[] = [];
      for (let r = 0; r < labels.length; r += 1) {
        const p = softmaxT(logits.subarray(r * 3, r * 3 + 3), t);
        const best = p.indexOf(Math.max(...p));
        conf.push(p[best] as number);
        right.push(best === labels[r]);
      }
      return calibrationError(conf, right).ece;
    };
    const t = fitTemperature(logits, labels, 3);
    assert.ok(outcome(t) < outcome(1) / 3, `ECE ${outcome(1)} -> ${outcome(t)}`);
  });
});
