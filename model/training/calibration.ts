/**
 * Calibration maths for the refusal step (model/training/refusal-fit.ts): softmax with a temperature, the negative
 * log-likelihood a temperature gives, its fit (one parameter: a golden-section search on log T), and the
 * expected calibration error with its reliability bins (Guo et al. 2017, "On Calibration of Modern Neural
 * Networks": 15 equal-width confidence bins). Plain arrays, no tensors: tested in test/unit/calibration.test.ts.
 */

/** softmax(logits / temperature) of one row. */
export function softmaxT(logits: ArrayLike<number>, temperature: number): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i += 1) max = Math.max(max, (logits[i] as number) / temperature);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp((logits[i] as number) / temperature - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Mean negative log-likelihood of the labels under softmax(logits / T); `logits` is N x k, row after row. */
export function meanNll(logits: Float32Array | number[], labels: ArrayLike<number>, k: number, temperature: number): number {
  const n = labels.length;
  let total = 0;
  for (let r = 0; r < n; r += 1) {
    let max = -Infinity;
    for (let c = 0; c < k; c += 1) max = Math.max(max, (logits[r * k + c] as number) / temperature);
    let sum = 0;
    for (let c = 0; c < k; c += 1) sum += Math.exp((logits[r * k + c] as number) / temperature - max);
    total += -((logits[r * k + (labels[r] as number)] as number) / temperature - max - Math.log(sum));
  }
  return total / n;
}

/**
 * The temperature in [0.05, 20] that minimises the mean NLL: the NLL is convex in 1/T, so a golden-section
 * search on log T finds its one minimum; 60 steps narrow the range far below any digit that matters.
 */
export function fitTemperature(logits: Float32Array | number[], labels: ArrayLike<number>, k: number): number {
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const ratio = (Math.sqrt(5) - 1) / 2;
  const f = (logT: number): number => meanNll(logits, labels, k, Math.exp(logT));
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  for (let i = 0; i < 60; i += 1) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = f(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}

export interface ReliabilityBin {
  /** The bin's confidence range (lower bound excluded except for the first bin). */
  from: number;
  to: number;
  count: number;
  /** Mean confidence and accuracy of the predictions in the bin (0 when empty). */
  confidence: number;
  accuracy: number;
}

/**
 * Expected calibration error over `bins` equal-width bins of the top confidence: the count-weighted mean of
 * |accuracy - confidence| per bin. `confidences[i]` is the top probability of prediction i, `correct[i]` whether
 * it was right.
 */
export function calibrationError(
  confidences: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  bins = 15,
): { ece: number; bins: ReliabilityBin[] } {
  const n = confidences.length;
  if (n === 0 || correct.length !== n) throw new RangeError('need as many outcomes as confidences, at least one');
  const table = Array.from({ length: bins }, (_, i) => ({ from: i / bins, to: (i + 1) / bins, count: 0, sumConfidence: 0, sumCorrect: 0 }));
  for (let i = 0; i < n; i += 1) {
    const c = confidences[i] as number;
    // (from, to]: a confidence of exactly 1 falls in the last bin, of exactly 0 in the first.
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    const bin = table[b] as (typeof table)[number];
    bin.count += 1;
    bin.sumConfidence += c;
    bin.sumCorrect += correct[i] ? 1 : 0;
  }
  let ece = 0;
  const out: ReliabilityBin[] = table.map((bin) => {
    const confidence = bin.count ? bin.sumConfidence / bin.count : 0;
    const accuracy = bin.count ? bin.sumCorrect / bin.count : 0;
    ece += (bin.count / n) * Math.abs(accuracy - confidence);
    return { from: bin.from, to: bin.to, count: bin.count, confidence, accuracy };
  });
  return { ece, bins: out };
}
