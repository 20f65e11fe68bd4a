/**
 * Scoring a model's probabilities against labels: accuracy, per class, and the confusion matrix. Its own module
 * so that the promotion rule (promote.ts) and the evaluation (evaluate.ts) share it without importing each other.
 */
import { NUM_CLASSES } from '#classifier/model-contract';

export interface EvaluationResult {
  accuracy: number;
  correct: number;
  total: number;
  perClassAccuracy: number[];
  confusionMatrix: number[][];
}

/** Scores N x 10 probabilities against N labels: accuracy, per-class accuracy, confusion (rows = truth). */
export function score(probabilities: Float32Array, labels: Uint8Array): EvaluationResult {
  const total = labels.length;
  if (probabilities.length !== total * NUM_CLASSES) {
    throw new RangeError(`${probabilities.length} probabilities for ${total} labels`);
  }
  const confusionMatrix = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  let correct = 0;
  for (let i = 0; i < total; i += 1) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c += 1) {
      if ((probabilities[i * NUM_CLASSES + c] as number) > (probabilities[i * NUM_CLASSES + best] as number)) best = c;
    }
    const truth = labels[i] as number;
    (confusionMatrix[truth] as number[])[best] = ((confusionMatrix[truth] as number[])[best] as number) + 1;
    if (best === truth) correct += 1;
  }
  const perClassAccuracy = confusionMatrix.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? 0 : (row[c] as number) / n;
  });
  return { accuracy: correct / total, correct, total, perClassAccuracy, confusionMatrix };
}
